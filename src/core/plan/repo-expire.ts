import {formatDuration} from '../units.js'
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

/** How old an unreferenced object must be before `repo expire` collects it, unless told otherwise. */
export const DEFAULT_ORPHAN_GRACE_MS = 24n * 60n * 60n * 1000n

/** An object in a backup's area of the repository that no manifest names. */
export interface OrphanCandidate {
  key: string
  size: bigint
  modified_unix_ms: bigint
}

export interface OrphanPlan {
  /** Older than the grace period: a push or expire cut short left them, and none is still writing them. */
  delete: Array<OrphanCandidate & {reason: string}>
  /** Younger: possibly the chunks of a push whose manifest is still to come. */
  young: number
}

/**
 * Which unreferenced objects `repo expire` collects: those written longer
 * ago than `graceMs`. A push writes a backup's chunks before its manifest,
 * so for a while every chunk of a push in progress is unreferenced; the
 * grace period is what keeps them.
 */
export function planOrphans(candidates: OrphanCandidate[], nowMs: bigint, graceMs: bigint): OrphanPlan {
  const reason = `no manifest names it, and it was written more than ${formatDuration(graceMs)} ago`
  const plan: OrphanPlan = {delete: [], young: 0}
  for (const candidate of candidates) {
    if (nowMs - candidate.modified_unix_ms > graceMs) plan.delete.push({...candidate, reason})
    else plan.young++
  }
  return plan
}

/**
 * The objects under a node's basebackup areas (`<node>/timeline-T/basebackup/…`)
 * that are neither a manifest nor a chunk a manifest names: what an
 * interrupted push or expire leaves. `referenced` holds the chunk keys
 * every listed manifest names.
 */
export function orphanCandidates(objects: Iterable<{key: string; size: bigint; modified_unix_ms: bigint}>, basebackupArea: (key: string) => boolean, isManifest: (key: string) => boolean, referenced: ReadonlySet<string>): OrphanCandidate[] {
  const found: OrphanCandidate[] = []
  for (const object of objects) {
    if (!basebackupArea(object.key) || isManifest(object.key) || referenced.has(object.key)) continue
    found.push({key: object.key, size: object.size, modified_unix_ms: object.modified_unix_ms})
  }
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}
