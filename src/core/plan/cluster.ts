import type {Finding} from '../findings.js'
import {planRejoin, type RejoinDecision} from './rejoin.js'
import {explainChoice, rankCandidates, type CandidateRow, type SourcedAck} from './promotion.js'

/**
 * The replica set as one view, from each node's own state (pure): every
 * node's position and lag against the best known position, split brain,
 * nodes left behind a fork, and the promotion candidates as RedDB ranks them
 * (plan/promotion.ts) from the replicas' own relay logs (behaviour.md, "A
 * replica set across hosts").
 */

/** One node's own state, as `cluster node --json` prints it. */
export type NodeRole = 'primary' | 'replica' | 'unknown'

export interface ClusterNodeReport {
  data_path: string
  /** primary: a slot catalog on its current timeline (a RedDB primary keeps one slot per replica); replica: a relay log and no slot catalog. */
  role: NodeRole
  timeline: bigint
  history: Array<{timeline: bigint; parent_timeline: bigint | null; fork_lsn: bigint; reason: string}>
  wal_head_lsn: bigint | null
  /** The oldest LSN its WAL still serves on its current timeline; null without WAL. */
  oldest_wal_lsn: bigint | null
  acks: SourcedAck[]
  findings: Finding[]
  /** Pids of RedDB processes holding the node's data file (empty: not running); null when it cannot tell, or its redrepl does not say. */
  reddb_pids?: number[] | null
}

export type ClusterState = 'OK' | 'WARNING' | 'CRITICAL'

/** A node as reached (or not) through its transport. */
export type ClusterInput = Array<{name: string; host: string | null} & ({reached: true; state: ClusterNodeReport} | {reached: false; reason: string})>

export interface ClusterNodeRow {
  name: string
  host: string | null
  reached: boolean
  /** Why the node could not be read; null when it was. */
  unreachable_reason: string | null
  role: NodeRole | null
  timeline: bigint | null
  wal_head_lsn: bigint | null
  /** A replica's own relay log: how far it flushed and applied. */
  relay_flushed_lsn: bigint | null
  relay_applied_lsn: bigint | null
  /** The WAL head of a primary, the relay flushed LSN of a replica. */
  position_lsn: bigint | null
  /** best_known_lsn − position_lsn on the newest timeline; null elsewhere or unknown. */
  lag_lsn: bigint | null
  /** For a node on an older timeline: RedDB's rejoin decision against the newest timeline's history and WAL; null otherwise. */
  rejoin: RejoinDecision | null
  state: ClusterState
  /** What is wrong with this node in words, one per problem. */
  problems: string[]
  findings: Finding[]
}

export interface ClusterStatus {
  status: ClusterState
  newest_timeline: bigint | null
  best_known_lsn: bigint | null
  best_known_node: string | null
  /** Each way the nodes disagree on who writes or what the history is; empty when they agree. */
  split_brain: string[]
  nodes: ClusterNodeRow[]
}

const RANK: Record<ClusterState, number> = {OK: 0, WARNING: 1, CRITICAL: 2}
const worst = (states: ClusterState[]): ClusterState => states.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'OK' as ClusterState)

/** The relay-manifest ack a replica node keeps of itself: the one named like the node, else its furthest. */
function ownRelayAck(name: string, state: ClusterNodeReport): SourcedAck | null {
  const relays = state.acks.filter((ack) => ack.source === 'relay-manifest')
  return relays.find((ack) => ack.replica_id === name) ?? relays.sort((a, b) => (a.flushed_lsn === b.flushed_lsn ? 0 : a.flushed_lsn > b.flushed_lsn ? -1 : 1))[0] ?? null
}

/** A node's position: the WAL head of a primary, its own relay flushed LSN for a replica. */
export function positionOf(name: string, state: ClusterNodeReport): bigint | null {
  if (state.role === 'replica') return ownRelayAck(name, state)?.flushed_lsn ?? null
  return state.wal_head_lsn
}

/** Pairs of nodes whose histories give one timeline different parents or fork points: they promoted apart. */
function historyConflicts(reached: Array<{name: string; state: ClusterNodeReport}>): string[] {
  const out: string[] = []
  for (let i = 0; i < reached.length; i++) {
    for (let j = i + 1; j < reached.length; j++) {
      const a = reached[i]
      const b = reached[j]
      for (const entry of a.state.history) {
        const other = b.state.history.find((candidate) => candidate.timeline === entry.timeline)
        if (other === undefined || entry.parent_timeline === null) continue
        if (other.parent_timeline !== entry.parent_timeline || other.fork_lsn !== entry.fork_lsn) {
          out.push(`${a.name} and ${b.name} record timeline ${entry.timeline} differently: ${a.name} forks it from ${entry.parent_timeline} at LSN ${entry.fork_lsn} (${entry.reason}), ${b.name} from ${other.parent_timeline} at LSN ${other.fork_lsn} (${other.reason})`)
        }
      }
    }
  }
  return out
}

