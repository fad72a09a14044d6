import {FormatError, interruption, notFound, refused} from '../../errors.js'
import {WalSegmentStreamCheck} from '../../format/wal-segment.js'
import {MAX_SEGMENT_BYTES, MAX_TIMELINE_HISTORY_BYTES} from '../../format/size-caps.js'
import {timelineHistoryCodec} from '../../format/timeline-history.js'
import {writeFailure, writeFileAtomic, writeStreamAtomic} from '../../fs/atomic.js'
import {absentAsUndefined} from '../../fs/io-error.js'
import {stat} from '../../fs/metadata.js'
import {freePace} from '../../fs/pace.js'
import {writeAll} from '../../fs/stream.js'
import {makeDirs} from '../../fs/tree.js'
import {decodeFile} from '../node/artifact-file.js'
import {Layout} from '../../layout.js'
import type {BasebackupManifest, TimelineEntry} from '../../model.js'
import {archivedIndexes, walCompleteness, walStretches, type WalStretch} from '../../plan/repo-wal.js'
import type {RepoBackend} from '../../repo/backend.js'
import {checkedStream, collect, downloadCap} from '../../repo/integrity.js'
import {readRepoManifest, type RepoInventory, type RepoManifestEntry} from '../../repo/inventory.js'
import {finding, type Finding} from '../../findings.js'
import {RELEASES} from '../../format/embedded-rdb.js'
import {offTimelinePath} from '../../plan/catchup.js'
import {newerRelease, writerOf} from '../../plan/repo-facts.js'
import {releaseOfDatabaseFile} from '../node/embedded-file.js'
import type {RdbFormatSource} from '../node/rdb-format.js'
import {FileChunkSource, type ChunkSource} from '../basebackup/chunks.js'
import {writeMaterialized, type Destination, type MaterializeReport} from '../basebackup/materialize.js'
import {listWalSegments} from '../node/state.js'
import {readRepoBasis, type RepoBasis, type SegmentBytesSource} from './facts.js'
import {newestCompleteBackup} from './list.js'
import {backupStorage, pieceIndexDamage, readPieces} from '../../repo/pieces.js'
import type {PieceIndex} from '../../format/piece-index.js'

/** Creates a directory of a layout being restored (and its parents). */
async function mkdirLayoutDir(dir: string): Promise<void> {
  await makeDirs(dir).catch((error) => {
    throw writeFailure(dir, error)
  })
}

export type RepoBackupChoice = {checkpointLsn: bigint} | {latest: true}

/**
 * A backup's chunks read from the repository, each checked against the
 * listing before the first byte. Where the repository keeps every chunk as
 * a plain local file (a directory, uncompressed), they are read like a
 * local backup's chunks: synchronously, into a few reused buffers.
 */
class RepoChunkSource implements ChunkSource {
  constructor(
    private readonly backend: RepoBackend,
    private readonly inventory: RepoInventory,
    private readonly entry: RepoManifestEntry,
  ) {}

  private keys: string[] = []
  private files: FileChunkSource | undefined

  async open(manifest: BasebackupManifest): Promise<string[]> {
    const manifestName = this.backend.describe(this.entry.key)
    this.keys = manifest.chunks.map((chunk) => {
      const key = this.inventory.keys.chunk(this.entry.timeline, chunk.relative_path)
      const listed = this.inventory.objects.get(key)
      if (listed === undefined) throw new FormatError(`chunk ${chunk.ordinal} (${key}) is missing from the repository`, manifestName)
      if (listed.size !== chunk.bytes) throw new FormatError(`chunk ${chunk.ordinal} holds ${listed.size} bytes, the manifest says ${chunk.bytes}`, this.backend.describe(key))
      return key
    })
    const local = this.keys.map((key) => (this.backend.capabilities.localFile ? this.backend.localFile(key) : undefined))
    if (local.every((file) => file !== undefined)) {
      this.files = new FileChunkSource(manifestName, freePace(), async () => local as string[], {noFollow: true})
      await this.files.open(manifest)
    }
    return this.keys.map((key) => this.backend.describe(key))
  }

