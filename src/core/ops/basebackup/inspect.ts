
import {RedreplError} from '../../errors.js'
import {Layout} from '../../layout.js'
import {ioError} from '../../fs/io-error.js'
import {stat} from '../../fs/metadata.js'
import {createPace} from '../../fs/pace.js'
import {chooseBasebackup, type ManifestChoice} from './materialize.js'
import {assessBackups, backupDamage, damageText, isUsableBackup} from './usable.js'
import {readWalState, requireSoundWal, walAvailableFrom, walHeadOf} from '../wal/state.js'
import {isUsableForCatchup} from '../../format/basebackup-manifest.js'
import {listWalSegments, readCurrentTimeline, readWalHead, type WalSegmentFile} from '../node/state.js'

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
  /** Usable: complete (damage null) and its checkpoint still covered by the WAL kept. */
  usable_for_catchup: boolean
  /** What makes it unrestorable ("file: problem": a chunk missing or of another size, a manifest no writer makes); null when complete. */
  damage: string | null
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
  listed?: {timeline: bigint; segments: WalSegmentFile[]; walHeadLsn?: bigint | null; availableFromLsn?: bigint},
): Promise<BasebackupListing> {
  const timeline = await readCurrentTimeline(layout)
  const known = listed?.timeline === timeline ? listed : undefined
  const segments = known?.segments ?? (await listWalSegments(layout, timeline))
  // The WAL below a hole is not offered for catch-up (wal-state.ts), so a backup older than the hole is not usable.
  const available = known?.availableFromLsn ?? walAvailableFrom(await readWalState(layout, timeline))
  const head = known !== undefined && known.walHeadLsn !== undefined ? known.walHeadLsn : await readWalHead(layout, timeline, segments)
  const basebackups: BasebackupEntry[] = []
  for (const backup of await assessBackups(layout, timeline)) {
    const {path: file, manifest} = backup
    const created = await manifestMtimeMs(file)
    const usable = isUsableBackup(backup, timeline, available)
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
      damage: damageText(backup.damage),
      wal_lsns_after_checkpoint: usable ? (head !== null && head > checkpoint ? head - checkpoint : 0n) : null,
    })
  }
  return {timeline, available_from_lsn: available, wal_head_lsn: head, basebackups}
}

async function manifestMtimeMs(file: string): Promise<bigint> {
  try {
    return (await stat(file, {bigint: true})).mtimeMs
  } catch (error) {
    throw ioError('stat', file, error)
  }
}

export interface BasebackupVerifyReport {
  manifest_path: string
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  chunks_checked: number
  snapshot_checksum: number
  /** The oldest LSN the node's WAL serves without a gap up to its head (at or below the checkpoint, or the run fails). */
  wal_available_from_lsn: bigint
  /** The node's WAL head; null when its WAL holds no record. */
  wal_head_lsn: bigint | null
  ok: true
}

/**
 * Proves that a restore from a backup works and can catch up: the manifest
 * is sane for its size, every chunk is read against its size and CRC, the
 * whole snapshot against its CRC and by RedDB's open rules (what
 * materialize writes would open), and the WAL on the node runs without a
 * gap from the backup's checkpoint to the head (§6: usable for catch-up).
 */
export async function verifyBasebackup(
  layout: Layout,
  choice: ManifestChoice,
  onProgress: (done: bigint, total: bigint) => void = () => {},
  /** Bytes per second read at most (`--max-rate`); absent: as fast as the disk goes. */
  maxRate?: number,
): Promise<BasebackupVerifyReport> {
  const {path: manifestPath, manifest} = await chooseBasebackup(layout, choice)
  let done = 0n
  const onRead = (bytes: number) => onProgress((done += BigInt(bytes)), manifest.snapshot_bytes)
  const damage = await backupDamage(manifestPath, manifest, {deep: true, pace: createPace({maxRate}), onRead})
  if (damage !== null) throw damage
  const timeline = await readCurrentTimeline(layout)
  const wal = await readWalState(layout, timeline)
  requireSoundWal(wal)
  const available = walAvailableFrom(wal)
  if (!isUsableForCatchup(manifest, timeline, available)) {
    const why =
      manifest.timeline !== timeline
        ? `it is of timeline ${manifest.timeline}, the current timeline is ${timeline}`
        : `the WAL kept runs without a gap from LSN ${available} only, past its checkpoint ${manifest.checkpoint_lsn}`
    throw new RedreplError('corrupt', `${manifestPath}: its bytes check out, but a node restored from it could not catch up: ${why}`, {
      code: 'basebackup.wal-missing',
      hint: 'take a new base backup (basebackup create), or restore it with a repository that holds that WAL',
    })
  }
  return {
    manifest_path: manifestPath,
    checkpoint_lsn: manifest.checkpoint_lsn,
    snapshot_bytes: manifest.snapshot_bytes,
    chunks_checked: manifest.chunks.length,
    snapshot_checksum: manifest.snapshot_checksum,
    wal_available_from_lsn: available,
    wal_head_lsn: await walHeadOf(layout, wal),
    ok: true,
  }
}
