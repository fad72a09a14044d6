import {stat} from 'node:fs/promises'

import {FormatError, notFound, refused, RedreplError} from '../errors.js'
import {basebackupManifestCodec, isUsableForCatchup} from '../format/basebackup-manifest.js'
import {createDatabaseHead} from '../format/embedded-rdb.js'
import {rebootstrapMarkerCodec} from '../format/rebootstrap-marker.js'
import {writeFileAtomic, writeStreamAtomic} from '../fs/atomic.js'
import {FlushBehind} from '../fs/flush-behind.js'
import {readArtifact} from '../fs/read.js'
import {writeAllAt} from '../fs/stream.js'
import {dataPathArtifacts, Layout} from '../layout.js'
import type {BasebackupManifest} from '../model.js'
import {streamVerifiedChunks, type ChunkSource} from './basebackup-chunks.js'
import {listBasebackups, readCurrentTimeline, readOldestAvailableLsn} from './node-state.js'

export type ManifestChoice = {manifestPath: string} | {checkpointLsn: bigint} | {latest: true}

export type Destination = {kind: 'file'; path: string; overwrite: boolean} | {kind: 'rebootstrap'; dataPath: string}

export interface MaterializeReport {
  manifest_path: string
  destination: string
  checkpoint_lsn: bigint
  timeline: bigint
  snapshot_bytes: bigint
  marker_path?: string
}

/**
 * The manifest to restore: named, by checkpoint, or the latest usable one on
 * the current timeline — usable meaning its checkpoint is still covered by
 * the WAL kept (§6), so a node restored from it can catch up.
 */
export async function chooseBasebackup(layout: Layout, choice: ManifestChoice): Promise<{path: string; manifest: BasebackupManifest}> {
  if ('manifestPath' in choice) return {path: choice.manifestPath, manifest: await readArtifact(choice.manifestPath, basebackupManifestCodec, {nowMs: 0n})}
  const timeline = await readCurrentTimeline(layout)
  const onTimeline = (await listBasebackups(layout, timeline)).filter((backup) => backup.manifest.timeline === timeline)
  if ('checkpointLsn' in choice) {
    const chosen = onTimeline.filter((backup) => backup.manifest.checkpoint_lsn === choice.checkpointLsn).at(-1)
    if (chosen === undefined) throw notFound(`no base backup with checkpoint LSN ${choice.checkpointLsn} on timeline ${timeline} in ${layout.basebackupDir(timeline)}`)
    return chosen
  }
  const latest = onTimeline.at(-1)
  if (latest === undefined) throw notFound(`no base backup on timeline ${timeline} in ${layout.basebackupDir(timeline)}`)
  const available = await readOldestAvailableLsn(layout, timeline)
  if (!isUsableForCatchup(latest.manifest, timeline, available)) {
    throw notFound(
      `the newest base backup (checkpoint ${latest.manifest.checkpoint_lsn}) is older than the oldest WAL kept (LSN ${available}): a node restored from it could not catch up; name one with --checkpoint-lsn or --manifest to restore it anyway`,
    )
  }
  return latest
}

/**
 * Rebuilds a database from a base backup (behaviour.md "basebackup
 * materialize"): an embedded `.rdb` holding the snapshot, streamed through a
 * temp file so nothing half-written ever carries the final name. For a
 * rebootstrap the pending database is written first, then the ready marker.
 */
export async function materializeBasebackup(
  layout: Layout,
  choice: ManifestChoice,
  destination: Destination,
  nowMs: bigint,
  onProgress: (done: bigint, total: bigint) => void = () => {},
): Promise<MaterializeReport> {
  const {path: manifestPath, manifest} = await chooseBasebackup(layout, choice)
  return writeMaterialized(manifestPath, manifest, destination, nowMs, onProgress)
}

/**
 * The writing half of materialize, for a manifest already chosen: its
 * chunks come from `source` (the files beside it by default, or a
 * repository), verified as they stream.
 */
export async function writeMaterialized(
  manifestPath: string,
  manifest: BasebackupManifest,
  destination: Destination,
  nowMs: bigint,
  onProgress: (done: bigint, total: bigint) => void = () => {},
  source?: ChunkSource,
): Promise<MaterializeReport> {
  const paths = destination.kind === 'rebootstrap' ? dataPathArtifacts(destination.dataPath) : undefined
  const target = paths?.rebootstrapPending ?? (destination as {path: string}).path
  if (destination.kind === 'file' && !destination.overwrite && (await stat(target).then(() => true, () => false))) {
    throw refused(`${target} exists; pass --force to replace it`)
  }
  try {
    await writeStreamAtomic(
      target,
      async (out) => {
        const databaseHead = createDatabaseHead(manifest.snapshot_bytes, manifest.snapshot_checksum, nowMs)
        await writeAllAt(out, databaseHead, 0)
        const flush = new FlushBehind(out)
        // Positional writes: two pieces may be on their way to the file at once.
        const head = await streamVerifiedChunks(manifestPath, manifest, async (piece, done) => {
          await writeAllAt(out, piece, databaseHead.length + Number(done) - piece.length)
          flush.wrote(piece.length)
          onProgress(done, manifest.snapshot_bytes)
        }, source)
        await flush.settle()
        // RedDB opens a database only when a snapshot of 4 bytes or more starts with RDST.
        if (head.length === 4 && new TextDecoder().decode(head) !== 'RDST') {
          throw new FormatError('the snapshot does not start with RDST: RedDB would not open a database made from it', manifestPath)
        }
      },
      {label: 'basebackup-materialize'},
    )
  } catch (error) {
    if (error instanceof RedreplError) throw error
    throw new RedreplError('failure', `${target}: ${(error as Error).message}`)
  }
  const report: MaterializeReport = {manifest_path: manifestPath, destination: target, checkpoint_lsn: manifest.checkpoint_lsn, timeline: manifest.timeline, snapshot_bytes: manifest.snapshot_bytes}
  if (paths) {
    const marker = {pending_path: paths.rebootstrapPending, checkpoint_lsn: manifest.checkpoint_lsn, timeline: manifest.timeline}
    await writeFileAtomic(paths.rebootstrapReady, rebootstrapMarkerCodec.encode(marker, {nowMs}), {label: 'rebootstrap-marker'})
    report.marker_path = paths.rebootstrapReady
  }
  return report
}
