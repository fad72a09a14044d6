import {archivedIndexes, walCompleteness, walCoverage, walStretches, type TimelineWal} from '../plan/repo-wal.js'
import type {RepoBackend} from '../repo/backend.js'
import {readRepoManifest} from '../repo/inventory.js'
import {readArchiveHealth, type ArchiveHealth} from './repo-health.js'
import {readRepoBasis, type RepoBasis, type SegmentBytesSource} from './repo-facts.js'

export interface RepoBackupRow {
  key: string
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  chunks: number
  taken_unix_ms: bigint
  /** Every chunk the manifest names is listed with its size. */
  complete: boolean
  /**
   * The archive holds every WAL segment a node restored from this backup
   * replays to reach the archive's head: from the checkpoint's segment on,
   * across each fork of the history (plan/repo-wal.ts `walStretches`).
   */
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
  rdb_release: string | null
  current_timeline: bigint
  history: boolean
  /** When repo push last succeeded and last failed for the namespace. */
  archive_health: ArchiveHealth
  backups: RepoBackupRow[]
  wal: TimelineWal[]
}

export async function describeBackups(backend: RepoBackend, basis: RepoBasis): Promise<{backups: RepoBackupRow[]; wal: TimelineWal[]}> {
  const {inventory, segment_bytes: segmentBytes} = basis
  const timelines = [...new Set(inventory.wal.map((w) => w.timeline))]
  const wal = timelines.map((t) => walCoverage(t, inventory.wal.filter((w) => w.timeline === t).map((w) => w.index), segmentBytes))
  const archived = archivedIndexes(inventory.wal)
  const backups: RepoBackupRow[] = []
  for (const entry of inventory.manifests) {
    const manifest = await readRepoManifest(backend, entry)
    const coverage = walCompleteness(walStretches(basis.history, entry.timeline, entry.checkpoint_lsn, segmentBytes), archived)
    backups.push({
      key: entry.key,
      timeline: entry.timeline,
      start_lsn: entry.start_lsn,
      checkpoint_lsn: entry.checkpoint_lsn,
      snapshot_bytes: manifest.snapshot_bytes,
      chunks: manifest.chunks.length,
      taken_unix_ms: entry.object.modified_unix_ms,
      complete: manifest.chunks.every((chunk) => inventory.objects.get(inventory.keys.chunk(entry.timeline, chunk.relative_path))?.size === chunk.bytes),
      wal_covered_from_checkpoint: coverage.complete,
      wal_first_missing: coverage.complete ? null : coverage.first_missing,
    })
  }
  return {backups, wal}
}

/** `repo list`: the namespace's backups in the repository and the WAL it holds per timeline, with gaps. Reads only. */
export async function listRepository(backend: RepoBackend, options: {node: string; segmentBytes?: bigint}): Promise<RepoListReport> {
  const basis = await readRepoBasis(backend, options.node, options.segmentBytes)
  const {backups, wal} = await describeBackups(backend, basis)
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
  }
}
