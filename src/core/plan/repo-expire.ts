import {planBackupRetention, type BackupRetentionPolicy, type BackupVerdict, type RetentionCandidate} from './backup-retention.js'

/**
 * What `repo expire` deletes: backups by the retention policy (the newest
 * usable one always kept), and the WAL that only deleted backups needed.
 * The WAL floor is the checkpoint segment of the oldest kept backup: every
 * kept backup keeps every segment from its checkpoint on, on its timeline
 * and every later one. With no backup kept, no WAL is deleted.
 */

export interface RepoExpireInput<C extends RetentionCandidate> {
  backups: C[]
  wal: Array<{key: string; timeline: bigint; index: bigint}>
  policy: BackupRetentionPolicy
  nowMs: bigint
  segmentBytes: bigint
}

export interface RepoExpirePlan<C extends RetentionCandidate> {
  backups: Array<BackupVerdict<C>>
  wal_delete: Array<{key: string; timeline: bigint; index: bigint; reason: string}>
  wal_kept: number
  wal_floor: {timeline: bigint; index: bigint} | null
}

export function planRepoExpire<C extends RetentionCandidate>(input: RepoExpireInput<C>): RepoExpirePlan<C> {
  const backups = planBackupRetention(input.backups, input.policy, input.nowMs)
  const oldestKept = backups.find((verdict) => verdict.action === 'keep')?.backup
  if (oldestKept === undefined) return {backups, wal_delete: [], wal_kept: input.wal.length, wal_floor: null}
  const floor = {timeline: oldestKept.timeline, index: oldestKept.checkpoint_lsn / input.segmentBytes}
  const before = `before segment ${floor.index} of timeline ${floor.timeline}, which holds the checkpoint of the oldest kept backup`
  const earlier = `timeline older than ${floor.timeline}, the oldest kept backup's`
  const walDelete = input.wal
    .filter((w) => w.timeline < floor.timeline || (w.timeline === floor.timeline && w.index < floor.index))
    .map((w) => ({...w, reason: w.timeline < floor.timeline ? earlier : before}))
  return {backups, wal_delete: walDelete, wal_kept: input.wal.length - walDelete.length, wal_floor: floor}
}
