import path from 'node:path'

import {FormatError, interruption, notFound, RedreplError, refused} from '../../errors.js'
import {finding, type Finding} from '../../findings.js'
import {basebackupManifestCodec, isUsableForCatchup} from '../../format/basebackup-manifest.js'
import {assessBackups} from './usable.js'
import {createDatabaseHead, readersOf, snapshotOpenProblem} from '../../format/embedded-rdb.js'
import {rebootstrapMarkerCodec} from '../../format/rebootstrap-marker.js'
import {lstat} from '../../fs/metadata.js'
import {absolutePath} from '../../fs/absolute-path.js'
import {removeFileDurable, writeFileAtomic, writeStreamAtomic} from '../../fs/atomic.js'
import {crashPoint} from '../../fs/crash.js'
import {FlushBehind} from '../../fs/flush-behind.js'
import {assertNotLiveFile} from '../../fs/live-node.js'
import {ioError} from '../../fs/io-error.js'
import {readArtifact} from '../node/artifact-file.js'
import {createPace} from '../../fs/pace.js'
import {writeAllAt, writeAllAtSync} from '../../fs/stream.js'
import {dataPathArtifacts, Layout, parseTimelineDirName} from '../../layout.js'
import type {BasebackupManifest, RdbFormat, TimelineHistory} from '../../model.js'
import {compareBackupPreference, offTimelinePath} from '../../plan/catchup.js'
import {FileChunkSource, streamVerifiedChunks, type ChunkSource} from './chunks.js'
import {type BasebackupFile, listBasebackups, readCurrentTimeline, readHistory, readOldestAvailableLsn} from '../node/state.js'
import {chooseWriteFormat, type RdbFormatSource} from '../node/rdb-format.js'

/** `latest`: the newest usable backup (what a restore wants); `newest`: the newest there is, whatever its state (what a check wants). */
export type ManifestChoice = {manifestPath: string} | {checkpointLsn: bigint} | {latest: true} | {newest: true}

/**
 * Where the database goes, and in which format (`rdbVersion`; absent: the
 * format of the node's data file, see chooseWriteFormat). A standalone file
 * takes it from the data file at `dataPath`.
 */
export type Destination =
  | {kind: 'file'; path: string; overwrite: boolean; dataPath: string; rdbVersion?: RdbFormat; /** Replace the file even while a running RedDB holds it (warned). */ overwriteLive?: boolean}
  | {kind: 'rebootstrap'; dataPath: string; rdbVersion?: RdbFormat}

export interface MaterializeReport {
  manifest_path: string
  destination_path: string
  checkpoint_lsn: bigint
  timeline: bigint
  snapshot_bytes: bigint
  /** Other backups at the same checkpoint, not chosen because their start LSN is lower. */
  passed_over_same_checkpoint: string[]
  /** force.overridden for what --force overrode; leftover.temp-file for each temp of a gone earlier run removed beside a --to target. */
  findings: Finding[]
  /** The embedded database format written: 1 (RedDB 1.12's) or 2 (RedDB 1.23's). */
  rdb_version: RdbFormat
  rdb_version_source: RdbFormatSource
  /** The RedDB releases that open the database written. */
  read_by: string[]
  /** The rebootstrap ready marker written; null when materializing to a file. */
  marker_path: string | null
}

/**
 * The manifest to restore: named, by checkpoint, or the latest usable one on
 * the current timeline — usable meaning its checkpoint is still covered by
 * the WAL kept (§6), so a node restored from it can catch up. Backups at the
 * same checkpoint are told apart by start LSN, the higher one winning
 * (plan/catchup's order); the others are returned so the report can say so.
 */
export async function chooseBasebackup(layout: Layout, choice: ManifestChoice): Promise<{path: string; manifest: BasebackupManifest; passedOver: string[]}> {
  if ('manifestPath' in choice) return {path: choice.manifestPath, manifest: await readArtifact(choice.manifestPath, basebackupManifestCodec, {nowMs: 0n}), passedOver: []}
  const timeline = await readCurrentTimeline(layout)
  const onTimeline = (await listBasebackups(layout, timeline)).filter((backup) => backup.manifest.timeline === timeline).sort((a, b) => compareBackupPreference(a.manifest, b.manifest))
  const sameCheckpoint = (chosen: BasebackupFile) => ({
    ...chosen,
    passedOver: onTimeline.filter((backup) => backup !== chosen && backup.manifest.checkpoint_lsn === chosen.manifest.checkpoint_lsn).map((backup) => backup.path),
  })
  if ('checkpointLsn' in choice) {
    const chosen = onTimeline.find((backup) => backup.manifest.checkpoint_lsn === choice.checkpointLsn)
    if (chosen === undefined) throw notFound(`no base backup with checkpoint LSN ${choice.checkpointLsn} on timeline ${timeline} in ${layout.basebackupDir(timeline)}`)
    return sameCheckpoint(chosen)
  }
  if (onTimeline.length === 0) throw notFound(`no base backup on timeline ${timeline} in ${layout.basebackupDir(timeline)}`)
  if ('newest' in choice) return sameCheckpoint(onTimeline[0])
  // The newest complete one: a backup with a chunk gone or a manifest no writer makes would not restore.
  const assessed = new Map((await assessBackups(layout, timeline)).map((backup) => [backup.path, backup.damage]))
  const latest = onTimeline.find((backup) => assessed.get(backup.path) === null)
  // None complete: the newest one's damage is the answer (exit 3, naming the file), as reading it would have been.
  if (latest === undefined) throw assessed.get(onTimeline[0].path)!
  const available = await readOldestAvailableLsn(layout, timeline)
  if (!isUsableForCatchup(latest.manifest, timeline, available)) {
    throw notFound(
      `the newest base backup (checkpoint ${latest.manifest.checkpoint_lsn}) is older than the oldest WAL kept (LSN ${available}): a node restored from it could not catch up; name one with --checkpoint-lsn or --manifest to restore it anyway`,
    )
  }
  return sameCheckpoint(latest)
}