  pieces(ordinal: number): AsyncIterable<Uint8Array> {
    return this.files ? this.files.pieces(ordinal) : this.backend.get(this.keys[ordinal])
  }

  async close(): Promise<void> {
    await this.files?.close()
  }
}

/**
 * A backup's chunks rebuilt from its pieces (repo/pieces.ts): chunk k is
 * the range [snapshot_offset, snapshot_offset + bytes) of the pieces'
 * concatenation, read as one stream, each piece once and in order, checked
 * against its address as it passes; streamVerifiedChunks checks every
 * chunk's CRC and the snapshot's on top, so a restore is proven by
 * RedDB's own checksums end to end. Asked for k = 0, 1, … in order.
 */
class PieceChunkSource implements ChunkSource {
  private stream: AsyncIterator<Uint8Array> | undefined
  private rest: Uint8Array = new Uint8Array(0)
  private sizes: bigint[] = []

  constructor(
    private readonly backend: RepoBackend,
    private readonly inventory: RepoInventory,
    private readonly indexKey: string,
    private readonly index: PieceIndex,
  ) {}

  async open(manifest: BasebackupManifest): Promise<string[]> {
    const damage = pieceIndexDamage(this.backend, this.inventory.keys, this.inventory.objects, this.indexKey, this.index, manifest)
    if (damage !== null) throw damage
    this.sizes = manifest.chunks.map((chunk) => chunk.bytes)
    this.stream = this.all()[Symbol.asyncIterator]()
    const name = this.backend.describe(this.indexKey)
    return manifest.chunks.map((chunk) => `${name} (chunk ${chunk.ordinal})`)
  }

  private async *all(): AsyncGenerator<Uint8Array> {
    yield* readPieces(this.backend, this.inventory.keys, this.index.pieces)
  }

  async *pieces(ordinal: number): AsyncGenerator<Uint8Array> {
    let need = this.sizes[ordinal]
    while (need > 0n) {
      if (this.rest.length === 0) {
        const next = await this.stream!.next()
        if (next.done) throw new FormatError(`its pieces end before chunk ${ordinal} does`, this.backend.describe(this.indexKey))
        this.rest = next.value
        continue
      }
      const take = need < BigInt(this.rest.length) ? Number(need) : this.rest.length
      yield this.rest.subarray(0, take)
      this.rest = this.rest.subarray(take)
      need -= BigInt(take)
    }
  }

  async close(): Promise<void> {
    await this.stream?.return?.(undefined)
  }
}

/** Where a backup's chunks come from: its pieces, or the whole chunk objects an older push stored. */
async function chunkSourceOf(backend: RepoBackend, inventory: RepoInventory, entry: RepoManifestEntry): Promise<ChunkSource> {
  const storage = await backupStorage(backend, inventory.keys, inventory.objects, entry.key)
  return storage.kind === 'pieces' ? new PieceChunkSource(backend, inventory, storage.key, storage.index) : new RepoChunkSource(backend, inventory, entry)
}

/** The backup by checkpoint, or the newest on the current timeline's path (else the newest, which the guard then refuses). */
function chooseRepoBackup(inventory: RepoInventory, choice: RepoBackupChoice, location: string, history: TimelineEntry[]): RepoManifestEntry {
  const onPath = (m: RepoManifestEntry) => offTimelinePath(history.length === 0 ? null : {entries: history}, m) === null
  const latest = () => inventory.manifests.filter(onPath).at(-1) ?? inventory.manifests.at(-1)
  const chosen = 'checkpointLsn' in choice ? inventory.manifests.filter((m) => m.checkpoint_lsn === choice.checkpointLsn).at(-1) : latest()
  if (chosen === undefined) {
    throw notFound(`${location}${inventory.keys.prefix}: no base backup${'checkpointLsn' in choice ? ` with checkpoint LSN ${choice.checkpointLsn}` : ''} in the repository`)
  }
  return chosen
}

export interface RepoRestoreReport extends MaterializeReport {
  repository: string
  node: string
  manifest_key: string
}