/**
 * RedDB's rejoin rule (plan/rejoin.ts) for a node left behind a fork,
 * against the history of a node on the newest timeline, preferring one with
 * WAL (the oldest LSN it serves is what the node could follow from).
 */
function rejoinOf(state: ClusterNodeReport, position: bigint | null, reached: Array<{name: string; state: ClusterNodeReport}>, newest: bigint): {decision: RejoinDecision | null; words: string} {
  const onNewest = reached.filter((node) => node.state.timeline === newest)
  const reference = onNewest.find((node) => node.state.oldest_wal_lsn !== null) ?? onNewest[0]
  if (position === null) return {decision: null, words: 'it must rejoin; its position is unknown (no WAL head, no relay log)'}
  const history = {entries: reference.state.history.map((entry) => ({...entry, created_at_unix_ms: 0n}))}
  const plan = planRejoin({history, nodeTimeline: state.timeline, nodeFlushedLsn: position, availableFromLsn: reference.state.oldest_wal_lsn ?? 0n})
  const against = `by RedDB's rejoin rule against ${reference.name}'s history`
  if (plan.decision === 'rewind') return {decision: 'rewind', words: `it must rewind to LSN ${plan.rewind_to_lsn} before following timeline ${newest} (${against})`}
  if (plan.decision === 'reclone') return {decision: 'reclone', words: `it must be recloned from a backup of timeline ${newest} (${against})`}
  if (plan.decision === 'follow_new_timeline' && reference.state.oldest_wal_lsn === null) {
    return {decision: 'follow_new_timeline', words: `it can follow timeline ${newest} from LSN ${position} once ${reference.name} has written WAL (${against})`}
  }
  return {decision: plan.decision, words: `it can follow timeline ${newest} from LSN ${position} (${against})`}
}

export interface StatusThresholds {
  warningLagLsn?: bigint
  criticalLagLsn?: bigint
}

export function clusterStatus(input: ClusterInput, thresholds: StatusThresholds = {}): ClusterStatus {
  const reached = input.flatMap((node) => (node.reached ? [{name: node.name, state: node.state}] : []))
  const newest = reached.length === 0 ? null : reached.map((node) => node.state.timeline).reduce((a, b) => (b > a ? b : a))
  let best: {lsn: bigint; node: string} | null = null
  for (const node of reached) {
    const position = positionOf(node.name, node.state)
    if (node.state.timeline === newest && position !== null && (best === null || position > best.lsn)) best = {lsn: position, node: node.name}
  }
  const writers = reached.filter((node) => node.state.role === 'primary')
  const splitBrain: string[] = []
  const writerTimelines = [...new Set(writers.map((node) => node.state.timeline))]
  if (writerTimelines.length > 1) {
    splitBrain.push(`nodes write on different timelines: ${writers.map((node) => `${node.name} on timeline ${node.state.timeline}`).join(', ')}`)
  }
  splitBrain.push(...historyConflicts(reached))

  const rows: ClusterNodeRow[] = input.map((node) => {
    if (!node.reached) {
      return {name: node.name, host: node.host, reached: false, unreachable_reason: node.reason, role: null, timeline: null, wal_head_lsn: null, relay_flushed_lsn: null, relay_applied_lsn: null, position_lsn: null, lag_lsn: null, rejoin: null, state: 'WARNING', problems: [`unreachable: ${node.reason}`], findings: []}
    }
    const {state} = node
    const relay = state.role === 'replica' ? ownRelayAck(node.name, state) : null
    const position = positionOf(node.name, state)
    const onNewest = state.timeline === newest
    const lag = onNewest && position !== null && best !== null ? (best.lsn > position ? best.lsn - position : 0n) : null
    const problems: string[] = []
    const states: ClusterState[] = []
    let rejoin: RejoinDecision | null = null
    if (!onNewest) {
      const decided = rejoinOf(state, position, reached, newest!)
      rejoin = decided.decision
      problems.push(`on timeline ${state.timeline}, behind the newest timeline ${newest}: ${decided.words}`)
      states.push('WARNING')
    }
    if (lag !== null && thresholds.criticalLagLsn !== undefined && lag > thresholds.criticalLagLsn) {
      problems.push(`lags ${lag} LSNs behind ${best!.node}, more than ${thresholds.criticalLagLsn}`)
      states.push('CRITICAL')
    } else if (lag !== null && thresholds.warningLagLsn !== undefined && lag > thresholds.warningLagLsn) {
      problems.push(`lags ${lag} LSNs behind ${best!.node}, more than ${thresholds.warningLagLsn}`)
      states.push('WARNING')
    }
    for (const found of state.findings) {
      if (found.severity === 'note') continue
      problems.push(`[${found.code}] ${found.path}: ${found.message}`)
      states.push(found.severity === 'error' ? 'CRITICAL' : 'WARNING')
    }
    if (splitBrain.length > 0 && state.role === 'primary') states.push('CRITICAL')
    return {
      name: node.name,
      host: node.host,
      reached: true,
      unreachable_reason: null,
      role: state.role,
      timeline: state.timeline,
      wal_head_lsn: state.wal_head_lsn,
      relay_flushed_lsn: relay?.flushed_lsn ?? null,
      relay_applied_lsn: relay?.applied_lsn ?? null,
      position_lsn: position,
      lag_lsn: lag,
      rejoin,
      state: worst(states),
      problems,
      findings: state.findings,
    }
  })
  const status = reached.length === 0 ? 'CRITICAL' : worst([...rows.map((row) => row.state), splitBrain.length > 0 ? 'CRITICAL' : 'OK'])
  return {status, newest_timeline: newest, best_known_lsn: best?.lsn ?? null, best_known_node: best?.node ?? null, split_brain: splitBrain, nodes: rows}
}

