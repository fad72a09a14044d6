import {clusterNodes, type InventoryNode} from '../../config/inventory.js'
import {loadConfig} from '../../config/load-config.js'
import {usageError} from '../../errors.js'
import {clusterCandidates, clusterStatus, type ClusterCandidates, type ClusterInput, type ClusterStatus, type StatusThresholds} from '../../plan/cluster.js'
import {lastSeen} from '../../plan/cluster-seen.js'
import {failoverImpact, type FailoverNodeStep} from '../../plan/failover.js'
import {reachNodes, type ReachOptions} from './reach.js'
import {readSeenTimes, seenFilePath, writeSeenTimes} from './seen.js'

/**
 * `cluster status` and `cluster candidates`: the nodes of one cluster from
 * the config file's inventory, each read through its transport, then one
 * view decided by plan/cluster.ts.
 */

export interface ClusterOptions extends ReachOptions {
  configPath: string | undefined
  cluster: string | undefined
}

/** The cluster's nodes as the inventory lists them, each read through its transport. */
export async function readCluster(options: ClusterOptions): Promise<{cluster: string; nodes: InventoryNode[]; input: ClusterInput}> {
  const config = await loadConfig(options.configPath)
  if (config === null) throw usageError('no config file: the cluster commands read the nodes from its [node.NAME] sections', {hint: 'pass --config FILE'})
  const nodes = clusterNodes(config, options.cluster)
  const reached = await reachNodes(nodes, options)
  return {cluster: nodes[0].cluster, nodes, input: nodes.map((node, i) => ({...reached[i], host: node.host}))}
}

export type ClusterStatusRow = ClusterStatus['nodes'][number] & {
  /** This run's time for a node that answered, the last time a previous run saw it for one that did not; null when never seen. */
  last_seen_unix_ms: bigint | null
}

export type ClusterStatusReport = {cluster: string; checked_at_unix_ms: bigint; state_file_path: string} & Omit<ClusterStatus, 'nodes'> & {nodes: ClusterStatusRow[]}

export interface StatusOptions extends ClusterOptions, StatusThresholds {
  /** Where the per-cluster state file (when each node was last seen) lives. */
  stateDir: string
  nowMs: bigint
}

export async function readClusterStatus(options: StatusOptions): Promise<ClusterStatusReport> {
  const {cluster, input} = await readCluster(options)
  // The cluster's name, and so its state file, is known once the config is read.
  const stateFile = seenFilePath(options.stateDir, cluster)
  const previous = await readSeenTimes(stateFile, cluster)
  const status = clusterStatus(input, options)
  const seen = lastSeen(status.nodes, previous, options.nowMs)
  if (seen.changed) await writeSeenTimes(stateFile, cluster, seen.next)
  const nodes = status.nodes.map((row, i) => ({...row, last_seen_unix_ms: seen.last_seen_unix_ms[i]}))
  return {cluster, checked_at_unix_ms: options.nowMs, state_file_path: stateFile, ...status, nodes}
}

/** Each candidate with what promoting it costs (plan/failover.ts): the acknowledged LSNs lost and every other node's step. */
export type ClusterCandidateImpactRow = ClusterCandidates['candidates'][number] & {lost_lsn: bigint; failover_steps: FailoverNodeStep[]}

export type ClusterCandidatesReport = {cluster: string; unreachable: Array<{name: string; reason: string}>} & Omit<ClusterCandidates, 'candidates'> & {candidates: ClusterCandidateImpactRow[]}

export async function readClusterCandidates(options: ClusterOptions & {adoptCatalogTimeline: boolean}): Promise<ClusterCandidatesReport> {
  const {cluster, input} = await readCluster(options)
  const unreachable = input.flatMap((node) => (node.reached ? [] : [{name: node.name, reason: node.reason}]))
  const ranked = clusterCandidates(input, options)
  const candidates = ranked.candidates.map((row) => {
    const impact = failoverImpact(input, row.node, ranked)
    return {...row, lost_lsn: impact.lost_lsn, failover_steps: impact.steps}
  })
  return {cluster, unreachable, ...ranked, candidates}
}
