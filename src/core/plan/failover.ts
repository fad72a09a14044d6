import {createHash} from 'node:crypto'

import {stringifyJson} from '../codec/json.js'
import {refused} from '../errors.js'
import type {FailoverNodeStep, FailoverStepDecision, NodePin} from '../format/failover-plan.js'
import {clusterCandidates, positionOf, type ClusterCandidateRow, type ClusterInput, type ClusterNodeReport} from './cluster.js'
import {planRejoin} from './rejoin.js'

/**
 * What a failover to each candidate costs and asks of the other nodes
 * (pure): the acknowledged LSNs the new timeline leaves out, and for every
 * other node RedDB's rejoin decision (plan/rejoin.ts) against the history
 * the candidate's promotion would write (behaviour.md "rejoin plan",
 * "A replica set across hosts"). Also the pins a saved failover plan keeps
 * of each node, and the comparison `failover apply` makes with them.
 */

export interface FailoverImpact {
  /** The node holding the candidate's relay log, and the replica id it promotes as. */
  candidate: string
  replica_id: string
  previous_timeline: bigint
  new_timeline: bigint
  /** The candidate's applied LSN: where the new timeline forks. */
  fork_lsn: bigint
  /** The highest applied LSN any replica acknowledged on the timeline (relay logs, and the primary's valid slots where reached), and who holds it. */
  best_known_lsn: bigint
  best_known_node: string
  /** best_known_lsn − fork_lsn, or 0: acknowledged writes the new timeline leaves out. */
  lost_lsn: bigint
  steps: FailoverNodeStep[]
}

type Reached = {name: string; state: ClusterNodeReport}

const reachedOf = (input: ClusterInput): Reached[] => input.flatMap((node) => (node.reached ? [{name: node.name, state: node.state}] : []))

/** The best acknowledged applied LSN: each replica's own relay log, and every valid slot of a reached primary on the timeline. */
function bestAcknowledged(input: ClusterInput, rows: ClusterCandidateRow[], timeline: bigint): {lsn: bigint; node: string} {
  let best = {lsn: 0n, node: ''}
  for (const row of rows) if (row.eligible && (best.node === '' || row.applied_lsn > best.lsn)) best = {lsn: row.applied_lsn, node: row.node}
  for (const node of reachedOf(input)) {
    if (node.state.role !== 'primary' || node.state.timeline !== timeline) continue
    for (const ack of node.state.acks) {
      if (ack.source !== 'slot-catalog' || ack.invalidation_reason !== null || ack.timeline !== timeline) continue
      if (best.node === '' || ack.applied_lsn > best.lsn) best = {lsn: ack.applied_lsn, node: `${node.name} (slot ${ack.replica_id})`}
    }
  }
  return best
}

/** The history the candidate's promotion writes: its own, plus timeline T+1 forking at its applied LSN (promoteHistory's rule). */
function promotedHistory(state: ClusterNodeReport, replicaId: string, forkLsn: bigint) {
  const entries = state.history.map((entry) => ({...entry, created_at_unix_ms: 0n}))
  const parent = entries.at(-1)!.timeline
  return {entries: [...entries, {timeline: parent + 1n, parent_timeline: parent, fork_lsn: forkLsn, created_at_unix_ms: 0n, reason: `promote ${replicaId}`}]}
}