/**
 * `repo restore`: materializes a backup from the repository alone, through
 * the same writer as `basebackup materialize` (temp file, rename, marker
 * last for a rebootstrap); every chunk is checked against its manifest's
 * size and CRC as it streams, and the whole snapshot against its CRC, so
 * a corrupt object aborts the restore naming it and leaves no destination.
 */
export async function restoreFromRepository(
  backend: RepoBackend,
  options: {
    node: string
    choice: RepoBackupChoice
    destination: Destination
    nowMs: bigint
    /** Restore a backup off the current timeline's path, with a warning (force.overridden). */
    force?: boolean
    onProgress?: (done: bigint, total: bigint) => void
    signal?: AbortSignal
  },
): Promise<RepoRestoreReport> {
  const basis = await readRepoBasis(backend, options.node)
  const inventory = basis.inventory
  const onPath = (m: RepoManifestEntry) => offTimelinePath(basis.history.length === 0 ? null : {entries: basis.history}, m) === null
  // The latest means the newest complete one on the current timeline's path: a backup with an object gone would fail half-way through.
  const newest = 'latest' in options.choice ? await newestCompleteBackup(backend, inventory, onPath) : undefined
  const entry = newest?.entry ?? chooseRepoBackup(inventory, options.choice, backend.location, basis.history)
  const manifest = newest?.manifest ?? (await readRepoManifest(backend, entry))
  const name = backend.describe(entry.key)
  // The guard materialize has (behaviour.md): judged against the replica set's history as the repository records it.
  const findings: Finding[] = []
  const diverged = offTimelinePath(basis.history.length === 0 ? null : {entries: basis.history}, manifest)
  if (diverged !== null) {
    const message = `${name}: not usable on the replica set's current timeline ${basis.current_timeline}: ${diverged}`
    if (!options.force) throw refused(message, {code: 'basebackup.off-timeline', hint: 'restore a backup taken before the fork or on the current timeline (pass --force to restore this one anyway)'})
    findings.push(finding('force.overridden', name, message, {refusal: 'basebackup.off-timeline'}))
  }
  const {destination, source} = await withRepositoryFormat(options.destination, basis, name)
  if (destination.kind === 'file' && !destination.overwrite && (await stat(destination.path).then(() => true, () => false))) {
    throw refused(`${destination.path} exists; nothing was changed`, {hint: 'pass --force to replace it'})
  }
  const report = await writeMaterialized(name, manifest, destination, options.nowMs, {onProgress: options.onProgress, signal: options.signal, source: await chunkSourceOf(backend, inventory, entry), findings})
  return {...report, rdb_version_source: source ?? report.rdb_version_source, repository: backend.location, node: options.node, manifest_key: entry.key}
}

/**
 * The database format a restore writes, from the replica set's facts: a set
 * that has run RedDB 1.23 gets format 2, and format 1 asked for it is
 * refused (1.23.2 wrecks a format-1 file it checkpoints in place, format.md
 * §9.2); a data file at the destination that shows a newer release than the
 * repository knows (a node upgraded since its last push) wins. A format
 * asked for otherwise is taken (format 2 over a 1.12 set: a node upgraded).
 * With neither facts nor a data file, the caller must say (chooseWriteFormat).
 */
async function withRepositoryFormat(destination: Destination, basis: RepoBasis, name: string): Promise<{destination: Destination; source?: RdbFormatSource}> {
  const recorded = basis.facts?.rdb_release ?? null
  if (destination.rdbVersion === 1 && recorded === 'reddb-1.23') {
    throw refused(`${name}: the replica set runs RedDB 1.23 (the repository's facts, ${writerOf(basis.facts!)}), and RedDB 1.23.2 wrecks a format-1 database at its first checkpoint`, {
      code: 'repo.facts-conflict',
      hint: 'leave out --rdb-version: the repository says format 2',
    })
  }
  if (destination.rdbVersion !== undefined || recorded === null) return {destination}
  const shown = destination.dataPath === '' ? undefined : await releaseOfDatabaseFile(destination.dataPath)
  const release = newerRelease(recorded, shown ?? null)!
  return {destination: {...destination, rdbVersion: RELEASES[release].writes}, source: release === shown ? 'data-file' : 'repository'}
}

