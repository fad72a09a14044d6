import {archivedIndexes, walCompleteness, walCoverage, walStretches, type TimelineWal} from '../../plan/repo-wal.js'
import {isAbsent, type RepoBackend} from '../../repo/backend.js'
import {readRepoManifest, type RepoInventory, type RepoManifestEntry} from '../../repo/inventory.js'
import {readArchiveHealth, type ArchiveHealth} from './health.js'
import {readRepoBasis, type RepoBasis, type SegmentBytesSource} from './facts.js'
import {FormatError, RedreplError} from '../../errors.js'
import {implausibleManifest} from '../../format/basebackup-manifest.js'
import type {BasebackupManifest, RedDBRelease} from '../../model.js'
import {backupStorage, pieceIndexDamage, type BackupStorage} from '../../repo/pieces.js'

export interface RepoBackupRow {
  key: string
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  /** 0 (and chunks 0, which no manifest has) when the manifest cannot be read: damage says why. */
  snapshot_bytes: bigint
  chunks: number
  taken_unix_ms: bigint
  /** The manifest reads, is sane for its size, and every chunk (or, stored as pieces, its index and every piece it names) is listed with its size. */
  complete: boolean
  /** How the snapshot is stored: content-addressed pieces shared across backups, or whole chunk objects (older pushes); null when the manifest cannot be read. */
  storage: 'pieces' | 'chunks' | null
  /** The bytes this backup added to the repository: its pieces no backup taken before it names (each counted once), or all its chunks; 0 when unknown. */
  added_bytes: bigint
  /** Why it is not complete ("object: problem"); null when it is. */
  damage: string | null
  /** The archived WAL runs without a gap from the checkpoint's segment to the newest archived segment. */
  wal_covered_from_checkpoint: boolean
  /** The first segment that breaks it; null when covered, or when the backup is off the current timeline's path. */
  wal_first_missing: {timeline: bigint; index: bigint} | null
}

export interface RepoListReport {
  repository: string
  node: string
  /** From the repository's facts (or, for a namespace an older redrepl wrote, an archived segment's header); null when no member ever had a segment past 0. */
  segment_bytes: bigint | null
  segment_bytes_source: SegmentBytesSource
  /** The RedDB release the replica set's data files showed: what a restore writes for. */
  rdb_release: RedDBRelease | null
  current_timeline: bigint
  history: boolean
  /** When repo push last succeeded and last failed for the namespace. */
  archive_health: ArchiveHealth
  backups: RepoBackupRow[]
  wal: TimelineWal[]
  /** Every pack listed in the namespace, in bytes. */
  packs_bytes: bigint
  /** The bytes of those packs that hold no piece a listed backup's readable index names: kept only because a live piece shares their pack. */
  packs_dead_bytes: bigint
}

export async function describeBackups(backend: RepoBackend, basis: RepoBasis): Promise<{backups: RepoBackupRow[]; wal: TimelineWal[]; packs: {bytes: bigint; dead_bytes: bigint}}> {
  const {inventory, segment_bytes: segmentBytes} = basis
  const timelines = [...new Set(inventory.wal.map((w) => w.timeline))]
  const wal = timelines.map((t) => walCoverage(t, inventory.wal.filter((w) => w.timeline === t).map((w) => w.index), segmentBytes))
  const archived = archivedIndexes(inventory.wal)
  const backups: RepoBackupRow[] = []
  // Read in the order the store dated them, so that what each added (its pieces no backup taken before it names)
  // is counted as each index passes: only the set of pieces seen is kept, never every index at once.
  const byDate = [...inventory.manifests].sort((a, b) => {
    const [x, y] = [a.object.modified_unix_ms, b.object.modified_unix_ms]
    return x < y ? -1 : x > y ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0
  })
  const seen = new Set<string>()
  /** Per pack key, the live pieces' bytes by offset (a piece named twice counted once). */
  const live = new Map<string, Map<number, number>>()
  const rows = new Map<string, RepoBackupRow>()
  for (const entry of byDate) {
    const coverage = walCompleteness(walStretches(basis.history, entry.timeline, entry.checkpoint_lsn, segmentBytes), archived)
    const row = {
      key: entry.key,
      timeline: entry.timeline,
      start_lsn: entry.start_lsn,
      checkpoint_lsn: entry.checkpoint_lsn,
      taken_unix_ms: entry.object.modified_unix_ms,
      wal_covered_from_checkpoint: coverage.complete,
      wal_first_missing: coverage.complete ? null : coverage.first_missing,
    }
    let manifest
    let storage: BackupStorage
    try {
      manifest = await readRepoManifest(backend, entry)
      storage = await backupStorage(backend, inventory.keys, inventory.objects, entry.key)
    } catch (error) {
      // One vanished or damaged manifest (or piece index) is a fact about that backup, never the end of the listing.
      if (!isObjectDamage(error)) throw error
      rows.set(entry.key, {...row, snapshot_bytes: manifest?.snapshot_bytes ?? 0n, chunks: manifest?.chunks.length ?? 0, complete: false, storage: manifest === undefined ? null : 'pieces', added_bytes: 0n, damage: error.message})
      continue
    }
    const damage = manifestDamage(backend, inventory, entry.key, entry.timeline, manifest, storage)
    let added = storage.kind === 'chunks' ? manifest.snapshot_bytes : 0n
    if (storage.kind === 'pieces') {
      for (const ref of storage.index.pieces) {
        if (ref.pack !== undefined) {
          const key = inventory.keys.pack(ref.pack.sha256)
          const pieces = live.get(key) ?? new Map<number, number>()
          pieces.set(ref.pack.offset, ref.bytes)
          live.set(key, pieces)
        }
        if (seen.has(ref.sha256)) continue
        seen.add(ref.sha256)
        added += BigInt(ref.bytes)
      }
    }
    rows.set(entry.key, {...row, snapshot_bytes: manifest.snapshot_bytes, chunks: manifest.chunks.length, complete: damage === null, storage: storage.kind, added_bytes: added, damage})
  }
  for (const entry of inventory.manifests) backups.push(rows.get(entry.key)!)
  const packs = {bytes: 0n, dead_bytes: 0n}
  for (const [key, object] of inventory.objects) {
    if (inventory.keys.packOf(key) === undefined) continue
    let held = 0n
    for (const bytes of live.get(key)?.values() ?? []) held += BigInt(bytes)
    packs.bytes += object.size
    packs.dead_bytes += object.size > held ? object.size - held : 0n
  }
  return {backups, wal, packs}
}