/**
 * The history a backup is judged against: that of the layout the manifest
 * lies in (`<root>/timeline-N/basebackup/`, the primary whose timelines it
 * belongs to), else that of the destination's layout when it has one. A new
 * replica's empty layout says nothing about which timeline is current.
 */
async function referenceHistory(manifestPath: string, layout: Layout): Promise<{root: string; history: TimelineHistory | null} | null> {
  const basebackupDir = path.dirname(manifestPath)
  const timelineDir = path.dirname(basebackupDir)
  if (path.basename(basebackupDir) === 'basebackup' && parseTimelineDirName(path.basename(timelineDir)) !== undefined) {
    const source = new Layout(path.dirname(timelineDir))
    return {root: source.root, history: await readHistory(source)}
  }
  const history = await readHistory(layout)
  return history === null ? null : {root: layout.root, history}
}

/**
 * Rebuilds a database from a base backup (behaviour.md "basebackup
 * materialize"): an embedded `.rdb` holding the snapshot, streamed through a
 * temp file so nothing half-written ever carries the final name. For a
 * rebootstrap a ready marker already there is removed (durably) before the
 * new pending database takes its name, and the new marker is written after
 * it: a marker only ever stands beside the database it names (behaviour.md).
 */
export async function materializeBasebackup(
  layout: Layout,
  choice: ManifestChoice,
  destination: Destination,
  nowMs: bigint,
  /** Restore a backup that does not lie on the current timeline's path, with a warning. */
  force: boolean,
  onProgress: (done: bigint, total: bigint) => void = () => {},
  /** Stops the copy at the next piece: the temp file is removed, the destination left as it was. */
  signal?: AbortSignal,
  /** Bytes per second read from the backup at most (`--max-rate`); absent: as fast as the disk goes. */
  maxRate?: number,
): Promise<MaterializeReport> {
  const {path: manifestPath, manifest, passedOver} = await chooseBasebackup(layout, choice)
  const findings: Finding[] = []
  const reference = await referenceHistory(manifestPath, layout)
  const diverged = reference === null ? null : offTimelinePath(reference.history, manifest)
  if (diverged !== null) {
    const message = `${manifestPath}: not usable on the current timeline of ${reference!.root}: ${diverged}`
    if (!force) throw refused(message, {code: 'basebackup.off-timeline', hint: 'take a fresh base backup on the current timeline, or restore one taken before the fork (pass --force to restore this one anyway)'})
    findings.push(finding('force.overridden', manifestPath, message, {refusal: 'basebackup.off-timeline'}))
  }
  return writeMaterialized(manifestPath, manifest, destination, nowMs, {onProgress, signal, passedOver, findings, maxRate})
}

export interface WriteOptions {
  onProgress?: (done: bigint, total: bigint) => void
  /** Stops the copy at the next piece: the temp file is removed, the destination left as it was. */
  signal?: AbortSignal
  /** Where the chunks come from: the files beside the manifest by default, or a repository. */
  source?: ChunkSource
  /** Bytes per second read from the chunk files at most (`--max-rate`); a repository source is paced by its backend. */
  maxRate?: number
  /** What the choice of backup reports: passed-over backups and what --force overrode. */
  passedOver?: string[]
  findings?: Finding[]
}

/**
 * The writing half of materialize, for a manifest already chosen: its
 * chunks come from the source, verified as they stream.
 */
