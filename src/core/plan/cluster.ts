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
  /** @minItems 1 */
  history: Array<{timeline: bigint; parent_timeline: bigint | null; fork_lsn: bigint; reason: string}>
  wal_head_lsn: bigint | null
  /** The oldest LSN its WAL still serves on its current timeline; null without WAL. */
  oldest_wal_lsn: bigint | null
  acks: SourcedAck[]
  /**
   * The replica ids of the relay logs the layout holds on any timeline of its
   * history: who the node has been as a replica. A replica just promoted keeps
   * its relay log under its old timeline. Absent from an older redrepl's document.
   */
  relay_replica_ids?: string[]
  findings: Finding[]
  /** Pids of RedDB processes holding the node's data file (empty: not running); null when it cannot tell, or its redrepl does not say. */
  reddb_pids?: number[] | null
}

/** The node's state as this redrepl prints it: every field present (an older one may lack the optional ones). */
export type ClusterNodeDocument = ClusterNodeReport & Required<Pick<ClusterNodeReport, 'relay_replica_ids' | 'reddb_pids'>>

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

type Reached = {name: string; state: ClusterNodeReport}

/** A split brain between two nodes, in words, with both of them named. */
interface Conflict {
  nodes: [string, string]
  words: string
}

/** The first timeline the two histories record differently (another parent or fork point); null when they agree where both have entries. */
function firstDisagreement(a: ClusterNodeReport, b: ClusterNodeReport): {mine: ClusterNodeReport['history'][number]; theirs: ClusterNodeReport['history'][number]} | null {
  for (const mine of a.history) {
    const theirs = b.history.find((candidate) => candidate.timeline === mine.timeline)
    if (theirs === undefined || mine.parent_timeline === null) continue
    if (theirs.parent_timeline !== mine.parent_timeline || theirs.fork_lsn !== mine.fork_lsn) return {mine, theirs}
  }
  return null
}

/** Pairs of nodes whose histories give one timeline different parents or fork points: they promoted apart. */
function historyConflicts(reached: Reached[]): Conflict[] {
  const out: Conflict[] = []
  for (let i = 0; i < reached.length; i++) {
    for (let j = i + 1; j < reached.length; j++) {
      const a = reached[i]
      const b = reached[j]
      const found = firstDisagreement(a.state, b.state)
      if (found === null) continue
      const {mine: entry, theirs: other} = found
      out.push({
        nodes: [a.name, b.name],
        words: `${a.name} and ${b.name} record timeline ${entry.timeline} differently: ${a.name} forks it from ${entry.parent_timeline} at LSN ${entry.fork_lsn} (${entry.reason}), ${b.name} from ${other.parent_timeline} at LSN ${other.fork_lsn} (${other.reason})`,
      })
    }
  }
  return out
}

/**
 * How a node claims to write: a primary keeps a slot catalog on its
 * timeline; a replica just promoted has none yet, but its own history ends
 * with its promotion ("promote <its replica id>", format §3), which RedDB
 * records only on the node it promotes (behaviour.md, "A replica set across
 * hosts"). A node recloned from the new primary carries that entry too, but
 * under another replica id, so it is not taken for the writer.
 */
type Writer = {name: string; timeline: bigint; how: string}

function writerOf(node: Reached): Writer | null {
  const {state} = node
  if (state.role === 'primary') {
    const head = state.wal_head_lsn === null ? 'no WAL yet' : `WAL head ${state.wal_head_lsn}`
    return {name: node.name, timeline: state.timeline, how: `${node.name} writes as the primary of timeline ${state.timeline} (slot catalog, ${head})`}
  }
  const last = state.history.at(-1)
  if (last === undefined || last.parent_timeline === null || last.timeline !== state.timeline) return null
  const ids = new Set([node.name, ...(state.relay_replica_ids ?? []), ...state.acks.filter((ack) => ack.source === 'relay-manifest').map((ack) => ack.replica_id)])
  const promoted = [...ids].find((id) => last.reason === `promote ${id}`)
  if (promoted === undefined) return null
  return {name: node.name, timeline: state.timeline, how: `${node.name} was promoted to timeline ${state.timeline} at LSN ${last.fork_lsn} (${last.reason}; no slot catalog yet)`}
}

/**
 * Two writers on different timelines: the older one still writes though a
 * newer timeline forked from its line. Only nodes RedDB runs on write (the
 * node's `reddb_pids`: its flock on the data file, read on its host). Where the newer one's history holds
 * the fork from the older's timeline, the LSNs the older wrote past it are
 * named: writes the newer timeline does not have.
 */