export interface FetchWalReport {
  repository: string
  node: string
  /** The current timeline of the replica set (its history's last). */
  timeline: bigint
  from_lsn: bigint
  segment_bytes: bigint | null
  segment_bytes_source: SegmentBytesSource
  history_written: boolean
  /** Each timeline's stretch fetched: from the segment a replay starts at there, to the fork's segment or the archive's head. */
  stretches: WalStretch[]
  fetched: Array<{timeline: bigint; index: bigint; bytes: bigint; path: string}>
  already_present: number
  /** Local segments with another size than the archived one: kept as they are. */
  kept_local: Array<{timeline: bigint; index: bigint; path: string}>
}

/**
 * The timeline on the current one's path whose WAL holds `lsn`: the first
 * whose fork out of it lies at or past `lsn` (a checkpoint at the fork LSN
 * is still the old timeline's, behaviour.md "basebackup materialize"), else
 * the current one.
 */
function timelineHolding(history: readonly TimelineEntry[], lsn: bigint): bigint {
  for (let i = 0; i + 1 < history.length; i++) if (lsn <= history[i + 1].fork_lsn) return history[i].timeline
  return history.at(-1)?.timeline ?? 1n
}

interface FetchWalOptions {
  node: string
  fromLsn: bigint
  segmentBytes?: bigint
  signal?: AbortSignal
}

/**
 * `repo fetch-wal`: brings exactly the archived WAL a node restored from a
 * checkpoint at `fromLsn` replays: on the timeline of the current one's
 * path that holds `fromLsn`, from its segment to the segment of the fork
 * out of it, then on each later timeline from its fork's segment, up to
 * the archive's head (plan/repo-wal.ts `walStretches`), by the segment size
 * the repository records. Refuses before writing anything when a segment of
 * that run is missing, naming the first. Each segment streams to its temp
 * file through decode's rules (WalSegmentStreamCheck) and its CRC, its
 * header checked against its place (timeline, index, start LSN = index × S,
 * format.md §5), and is renamed into place only after. Writes the timeline
 * history first when the node has none. Never replaces a local segment.
 */
export async function fetchWal(layout: Layout, backend: RepoBackend, options: FetchWalOptions): Promise<FetchWalReport> {
  const {signal} = options
  const progress: FetchProgress = {writing: undefined, fetched: 0}
  try {
    return await fetchWalSegments(layout, backend, options, progress)
  } catch (error) {
    // Stopped between segments or in one: its temp file is gone, the segments written before it are whole.
    if (signal?.aborted) {
      const stopped = progress.writing === undefined ? 'no segment was being written' : `removed the unfinished copy of ${progress.writing}`
      throw interruption(signal, `${stopped}; the ${progress.fetched} segment(s) fetched before are whole, and a re-run fetches the rest`)
    }
    throw error
  }
}

/** What fetch-wal was doing when it stopped: the segment being written, and how many were written whole. */
interface FetchProgress {
  writing: string | undefined
  fetched: number
}

/** The pieces of `pieces` until `signal` aborts: then its reason is thrown at the next piece. */
export async function* untilAborted(pieces: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) {
    signal?.throwIfAborted()
    yield piece
  }
}

