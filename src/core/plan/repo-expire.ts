import {formatDuration} from '../units.js'
import type {TimelineEntry} from '../model.js'
import {planBackupRetention, type BackupRetentionPolicy, type BackupVerdict, type RetentionCandidate} from './backup-retention.js'
import {segmentOf, walStretches} from './repo-wal.js'

/**
 * What `repo expire` deletes: backups by the retention policy (the newest
 * usable one always kept), and the WAL that only deleted backups needed.
 * Every kept backup keeps, on each timeline of its path to the current one,
 * every segment from the one it starts replaying there (its checkpoint's,
 * then each fork LSN's) on (plan/repo-wal.ts `walStretches`); a segment no
 * kept backup's path reaches that far is deleted. A kept backup off the
 * current timeline's path keeps everything of its timeline from its
 * checkpoint's segment on and every later timeline. With no backup kept, no
 * WAL is deleted. LSNs map to segments by the repository's segment size.
 */

/** A WAL object of the repository; the plan hands each one it deletes back whole, with its reason. */
export interface RepoExpireWal {
  key: string
  timeline: bigint
  index: bigint
}

export interface RepoExpireInput<C extends RetentionCandidate, W extends RepoExpireWal = RepoExpireWal> {
  backups: C[]
  wal: W[]
  policy: BackupRetentionPolicy
  nowMs: bigint
  /** From the repository's facts; null when no member ever had a segment past 0. */
  segmentBytes: bigint | null
  /** The replica set's timeline history (empty: timeline 1 only). */
  history: readonly TimelineEntry[]
}

export interface RepoExpirePlan<C extends RetentionCandidate, W extends RepoExpireWal = RepoExpireWal> {
  backups: Array<BackupVerdict<C>>
  wal_delete: Array<W & {reason: string}>
  wal_kept: number
  wal_floor: {timeline: bigint; index: bigint} | null
}

export function planRepoExpire<C extends RetentionCandidate, W extends RepoExpireWal>(input: RepoExpireInput<C, W>): RepoExpirePlan<C, W> {
  const backups = planBackupRetention(input.backups, input.policy, input.nowMs)
  const kept = backups.filter((verdict) => verdict.action === 'keep').map((verdict) => verdict.backup)
  const oldestKept = kept[0]
  if (oldestKept === undefined) return {backups, wal_delete: [], wal_kept: input.wal.length, wal_floor: null}
  // Per timeline, the lowest segment a kept backup replays from there.
  const floors = new Map<bigint, bigint>()
  const lower = (timeline: bigint, index: bigint) => {
    const known = floors.get(timeline)
    if (known === undefined || index < known) floors.set(timeline, index)
  }
  for (const backup of kept) {
    const stretches = walStretches(input.history, backup.timeline, backup.checkpoint_lsn, input.segmentBytes)
    if (stretches !== null) {
      for (const stretch of stretches) lower(stretch.timeline, stretch.first_index)
      continue
    }
    // Off the path: nothing tells which later WAL it could use, so all of it stays.
    lower(backup.timeline, segmentOf(backup.checkpoint_lsn, input.segmentBytes))
    for (const {timeline} of input.wal) if (timeline > backup.timeline) lower(timeline, 0n)
  }
  const walDelete = input.wal.flatMap((w) => {
    const floor = floors.get(w.timeline)
    if (floor === undefined) return [{...w, reason: `no kept backup replays WAL of timeline ${w.timeline}`}]
    if (w.index < floor) return [{...w, reason: `before segment ${floor} of timeline ${w.timeline}, the first a kept backup replays there`}]
    return []
  })
  const floor = {timeline: oldestKept.timeline, index: segmentOf(oldestKept.checkpoint_lsn, input.segmentBytes)}
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
