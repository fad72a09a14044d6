import {isUsableForCatchup} from '../format/basebackup-manifest.js'
import {Layout} from '../layout.js'
import {streamVerifiedChunks} from './basebackup-chunks.js'
import {chooseBasebackup, type ManifestChoice} from './basebackup-materialize.js'
import {listBasebackups, readCurrentTimeline, readOldestAvailableLsn} from './node-state.js'

export interface BasebackupListing {
  timeline: bigint
  available_from_lsn: bigint
  basebackups: Array<{
    path: string
    timeline: bigint
    start_lsn: bigint
    checkpoint_lsn: bigint
    snapshot_bytes: bigint
    chunks: number
    usable_for_catchup: boolean
  }>
}

/** Every base backup on the current timeline, with whether it can serve a catch-up from the oldest WAL. */
export async function listBasebackupReport(layout: Layout): Promise<BasebackupListing> {
  const timeline = await readCurrentTimeline(layout)
  const available = await readOldestAvailableLsn(layout, timeline)
  return {
    timeline,
    available_from_lsn: available,
    basebackups: (await listBasebackups(layout, timeline)).map(({path: file, manifest}) => ({
      path: file,
      timeline: manifest.timeline,
      start_lsn: manifest.start_lsn,
      checkpoint_lsn: manifest.checkpoint_lsn,
      snapshot_bytes: manifest.snapshot_bytes,
      chunks: manifest.chunks.length,
      usable_for_catchup: isUsableForCatchup(manifest, timeline, available),
    })),
  }
}

export interface BasebackupVerifyReport {
  manifest_path: string
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  chunks_checked: number
  snapshot_checksum: number
  ok: true
}

/** Reads every chunk of a backup against its size and CRC, and the whole snapshot against its CRC. */
export async function verifyBasebackup(layout: Layout, choice: ManifestChoice, onProgress: (done: bigint, total: bigint) => void = () => {}): Promise<BasebackupVerifyReport> {
  const {path: manifestPath, manifest} = await chooseBasebackup(layout, choice)
  await streamVerifiedChunks(manifestPath, manifest, (_piece, done) => onProgress(done, manifest.snapshot_bytes))
  return {manifest_path: manifestPath, checkpoint_lsn: manifest.checkpoint_lsn, snapshot_bytes: manifest.snapshot_bytes, chunks_checked: manifest.chunks.length, snapshot_checksum: manifest.snapshot_checksum, ok: true}
}
