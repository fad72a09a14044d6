import {compareUtf8} from '../codec/json.js'
import {U64_MAX} from '../codec/limits.js'
import {refused} from '../errors.js'
import {validateTimelineHistory} from '../format/timeline-history.js'
import type {InvalidationReason, ReplicaAck, TimelineHistory} from '../model.js'

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
export function selectPromotionCandidate<A extends ReplicaAck>(timeline: bigint, acks: A[]): A | null {
  const eligible = acks.filter((ack) => ack.timeline === timeline)
  return eligible.length === 0 ? null : [...eligible].sort(compareAcks)[0]
}

export type AckSource = 'slot-catalog' | 'relay-manifest' | 'legacy-store'

/** An ack with the file kind it was read from and, for a slot, why it was invalidated. */
export interface SourcedAck extends ReplicaAck {
  source: AckSource
  /** The file the ack was read from. */
  path: string
  invalidation_reason: InvalidationReason | null
}

/** One replica as a promotion candidate: its best ack, where that came from, and whether --auto may pick it. */
export interface CandidateRow extends ReplicaAck {
  /** Where the positions of this row come from (the replica's best ack). */
  position_source: AckSource
  /** Every ack found for the replica, one per source. */
  sources: SourcedAck[]
  eligible: boolean
  /** Why --auto may not pick it, as a key and in words; null when eligible. */
  ineligible: 'invalidated-slot' | 'other-timeline' | null
  ineligible_reason: string | null
  chosen: boolean
}

export interface CandidateInput {
  timeline: bigint
  acks: SourcedAck[]
  /** Count acks carrying another timeline as this one's (RedDB 1.12 stamps timeline 1 after a failover). */
  adoptCatalogTimeline: boolean
}

/**
 * One row per replica, merging its slot, relay manifest and legacy entries:
 * the row shows the replica's best ack by RedDB's order, so choosing among
 * rows picks what RedDB picks among all acks. A replica with an invalidated
 * slot lacks WAL it never received, and acks of another timeline are not
 * RedDB's candidates unless adopted: both stay in the table, ineligible.
 */
export function rankCandidates(input: CandidateInput): CandidateRow[] {
  const byReplica = new Map<string, SourcedAck[]>()
  for (const ack of input.acks) byReplica.set(ack.replica_id, [...(byReplica.get(ack.replica_id) ?? []), ack])
  const rows: CandidateRow[] = []
  for (const [replicaId, acks] of [...byReplica].sort(([a], [b]) => compareUtf8(a, b))) {
    const counted = acks.map((ack) => (input.adoptCatalogTimeline ? {...ack, timeline: input.timeline} : ack))
    const onTimeline = counted.filter((ack) => ack.timeline === input.timeline)
    const best = [...(onTimeline.length > 0 ? onTimeline : counted)].sort(compareAcks)[0]
    const invalidated = acks.find((ack) => ack.invalidation_reason !== null)
    let ineligible: CandidateRow['ineligible'] = null
    let reason: string | null = null
    if (invalidated) {
      ineligible = 'invalidated-slot'
      reason = `its slot is invalidated (${invalidated.invalidation_reason}, ${invalidated.source})`
    } else if (onTimeline.length === 0) {
      ineligible = 'other-timeline'
      reason = `its acks carry timeline ${best.timeline}, not ${input.timeline}`
    }
    const {source: positionSource, path: _path, invalidation_reason: _reason, ...positions} = best
    rows.push({...positions, replica_id: replicaId, position_source: positionSource, sources: acks, eligible: ineligible === null, ineligible, ineligible_reason: reason, chosen: false})
  }
  const chosen = selectPromotionCandidate(input.timeline, rows.filter((row) => row.eligible))
  for (const row of rows) row.chosen = row === chosen
  return rows
}

/** Why the chosen row wins, in words ("replica-a: …"); null when no replica is eligible. */
export function explainChoice(rows: CandidateRow[]): string | null {
  const chosen = rows.find((row) => row.chosen)
  if (!chosen) return null
  const rivals = rows.filter((row) => row.eligible && !row.chosen)
  if (rivals.length === 0) return `${chosen.replica_id}: the only eligible replica`
  const tied = rivals.filter((row) => row.applied_lsn === chosen.applied_lsn && row.flushed_lsn === chosen.flushed_lsn && row.received_lsn === chosen.received_lsn)
  if (tied.length > 0) return `${chosen.replica_id}: ties with ${tied.map((row) => row.replica_id).join(', ')} on (applied, flushed, received) and has the smaller id`
  return `${chosen.replica_id}: the highest (applied, flushed, received) = (${chosen.applied_lsn}, ${chosen.flushed_lsn}, ${chosen.received_lsn}) among the eligible replicas`
}