export interface ClusterCandidateRow extends CandidateRow {
  /** The node whose layout holds this replica's relay log. */
  node: string
  /** The primary's slot for the replica against the replica's own relay log; null when no reachable primary has a slot for it. */
  cross_check: string | null
}

export interface ClusterCandidates {
  timeline: bigint | null
  auto_choice: string | null
  catalog_timeline_adopted: boolean
  /** Whether a primary's slots were there to cross-check against. */
  primary_reached: boolean
  candidates: ClusterCandidateRow[]
}

/**
 * The candidates from the replicas' own relay logs, ranked by RedDB's rule
 * (rankCandidates) on the newest timeline any reached node is on; the
 * primary's slots, where reachable, only cross-check them, so the answer is
 * the same with the primary's host gone.
 */
export function clusterCandidates(input: ClusterInput, options: {adoptCatalogTimeline: boolean}): ClusterCandidates {
  const reached = input.flatMap((node) => (node.reached ? [{name: node.name, state: node.state}] : []))
  if (reached.length === 0) return {timeline: null, auto_choice: null, catalog_timeline_adopted: false, primary_reached: false, candidates: []}
  const timeline = reached.map((node) => node.state.timeline).reduce((a, b) => (b > a ? b : a))
  const holder = new Map<string, string>()
  const acks: SourcedAck[] = []
  for (const node of reached) {
    if (node.state.role !== 'replica') continue
    for (const ack of node.state.acks) {
      if (ack.source !== 'relay-manifest' || holder.has(ack.replica_id)) continue
      holder.set(ack.replica_id, node.name)
      acks.push(ack)
    }
  }
  const primaries = reached.filter((node) => node.state.role === 'primary')
  const slots = primaries.flatMap((node) => node.state.acks.filter((ack) => ack.source === 'slot-catalog').map((ack) => ({node: node.name, ack})))
  const rows = rankCandidates({timeline, acks, adoptCatalogTimeline: options.adoptCatalogTimeline})
  return {
    timeline,
    auto_choice: explainChoice(rows),
    catalog_timeline_adopted: options.adoptCatalogTimeline === true && acks.some((ack) => ack.timeline !== timeline),
    primary_reached: primaries.length > 0,
    candidates: rows.map((row) => {
      const slot = slots.find((entry) => entry.ack.replica_id === row.replica_id)
      let crossCheck: string | null = null
      if (slot !== undefined) {
        const own = row.sources[0]
        crossCheck =
          slot.ack.applied_lsn === own.applied_lsn && slot.ack.flushed_lsn === own.flushed_lsn
            ? `agrees with ${slot.node}'s slot`
            : `${slot.node}'s slot says applied ${slot.ack.applied_lsn}, flushed ${slot.ack.flushed_lsn}; the relay log says applied ${own.applied_lsn}, flushed ${own.flushed_lsn}`
        if (slot.ack.invalidation_reason !== null) crossCheck += `; the slot is invalidated (${slot.ack.invalidation_reason})`
      }
      return {...row, node: holder.get(row.replica_id)!, cross_check: crossCheck}
    }),
  }
}