function writerConflicts(reached: Reached[]): Conflict[] {
  const writers = reached.flatMap((node) => {
    // A node whose data file no RedDB process holds writes nothing, whatever its files say: a stopped former
    // primary is left behind a fork (its rejoin step says what comes next), not split brain. Unknown counts as running.
    if (node.state.reddb_pids !== undefined && node.state.reddb_pids !== null && node.state.reddb_pids.length === 0) return []
    const writer = writerOf(node)
    return writer === null ? [] : [{...writer, state: node.state}]
  })
  const out: Conflict[] = []
  for (let i = 0; i < writers.length; i++) {
    for (let j = i + 1; j < writers.length; j++) {
      const [older, newer] = writers[i].timeline <= writers[j].timeline ? [writers[i], writers[j]] : [writers[j], writers[i]]
      if (older.timeline === newer.timeline) continue
      const fork = newer.state.history.find((entry) => entry.parent_timeline === older.timeline)
      const head = older.state.wal_head_lsn
      const past = fork !== undefined && head !== null && head > fork.fork_lsn ? `; ${older.name} has ${head - fork.fork_lsn} LSNs past the fork at ${fork.fork_lsn} that timeline ${newer.timeline} does not have` : ''
      out.push({nodes: [older.name, newer.name], words: `two nodes write on different timelines: ${older.how}, while ${newer.how}${past}`})
    }
  }
  return out
}

/**
 * The node whose history the others are judged against: one on the newest
 * timeline, preferring one with WAL (the oldest LSN it serves is what a
 * node could follow from), then the furthest position, then file order.
 */
function referenceOf(reached: Reached[], newest: bigint): Reached {
  const onNewest = reached.filter((node) => node.state.timeline === newest)
  const rank = (node: Reached) => positionOf(node.name, node.state) ?? -1n
  return onNewest.reduce((best, node) => {
    const hasWal = (candidate: Reached) => candidate.state.oldest_wal_lsn !== null
    if (hasWal(node) !== hasWal(best)) return hasWal(node) ? node : best
    return rank(node) > rank(best) ? node : best
  })
}

/**
 * RedDB's rejoin rule (plan/rejoin.ts) for a node left behind a fork,
 * against the reference's history. A node whose own history records one of
 * its timelines differently is on a timeline that history does not hold,
 * which the rule answers with reclone.
 */
function rejoinOf(name: string, state: ClusterNodeReport, position: bigint | null, reference: Reached, newest: bigint): {decision: RejoinDecision | null; words: string} {
  const against = `by RedDB's rejoin rule against ${reference.name}'s history`
  const disagreement = firstDisagreement(state, reference.state)
  if (disagreement !== null) {
    const {mine, theirs} = disagreement
    return {decision: 'reclone', words: `if ${reference.name} is kept, it must be recloned from a backup of timeline ${newest}: its timeline ${mine.timeline} (forked at LSN ${mine.fork_lsn}) is not ${reference.name}'s (forked at LSN ${theirs.fork_lsn}) (${against})`}
  }
  if (name === reference.name || state.timeline === newest) return {decision: null, words: ''}
  if (position === null) return {decision: null, words: 'it must rejoin; its position is unknown (no WAL head, no relay log)'}
  const history = {entries: reference.state.history.map((entry) => ({...entry, created_at_unix_ms: 0n}))}
  const plan = planRejoin({history, nodeTimeline: state.timeline, nodeFlushedLsn: position, availableFromLsn: reference.state.oldest_wal_lsn ?? 0n})
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
  const conflicts = [...writerConflicts(reached), ...historyConflicts(reached)]
  const splitBrain = conflicts.map((conflict) => conflict.words)
  const reference = newest === null ? null : referenceOf(reached, newest)

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
    const decided = rejoinOf(node.name, state, position, reference!, newest!)
    if (decided.decision !== null || !onNewest) {
      rejoin = decided.decision
      problems.push(onNewest ? `on a timeline ${newest} of its own: ${decided.words}` : `on timeline ${state.timeline}, behind the newest timeline ${newest}: ${decided.words}`)
      states.push('WARNING')
    }
    for (const conflict of conflicts) {
      if (!conflict.nodes.includes(node.name)) continue
      problems.push(`split brain with ${conflict.nodes.find((other) => other !== node.name)}`)
      states.push('CRITICAL')
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
