import {mkdir, stat} from 'node:fs/promises'

import {FormatError, notFound, refused} from '../errors.js'
import {effectiveSegmentBytes, walSegmentCodec} from '../format/wal-segment.js'
import {currentTimeline, timelineHistoryCodec} from '../format/timeline-history.js'
import {writeFailure, writeFileAtomic, writeStreamAtomic} from '../fs/atomic.js'
import {freePace} from '../fs/pace.js'
import {writeAll} from '../fs/stream.js'
import {decodeFile} from '../fs/read.js'
import {Layout} from '../layout.js'
import type {BasebackupManifest} from '../model.js'
import type {RepoBackend} from '../repo/backend.js'
import {checkedStream, collect} from '../repo/integrity.js'
import {readInventory, readRepoManifest, type RepoInventory, type RepoManifestEntry} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'
import {FileChunkSource, type ChunkSource} from './basebackup-chunks.js'
import {writeMaterialized, type Destination, type MaterializeReport} from './basebackup-materialize.js'
import {listWalSegments} from './node-state.js'
import {newestCompleteBackup} from './repo-list.js'

/** Creates a directory of a layout being restored (and its parents). */
async function mkdirLayoutDir(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true}).catch((error) => {
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
    const local = this.keys.map((key) => this.backend.localFile?.(key))
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

function chooseRepoBackup(inventory: RepoInventory, choice: RepoBackupChoice, location: string): RepoManifestEntry {
  const chosen = 'checkpointLsn' in choice ? inventory.manifests.filter((m) => m.checkpoint_lsn === choice.checkpointLsn).at(-1) : inventory.manifests.at(-1)
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
  options: {node: string; choice: RepoBackupChoice; destination: Destination; nowMs: bigint; onProgress?: (done: bigint, total: bigint) => void},
): Promise<RepoRestoreReport> {
  const inventory = await readInventory(backend, new RepoKeys(options.node))
  // The latest means the newest complete one: a backup with an object gone would fail half-way through.
  const newest = 'latest' in options.choice ? await newestCompleteBackup(backend, inventory) : undefined
  const entry = newest?.entry ?? chooseRepoBackup(inventory, options.choice, backend.location)
  const manifest = newest?.manifest ?? (await readRepoManifest(backend, entry))
  const destination = options.destination
  if (destination.kind === 'file' && !destination.overwrite && (await stat(destination.path).then(() => true, () => false))) {
    throw refused(`${destination.path} exists; nothing was changed`, {hint: 'pass --force to replace it'})
  }
  const report = await writeMaterialized(backend.describe(entry.key), manifest, destination, options.nowMs, {onProgress: options.onProgress, source: new RepoChunkSource(backend, inventory, entry)})
  return {...report, repository: backend.location, node: options.node, manifest_key: entry.key}
}

export interface FetchWalReport {
  repository: string
  node: string
  timeline: bigint
  from_lsn: bigint
  history_written: boolean
  fetched: Array<{index: bigint; bytes: bigint; path: string}>
  already_present: number
  /** Local segments with another size than the archived one: kept as they are. */
  kept_local: Array<{index: bigint; path: string}>
}

/**
 * `repo fetch-wal`: brings the archived WAL segments of the repository's
 * newest timeline from the segment holding `fromLsn` on into the node's
 * WAL directory, each written atomically after its CRC checked out (and
 * decoded as a WAL segment of that index). Writes the timeline history
 * first when the node has none. Never replaces a local segment.
 */
export async function fetchWal(layout: Layout, backend: RepoBackend, options: {node: string; fromLsn: bigint; segmentBytes: bigint}): Promise<FetchWalReport> {
  const keys = new RepoKeys(options.node)
  const inventory = await readInventory(backend, keys)
  let timeline = 1n
  let historyWritten = false
  if (inventory.history) {
    const name = backend.describe(keys.history)
    const bytes = await collect(checkedStream(backend.get(keys.history), {kind: 'sealed', size: inventory.history.size}, name), 16n * 1024n * 1024n, name)
    timeline = currentTimeline(decodeFile(name, bytes, timelineHistoryCodec, {nowMs: 0n}))
    const local = await stat(layout.historyPath).then(() => true, () => false)
    if (!local) {
      await mkdirLayoutDir(layout.root)
      await writeFileAtomic(layout.historyPath, bytes, {label: 'repo-fetch-history'})
      historyWritten = true
    }
  }
  const size = effectiveSegmentBytes(options.segmentBytes)
  const first = options.fromLsn / size
  const wanted = inventory.wal.filter((w) => w.timeline === timeline && w.index >= first)
  if (wanted.length === 0 || wanted[0].index !== first) {
    throw notFound(`${backend.location}${keys.walPrefix(timeline)}: segment ${first} (holding LSN ${options.fromLsn}) is not in the repository`)
  }
  const local = new Map((await listWalSegments(layout, timeline)).map((s) => [s.index, s]))
  const report: FetchWalReport = {repository: backend.location, node: options.node, timeline, from_lsn: options.fromLsn, history_written: historyWritten, fetched: [], already_present: 0, kept_local: []}
  await mkdirLayoutDir(layout.walDir(timeline))
  for (const segment of wanted) {
    const target = layout.walSegmentPath(timeline, segment.index)
    const existing = local.get(segment.index)
    if (existing) {
      if (existing.bytes === segment.object.size) report.already_present++
      else report.kept_local.push({index: segment.index, path: target})
      continue
    }
    const name = backend.describe(segment.key)
    await writeStreamAtomic(
      target,
      async (handle) => {
        // Small enough to hold (a segment is at most its configured size); decoded before it is renamed into place.
        const bytes = await collect(checkedStream(backend.get(segment.key), {kind: 'sealed', size: segment.object.size}, name), segment.object.size, name)
        const decoded = decodeFile(name, bytes, walSegmentCodec, {nowMs: 0n})
        if (decoded.segment_index !== segment.index || decoded.timeline !== timeline) throw new FormatError(`holds segment ${decoded.segment_index} of timeline ${decoded.timeline}, not what its name says`, name)
        await writeAll(handle, bytes)
      },
      {label: 'repo-fetch-wal'},
    )
    report.fetched.push({index: segment.index, bytes: segment.object.size, path: target})
  }
  return report
}
