import type {TimelineHistory} from '../model.js'

export type RejoinDecision = 'already_current' | 'follow_new_timeline' | 'rewind' | 'reclone'
export type RejoinState = 'timeline_current' | 'rejoin_follow_wal' | 'rejoin_rewind_required' | 'reclone_required'

export interface RejoinInput {
  history: TimelineHistory
  nodeTimeline: bigint
  nodeFlushedLsn: bigint
  availableFromLsn: bigint
}

export interface RejoinPlan {
  decision: RejoinDecision
  target_timeline?: bigint
  start_lsn?: bigint
  rewind_to_lsn?: bigint
  state: RejoinState
  rejoin_node_timeline: bigint
  rejoin_node_flushed_lsn: bigint
  rejoin_available_from_lsn: bigint
  rejoin_target_timeline: bigint
  rejoin_rewind_to_lsn: bigint
  rejoin_start_lsn: bigint
}

/** RedDB's rejoin rule for an old node after a failover (behaviour.md "rejoin plan"). */
export function planRejoin(input: RejoinInput): RejoinPlan {
  const entries = input.history.entries
  const current = entries.at(-1)?.timeline ?? 1n
  const echo = {
    rejoin_node_timeline: input.nodeTimeline,
    rejoin_node_flushed_lsn: input.nodeFlushedLsn,
    rejoin_available_from_lsn: input.availableFromLsn,
  }
  if (input.nodeTimeline === current) {
    return {decision: 'already_current', state: 'timeline_current', ...echo, rejoin_target_timeline: input.nodeTimeline, rejoin_rewind_to_lsn: 0n, rejoin_start_lsn: input.nodeFlushedLsn}
  }
  const position = entries.findIndex((entry) => entry.timeline === input.nodeTimeline)
  const next = position < 0 ? undefined : entries[position + 1]
  if (next === undefined) return reclone(echo)
  if (input.nodeFlushedLsn >= next.fork_lsn) {
    return {decision: 'rewind', target_timeline: current, rewind_to_lsn: next.fork_lsn, state: 'rejoin_rewind_required', ...echo, rejoin_target_timeline: current, rejoin_rewind_to_lsn: next.fork_lsn, rejoin_start_lsn: 0n}
  }
  if (input.nodeFlushedLsn >= input.availableFromLsn) {
    return {decision: 'follow_new_timeline', target_timeline: current, start_lsn: input.nodeFlushedLsn, state: 'rejoin_follow_wal', ...echo, rejoin_target_timeline: current, rejoin_rewind_to_lsn: 0n, rejoin_start_lsn: input.nodeFlushedLsn}
  }
  return reclone(echo)
}

function reclone(echo: Pick<RejoinPlan, 'rejoin_node_timeline' | 'rejoin_node_flushed_lsn' | 'rejoin_available_from_lsn'>): RejoinPlan {
  return {decision: 'reclone', state: 'reclone_required', ...echo, rejoin_target_timeline: 0n, rejoin_rewind_to_lsn: 0n, rejoin_start_lsn: 0n}
}
