import {compareUtf8} from '../codec/json.js'
import {U64_MAX} from '../codec/limits.js'
import {refused} from '../errors.js'
import {validateTimelineHistory} from '../format/timeline-history.js'
import type {ReplicaAck, TimelineHistory} from '../model.js'

/** The history's initial entry, as a node without a history file implicitly has it. */
export function initialHistory(nowMs: bigint): TimelineHistory {
  return {entries: [{timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: nowMs, reason: 'initial'}]}
}

/**
 * Records a promotion (§3): a new timeline current + 1 forking at the
 * promoted replica's applied LSN. u64 arithmetic wraps as RedDB's does, so
 * promoting past timeline 2^64-1 is refused rather than silently accepted.
 */
export function promoteHistory(history: TimelineHistory | null, replicaId: string, appliedLsn: bigint, nowMs: bigint): TimelineHistory {
  const base = history ?? initialHistory(nowMs)
  const parent = base.entries.at(-1)!.timeline
  const timeline = parent === U64_MAX ? 0n : parent + 1n
  if (timeline <= parent) throw refused(`new timeline ${timeline} must be greater than parent ${parent}`)
  const next = {
    entries: [...base.entries, {timeline, parent_timeline: parent, fork_lsn: appliedLsn, created_at_unix_ms: nowMs, reason: `promote ${replicaId}`}],
  }
  validateTimelineHistory(next)
  return next
}

function compareAcks(a: ReplicaAck, b: ReplicaAck): number {
  for (const field of ['applied_lsn', 'flushed_lsn', 'received_lsn'] as const) {
    if (a[field] !== b[field]) return a[field] > b[field] ? -1 : 1
  }
  return compareUtf8(a.replica_id, b.replica_id)
}

/** RedDB's promotion candidate: among acks on `timeline`, the highest (applied, flushed, received); ties to the smaller id. */
export function selectPromotionCandidate(timeline: bigint, acks: ReplicaAck[]): ReplicaAck | null {
  const eligible = acks.filter((ack) => ack.timeline === timeline)
  return eligible.length === 0 ? null : eligible.sort(compareAcks)[0]
}