async function fetchWalSegments(layout: Layout, backend: RepoBackend, options: FetchWalOptions, progress: FetchProgress): Promise<FetchWalReport> {
  const {signal} = options
  const basis = await readRepoBasis(backend, options.node, options.segmentBytes)
  const {keys, inventory} = basis
  const size = basis.segment_bytes
  const start = timelineHolding(basis.history, options.fromLsn)
  const stretches = walStretches(basis.history, start, options.fromLsn, size)!
  const archived = archivedIndexes(inventory.wal)
  const coverage = walCompleteness(stretches, archived)
  const firstWanted = stretches[0]
  if (!coverage.complete || !archived.get(firstWanted.timeline)?.has(firstWanted.first_index)) {
    const missing = coverage.complete ? {timeline: firstWanted.timeline, index: firstWanted.first_index} : coverage.first_missing!
    throw notFound(`${backend.location}${keys.walPrefix(missing.timeline)}: segment ${missing.index} of timeline ${missing.timeline} is not in the repository, and a node restored at LSN ${options.fromLsn} replays it; nothing was fetched`, {
      code: 'repo.wal-gap',
      hint: 'push the node\'s WAL (repo push), or restore a newer base backup',
    })
  }
  let historyWritten = false
  if (inventory.history) {
    const name = backend.describe(keys.history)
    const historySize = downloadCap(inventory.history.size, MAX_TIMELINE_HISTORY_BYTES, 'timeline history', name)
    const bytes = await collect(checkedStream(backend.get(keys.history), {kind: 'sealed', size: historySize}, name), historySize, name)
    decodeFile(name, bytes, timelineHistoryCodec, {nowMs: 0n})
    // A history that is there but cannot be looked at must not be written over as if absent.
    const local = (await stat(layout.historyPath).catch(absentAsUndefined('stat', layout.historyPath))) !== undefined
    if (!local) {
      await mkdirLayoutDir(layout.root)
      await writeFileAtomic(layout.historyPath, bytes, {label: 'repo-fetch-history', clearLeftovers: true})
      historyWritten = true
    }
  }
  const report: FetchWalReport = {
    repository: backend.location,
    node: options.node,
    timeline: basis.current_timeline,
    from_lsn: options.fromLsn,
    segment_bytes: size,
    segment_bytes_source: basis.segment_bytes_source,
    history_written: historyWritten,
    stretches,
    fetched: [],
    already_present: 0,
    kept_local: [],
  }
  const byKey = new Map(inventory.wal.map((w) => [w.key, w]))
  for (const stretch of stretches) {
    const timeline = stretch.timeline
    const held = archived.get(timeline) ?? new Set<bigint>()
    let last = stretch.last_index ?? -1n
    if (stretch.last_index === null) for (const index of held) if (index > last) last = index
    const local = new Map((await listWalSegments(layout, timeline)).map((s) => [s.index, s]))
    await mkdirLayoutDir(layout.walDir(timeline))
    for (let index = stretch.first_index; index <= last; index++) {
      signal?.throwIfAborted()
      const segment = byKey.get(keys.wal(timeline, index))!
      const target = layout.walSegmentPath(timeline, index)
      const existing = local.get(index)
      if (existing) {
        if (existing.bytes === segment.object.size) report.already_present++
        else report.kept_local.push({timeline, index, path: target})
        continue
      }
      const name = backend.describe(segment.key)
      const cap = downloadCap(segment.object.size, MAX_SEGMENT_BYTES, 'WAL segment', name)
      const startLsn = size === null ? 0n : index * size
      progress.writing = target
      await writeStreamAtomic(
        target,
        async (handle) => {
          // Streamed to the temp file, never held whole, through the same rules decode applies (and the CRC
          // over every byte); renamed into place only once the last byte has passed them.
          const check = new WalSegmentStreamCheck(cap)
          let placed = false
          try {
            for await (const piece of checkedStream(untilAborted(backend.get(segment.key), signal), {kind: 'sealed', size: cap}, name)) {
              check.push(piece)
              const header = check.header
              if (!placed && header) {
                if (header.segment_index !== index || header.timeline !== timeline || header.start_lsn !== startLsn) {
                  throw new FormatError(`holds segment ${header.segment_index} of timeline ${header.timeline} starting at LSN ${header.start_lsn}, not segment ${index} of timeline ${timeline} starting at ${startLsn} as its name and the repository's segment size say`, name)
                }
                placed = true
              }
              await writeAll(handle, piece)
            }
            check.finish()
          } catch (error) {
            throw error instanceof FormatError ? error.inFile(name) : error
          }
        },
        // Under the layout lock (fetch-wal's write guard): a temp beside the target is a killed run's.
        {label: 'repo-fetch-wal', clearLeftovers: true},
      )
      progress.writing = undefined
      progress.fetched++
      report.fetched.push({timeline, index, bytes: segment.object.size, path: target})
    }
  }
  return report
}
