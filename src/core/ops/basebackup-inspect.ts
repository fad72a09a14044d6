import {stat} from 'node:fs/promises'

import {RedreplError} from '../errors.js'
import {isUsableForCatchup} from '../format/basebackup-manifest.js'
import {Layout} from '../layout.js'
import {createPace} from '../fs/pace.js'
import {FileChunkSource, streamVerifiedChunks} from './basebackup-chunks.js'
import {contiguousRunStart} from '../plan/wal-geometry.js'
import {chooseBasebackup, type ManifestChoice} from './basebackup-materialize.js'
import {listBasebackups, listWalSegments, readCurrentTimeline, readOldestAvailableLsn, readWalHead, type WalSegmentFile} from './node-state.js'

export interface BasebackupListing {
  timeline: bigint
  available_from_lsn: bigint
  /** The WAL head of the current timeline; null when its WAL holds no record. */
  wal_head_lsn: bigint | null
  basebackups: BasebackupEntry[]
}

export interface BasebackupEntry {
  path: string
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  chunks: number
  /** When the manifest, written last, was written: the time the backup was complete. */
  created_unix_ms: bigint
  /** now − created, 0 for a manifest dated in the future (clock skew). */
  age_ms: bigint
  usable_for_catchup: boolean
  /**
   * LSNs of WAL after the checkpoint up to the WAL head, all still on disk,
   * that a catch-up from this backup replays; null when the WAL no longer
   * reaches back to the checkpoint or the backup is of another timeline.
   */
  wal_lsns_after_checkpoint: bigint | null
}

/**
 * Every base backup on the current timeline, with its time and size and
 * whether it can serve a catch-up: its checkpoint at or after the start of
 * the unbroken WAL ending at the head, as catchup plan counts it. `listed` is what
 * the caller has read of that timeline already: its segments, and the WAL
 * head and the oldest segment's start when it has them, so that neither
 * segment is read again.
 */
export async function listBasebackupReport(
  layout: Layout,
  nowMs: bigint,
  listed?: {timeline: bigint; segments: WalSegmentFile[]; walHeadLsn?: bigint | null; oldestWalLsn?: bigint},
): Promise<BasebackupListing> {
  const timeline = await readCurrentTimeline(layout)
  const known = listed?.timeline === timeline ? listed : undefined
  const segments = known?.segments ?? (await listWalSegments(layout, timeline))
  // catchup plan's rule: WAL below a missing segment is not offered, so a backup is usable from the unbroken run ending at the head.
  const runStart = contiguousRunStart(segments.map((s) => s.index))
  const available = known?.oldestWalLsn ?? (await readOldestAvailableLsn(layout, timeline, segments.filter((s) => runStart !== null && s.index >= runStart)))
  const head = known !== undefined && known.walHeadLsn !== undefined ? known.walHeadLsn : await readWalHead(layout, timeline, segments)
  const basebackups: BasebackupEntry[] = []
  for (const {path: file, manifest} of await listBasebackups(layout, timeline)) {
    const created = await manifestMtimeMs(file)
    const usable = isUsableForCatchup(manifest, timeline, available)
    const checkpoint = manifest.checkpoint_lsn
    basebackups.push({
      path: file,
      timeline: manifest.timeline,
      start_lsn: manifest.start_lsn,
      checkpoint_lsn: checkpoint,
      snapshot_bytes: manifest.snapshot_bytes,
      chunks: manifest.chunks.length,
      created_unix_ms: created,
      age_ms: nowMs > created ? nowMs - created : 0n,
      usable_for_catchup: usable,
      wal_lsns_after_checkpoint: usable ? (head !== null && head > checkpoint ? head - checkpoint : 0n) : null,
    })
  }
  return {timeline, available_from_lsn: available, wal_head_lsn: head, basebackups}
}

async function manifestMtimeMs(file: string): Promise<bigint> {
  try {
    return (await stat(file, {bigint: true})).mtimeMs
  } catch (error) {
    throw new RedreplError('failure', `${file}: cannot stat: ${(error as Error).message}`)
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
export async function verifyBasebackup(
  layout: Layout,
  choice: ManifestChoice,
  onProgress: (done: bigint, total: bigint) => void = () => {},
  /** Bytes per second read at most (`--max-rate`); absent: as fast as the disk goes. */
  maxRate?: number,
): Promise<BasebackupVerifyReport> {
  const {path: manifestPath, manifest} = await chooseBasebackup(layout, choice)
  await streamVerifiedChunks(manifestPath, manifest, (_piece, done) => onProgress(done, manifest.snapshot_bytes), new FileChunkSource(manifestPath, createPace({maxRate})))
  return {manifest_path: manifestPath, checkpoint_lsn: manifest.checkpoint_lsn, snapshot_bytes: manifest.snapshot_bytes, chunks_checked: manifest.chunks.length, snapshot_checksum: manifest.snapshot_checksum, ok: true}
}