/**
 * What a repository read can reveal about one object (gone since the
 * listing, a broken seal or CRC, a size it should not have), as opposed to
 * the repository itself failing (unreachable, credentials refused), which
 * stops the run.
 */
export function isObjectDamage(error: unknown): error is RedreplError {
  return error instanceof FormatError || (error instanceof RedreplError && isAbsent(error))
}

/**
 * Why a backup whose manifest reads is not complete: a manifest no writer
 * makes, a chunk not listed with its size, or, stored as pieces, an index
 * that names a piece not listed with its size; null when complete.
 */
export function manifestDamage(backend: RepoBackend, inventory: RepoInventory, key: string, timeline: bigint, manifest: BasebackupManifest, storage: BackupStorage): string | null {
  const implausible = implausibleManifest(manifest)
  if (implausible !== null) return `${backend.describe(key)}: ${implausible}`
  if (storage.kind === 'pieces') return pieceIndexDamage(backend, inventory.keys, inventory.objects, storage.key, storage.index, manifest)?.message ?? null
  for (const chunk of manifest.chunks) {
    const chunkKey = inventory.keys.chunk(timeline, chunk.relative_path)
    const listed = inventory.objects.get(chunkKey)
    if (listed === undefined) return `${backend.describe(chunkKey)}: chunk ${chunk.ordinal} is missing`
    if (listed.size !== chunk.bytes) return `${backend.describe(chunkKey)}: chunk ${chunk.ordinal} holds ${listed.size} bytes, the manifest says ${chunk.bytes}`
  }
  return null
}

/** `repo list`: the namespace's backups in the repository and the WAL it holds per timeline, with gaps. Reads only. */
export async function listRepository(backend: RepoBackend, options: {node: string; segmentBytes?: bigint}): Promise<RepoListReport> {
  const basis = await readRepoBasis(backend, options.node, options.segmentBytes)
  const {backups, wal, packs} = await describeBackups(backend, basis)
  return {
    repository: backend.location,
    node: options.node,
    segment_bytes: basis.segment_bytes,
    segment_bytes_source: basis.segment_bytes_source,
    rdb_release: basis.facts?.rdb_release ?? null,
    current_timeline: basis.current_timeline,
    history: basis.inventory.history !== null,
    archive_health: await readArchiveHealth(backend, options.node, basis.inventory),
    backups,
    wal,
    packs_bytes: packs.bytes,
    packs_dead_bytes: packs.dead_bytes,
  }
}

/**
 * The newest backup of the repository that is complete (its manifest
 * reads, is sane, and names only chunks listed with their size), with its
 * manifest, among those `eligible`; undefined when none is. What a restore
 * of "the latest" wants.
 */
export async function newestCompleteBackup(backend: RepoBackend, inventory: RepoInventory, eligible: (entry: RepoManifestEntry) => boolean = () => true): Promise<{entry: RepoManifestEntry; manifest: BasebackupManifest} | undefined> {
  for (const entry of [...inventory.manifests].reverse().filter(eligible)) {
    const manifest = await readRepoManifest(backend, entry).catch((error: unknown) => {
      if (isObjectDamage(error)) return undefined
      throw error
    })
    if (manifest === undefined) continue
    const storage = await backupStorage(backend, inventory.keys, inventory.objects, entry.key).catch((error: unknown) => {
      if (isObjectDamage(error)) return undefined
      throw error
    })
    if (storage !== undefined && manifestDamage(backend, inventory, entry.key, entry.timeline, manifest, storage) === null) return {entry, manifest}
  }
  return undefined
}