function stepOf(node: ClusterInput[number], candidate: Reached, replicaId: string, forkLsn: bigint): FailoverNodeStep {
  const blank = {node: node.name, timeline: null, position_lsn: null, rewind_to_lsn: null, wal_needed_from_lsn: null, backup: null}
  if (!node.reached) return {...blank, decision: 'manual', reason: `unreachable (${node.reason}): decide its rejoin with rejoin plan once its host is back, before it starts`}
  const position = positionOf(node.name, node.state)
  if (position === null) return {...blank, timeline: node.state.timeline, decision: 'manual', reason: 'its position is unknown (no WAL head, no relay log): decide its rejoin by hand'}
  const history = promotedHistory(candidate.state, replicaId, forkLsn)
  const target = history.entries.at(-1)!.timeline
  // A promoted replica serves what its WAL holds; without WAL the view cannot tell, as cluster status says too.
  const available = candidate.state.oldest_wal_lsn
  const plan = planRejoin({history, nodeTimeline: node.state.timeline, nodeFlushedLsn: position, availableFromLsn: available ?? 0n})
  const at = {...blank, timeline: node.state.timeline, position_lsn: position}
  const rule = `RedDB's rejoin rule against ${candidate.name}'s history after the promotion`
  switch (plan.decision) {
    case 'rewind':
      return {...at, decision: 'rewind', rewind_to_lsn: plan.rejoin_rewind_to_lsn, wal_needed_from_lsn: plan.rejoin_rewind_to_lsn + 1n, reason: `its position ${position} is at or past the fork at ${forkLsn}: it must rewind to LSN ${forkLsn}, then follow timeline ${target} (${rule})`}
    case 'follow_new_timeline': {
      const source = available === null ? `; ${candidate.name} has no WAL yet, so whether it still holds LSN ${position + 1n} is not known here` : ''
      return {...at, decision: 'follow_new_timeline', wal_needed_from_lsn: position + 1n, reason: `its position ${position} is below the fork at ${forkLsn}: it follows timeline ${target} from LSN ${position}, needing WAL from LSN ${position + 1n} of ${candidate.name}${source} (${rule})`}
    }
    case 'reclone':
      return {...at, decision: 'reclone', backup: `a base backup of ${candidate.name} taken on timeline ${target}`, reason: `its timeline ${node.state.timeline} is not in the new history or the WAL it needs is gone: it is rebuilt from a base backup of ${candidate.name} taken on timeline ${target} (${rule})`}
    case 'already_current':
      return {...at, decision: 'already_current', reason: `already on timeline ${target} (${rule})`}
  }
}

/** The failover to `candidateNode` (a node holding a replica's relay log): the LSNs lost and each other node's step. */
export function failoverImpact(input: ClusterInput, candidateNode: string, rows = clusterCandidates(input, {adoptCatalogTimeline: false})): FailoverImpact {
  const row = rows.candidates.find((candidate) => candidate.node === candidateNode)
  const reached = reachedOf(input).find((node) => node.name === candidateNode)
  if (row === undefined || reached === undefined) {
    const known = rows.candidates.map((candidate) => candidate.node)
    throw refused(`node ${JSON.stringify(candidateNode)} is not a reached replica of the cluster (candidates: ${known.length > 0 ? known.join(', ') : 'none'})`, {code: 'failover.unknown-candidate'})
  }
  const timeline = reached.state.timeline
  const best = bestAcknowledged(input, rows.candidates, timeline)
  const fork = row.applied_lsn
  return {
    candidate: candidateNode,
    replica_id: row.replica_id,
    previous_timeline: timeline,
    new_timeline: timeline + 1n,
    fork_lsn: fork,
    best_known_lsn: best.lsn,
    best_known_node: best.node,
    lost_lsn: best.lsn > fork ? best.lsn - fork : 0n,
    steps: input.filter((node) => node.name !== candidateNode).map((node) => stepOf(node, reached, row.replica_id, fork)),
  }
}

export interface CandidateChoice {
  /** The node named with --candidate; RedDB's --auto choice otherwise. */
  candidate?: string
  adoptCatalogTimeline: boolean
  maxLagLsn?: bigint
  force: boolean
}