export async function writeMaterialized(manifestPath: string, manifest: BasebackupManifest, destination: Destination, nowMs: bigint, options: WriteOptions = {}): Promise<MaterializeReport> {
  const {onProgress = () => {}, signal} = options
  const source = options.source ?? new FileChunkSource(manifestPath, createPace({maxRate: options.maxRate, signal}))
  const paths = destination.kind === 'rebootstrap' ? dataPathArtifacts(destination.dataPath) : undefined
  const target = paths?.rebootstrapPending ?? (destination as {path: string}).path
  const ifAbsent = destination.kind === 'file' && !destination.overwrite
  // Refused early to spare a long copy; the write itself enforces it again, atomically.
  if (ifAbsent && (await lstat(target).then(() => true, () => false))) throw refused(`${target}: exists`, {hint: 'pass --force to replace it'})
  const written = await chooseWriteFormat(destination.dataPath, destination.rdbVersion, destination.kind === 'rebootstrap')
  const overwriteLive = destination.kind === 'file' && destination.overwriteLive === true
  // A file a running RedDB holds is replaced only when asked in so many words; checked again just before the rename, for a node started meanwhile.
  if (destination.kind === 'file') await assertNotLiveFile(target, {overwriteLive})
  const beforeReplace = paths ? () => removeReadyMarker(paths.rebootstrapReady) : overwriteLive ? undefined : () => assertNotLiveFile(target, {overwriteLive: false})
  const findings = [...(options.findings ?? [])]
  // Outside a layout nothing excludes another run at the same target: only temps whose writer is gone are removed, and each is reported.
  const onLeftoverRemoved = (temp: string) => findings.push(finding('leftover.temp-file', temp, `removed ${temp}, the temp file of an earlier run at ${target} that is gone`))
  try {
    await writeStreamAtomic(
      target,
      async (out) => {
        const databaseHead = createDatabaseHead(written.format, manifest.snapshot_bytes, manifest.snapshot_checksum, nowMs)
        await writeAllAt(out, databaseHead, 0)
        const flush = new FlushBehind(out)
        // Synchronous writes (see fs/pace.ts); the flushes behind them run in the thread pool.
        const head = await streamVerifiedChunks(manifestPath, manifest, (piece, done) => {
          signal?.throwIfAborted()
          writeAllAtSync(out.fd, piece, databaseHead.length + Number(done) - piece.length)
          flush.wrote(piece.length)
          onProgress(done, manifest.snapshot_bytes)
        }, source)
        await flush.settle()
        // The last point of return: what follows is the final fsync and the rename (and the marker after it).
        signal?.throwIfAborted()
        // RedDB opens a database only when a snapshot of 4 bytes or more starts with RDST (§9.1).
        const refusal = snapshotOpenProblem(head, manifest.snapshot_bytes)
        if (refusal !== null) throw new FormatError(refusal, manifestPath)
      },
      {label: 'basebackup-materialize', ifAbsent, beforeReplace, clearLeftovers: paths !== undefined ? true : 'dead-writers', onLeftoverRemoved},
    )
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw interruption(signal, `removed the unfinished copy; ${target} was left as it was`)
    // Chunk reads are translated where they happen; what is left is the write of the destination.
    throw ioError('write', target, error)
  }
  const report: MaterializeReport = {
    manifest_path: manifestPath,
    destination_path: target,
    checkpoint_lsn: manifest.checkpoint_lsn,
    timeline: manifest.timeline,
    snapshot_bytes: manifest.snapshot_bytes,
    passed_over_same_checkpoint: options.passedOver ?? [],
    findings,
    rdb_version: written.format,
    rdb_version_source: written.source,
    read_by: readersOf(written.format),
    marker_path: null,
  }
  if (paths) {
    const marker = {pending_path: markerPendingPath(destination.dataPath), checkpoint_lsn: manifest.checkpoint_lsn, timeline: manifest.timeline}
    try {
      await writeFileAtomic(paths.rebootstrapReady, rebootstrapMarkerCodec.encode(marker, {nowMs}), {label: 'rebootstrap-marker', clearLeftovers: true})
    } catch (error) {
      if (!(error instanceof RedreplError) || error.kind !== 'failure') throw error
      throw new RedreplError('failure', `${error.message}; the new pending database ${paths.rebootstrapPending} is in place without a ready marker, so the node will not swap it in`, {hint: 'run this again once the cause is fixed'})
    }
    report.marker_path = paths.rebootstrapReady
  }
  return report
}

/**
 * The pending_path every ready marker redrepl writes holds: the pending
 * database derived from the data path made absolute. RedDB refuses a marker
 * whose path is not the one it derives from its own data path (format §8),
 * and nodes are configured with absolute data paths, so a relative path
 * typed here (`rc1/data.rdb`) is completed with the working directory,
 * never written as typed.
 */
export function markerPendingPath(dataPath: string): string {
  return dataPathArtifacts(absolutePath(dataPath)).rebootstrapPending
}

/** A ready marker names the pending database it was written beside; it goes before that database is replaced. */
async function removeReadyMarker(marker: string): Promise<void> {
  let removed: boolean
  try {
    removed = await removeFileDurable(marker)
  } catch (error) {
    throw ioError('remove the old ready marker', marker, error, {outcome: 'the pending database was left as it was'})
  }
  if (removed) crashPoint('rebootstrap-marker:after-remove')
}
