import {clusterNodes} from '../config/inventory.js'
import {loadConfig} from '../config/load-config.js'
import {usageError} from '../errors.js'
import {clusterCandidates, clusterStatus, type ClusterCandidates, type ClusterInput, type ClusterStatus, type StatusThresholds} from '../plan/cluster.js'
import {reachNodes, type ReachOptions} from './cluster-reach.js'

/**
 * `cluster status` and `cluster candidates`: the nodes of one cluster from
 * the config file's inventory, each read through its transport, then one
 * view decided by plan/cluster.ts.
 */

export interface ClusterOptions extends ReachOptions {
  configPath: string | undefined
  cluster: string | undefined
}

async function readCluster(options: ClusterOptions): Promise<{cluster: string; input: ClusterInput}> {
  const config = await loadConfig(options.configPath)
  if (config === null) throw usageError('no config file: the cluster commands read the nodes from its [node.NAME] sections', {hint: 'pass --config FILE'})
  const nodes = clusterNodes(config, options.cluster)
  const reached = await reachNodes(nodes, options)
  return {cluster: nodes[0].cluster, input: nodes.map((node, i) => ({...reached[i], host: node.host}))}
}

export type ClusterStatusReport = {cluster: string} & ClusterStatus

export async function readClusterStatus(options: ClusterOptions & StatusThresholds): Promise<ClusterStatusReport> {
  const {cluster, input} = await readCluster(options)
  return {cluster, ...clusterStatus(input, options)}
}

export type ClusterCandidatesReport = {cluster: string; unreachable: Array<{name: string; reason: string}>} & ClusterCandidates

export async function readClusterCandidates(options: ClusterOptions & {adoptCatalogTimeline: boolean}): Promise<ClusterCandidatesReport> {
  const {cluster, input} = await readCluster(options)
  const unreachable = input.flatMap((node) => (node.reached ? [] : [{name: node.name, reason: node.reason}]))
  return {cluster, unreachable, ...clusterCandidates(input, options)}
}