/** The failover to make: the named or auto-chosen candidate, refused as timeline promote refuses a lagging replica. */
export function chooseFailover(input: ClusterInput, choice: CandidateChoice): FailoverImpact & {selection: 'auto' | 'named'; auto_choice: string | null; forced: string | null} {
  const rows = clusterCandidates(input, {adoptCatalogTimeline: choice.adoptCatalogTimeline})
  let node = choice.candidate
  if (node === undefined) {
    const chosen = rows.candidates.find((row) => row.chosen)
    if (chosen === undefined) {
      const why = rows.candidates.map((row) => `${row.node} (${row.ineligible_reason})`).join('; ')
      throw refused(`no eligible replica to promote${why ? `: ${why}` : ': no replica reached'}`, {code: 'failover.no-candidate', hint: 'name one with --candidate'})
    }
    node = chosen.node
  }
  const impact = failoverImpact(input, node, rows)
  let forced: string | null = null
  if (impact.lost_lsn > (choice.maxLagLsn ?? 0n)) {
    const message = `${impact.best_known_node} acknowledged applying up to LSN ${impact.best_known_lsn}, past the fork at ${impact.fork_lsn} of ${node}: promoting ${node} throws away ${impact.lost_lsn} acknowledged LSNs (${impact.fork_lsn + 1n}..${impact.best_known_lsn})${choice.maxLagLsn ? `, more than the ${choice.maxLagLsn} allowed` : ''}`
    if (!choice.force) throw refused(message, {code: 'promote.behind-best-known', hint: `leave out --candidate to take RedDB's choice, or accept the loss with --max-lag-lsn ${impact.lost_lsn}`})
    forced = message
  }
  const row = rows.candidates.find((candidate) => candidate.node === node)!
  if (!row.eligible && !choice.force) {
    throw refused(`${node} is not eligible: ${row.ineligible_reason}`, {code: 'failover.ineligible', hint: 'pass --force if you accept what it lacks'})
  }
  return {...impact, selection: choice.candidate === undefined ? 'auto' : 'named', auto_choice: rows.auto_choice, forced}
}

/** What a saved plan keeps of a node, to tell at apply time whether the cluster is still the one planned for. */

export type {FailoverNodeStep, FailoverStepDecision, NodePin}

export function historyFingerprint(state: ClusterNodeReport): string {
  const entries = state.history.map((entry) => [entry.timeline, entry.parent_timeline, entry.fork_lsn, entry.reason])
  return createHash('sha256').update(stringifyJson(entries, 0)).digest('hex')
}

export function pinOf(node: ClusterInput[number]): NodePin {
  if (!node.reached) return {node: node.name, reached: false, role: null, timeline: null, position_lsn: null, history_fingerprint: null}
  return {node: node.name, reached: true, role: node.state.role, timeline: node.state.timeline, position_lsn: positionOf(node.name, node.state), history_fingerprint: historyFingerprint(node.state)}
}

/**
 * How the cluster differs from the pins, one line per difference; empty
 * when it is the same. `mayBeDown` is a node (the old primary) whose loss
 * since the plan is allowed; a node that was unreachable and answers now
 * is a difference, since nothing was planned from its position.
 */
export function pinChanges(pins: NodePin[], now: NodePin[], mayBeDown: string | null): string[] {
  const changes: string[] = []
  for (const pin of pins) {
    const current = now.find((node) => node.node === pin.node)
    if (current === undefined) {
      changes.push(`${pin.node} is no longer a node of the cluster`)
      continue
    }
    if (!current.reached) {
      if (pin.reached && pin.node !== mayBeDown) changes.push(`${pin.node} answered when planned and cannot be reached now`)
      continue
    }
    if (!pin.reached) {
      changes.push(`${pin.node} was unreachable when planned and answers now`)
      continue
    }
    for (const key of ['role', 'timeline', 'position_lsn', 'history_fingerprint'] as const) {
      if (pin[key] !== current[key]) changes.push(`${pin.node}: ${key} was ${String(pin[key])} when planned, is ${String(current[key])} now`)
    }
  }
  for (const node of now) if (!pins.some((pin) => pin.node === node.node)) changes.push(`${node.node} is a node of the cluster now and was not when planned`)
  return changes
}
