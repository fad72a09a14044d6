import type {FailoverNodeStep} from '../core/plan/failover.js'
import {renderTable} from './table.js'

/** One node's failover step in a few words, for tables ("p: rewind to 9437187"). */
export function stepBrief(step: FailoverNodeStep): string {
  switch (step.decision) {
    case 'rewind':
      return `${step.node}: rewind to ${step.rewind_to_lsn}`
    case 'follow_new_timeline':
      return `${step.node}: follow from ${step.position_lsn}`
    case 'reclone':
      return `${step.node}: reclone`
    case 'already_current':
      return `${step.node}: current`
    case 'manual':
      return `${step.node}: manual`
  }
}

/** What promoting each candidate costs: the acknowledged LSNs lost and every other node's step. */
export function impactTable(rows: Array<{node: string; replica_id: string; lost_lsn: bigint; failover_steps: FailoverNodeStep[]}>): string {
  return renderTable(
    ['if promoted', 'lsns lost', 'then'],
    rows.map((row) => [`${row.node} (${row.replica_id})`, row.lost_lsn, row.failover_steps.map(stepBrief).join('; ') || null]),
  )
}

/** Each step with its reason, one line per node. */
export function stepLines(steps: FailoverNodeStep[]): string[] {
  return steps.map((step) => `${stepBrief(step)}: ${step.reason}`)
}

/** A failover plan for a person: the promotion, then each other node's step. */
export function planLines(plan: {cluster: string; candidate: string; replica_id: string; previous_timeline: bigint; new_timeline: bigint; fork_lsn: bigint; lost_lsn: bigint; old_primaries: string[]; steps: FailoverNodeStep[]}): string[] {
  const lost = plan.lost_lsn > 0n ? `, throwing away ${plan.lost_lsn} acknowledged LSNs` : ', losing no acknowledged LSN'
  return [
    `cluster ${plan.cluster}: promote ${plan.candidate} (replica ${plan.replica_id}) to timeline ${plan.new_timeline} at LSN ${plan.fork_lsn}, forking from timeline ${plan.previous_timeline}${lost}`,
    `old primary, checked stopped before the promotion: ${plan.old_primaries.length > 0 ? plan.old_primaries.join(', ') : 'none known'}`,
    ...stepLines(plan.steps),
  ]
}
