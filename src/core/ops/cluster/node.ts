import type {Layout} from '../../layout.js'
import type {ClusterNodeDocument, ClusterNodeReport} from '../../plan/cluster.js'

export type {ClusterNodeDocument, ClusterNodeReport}
import {listRelayReplicas, listWalSegments, readHistory, readOldestAvailableLsn, readWalHead} from '../node/state.js'
import {verifyLayout} from '../layout/verify.js'
import {readReplicaAcks} from '../node/replicas.js'
import {currentTimeline} from '../../format/timeline-history.js'
import {liveNodePids} from '../../fs/live-node.js'

/**
 * One node's replication state as `cluster status` and `cluster candidates`
 * read it through the node's transport: its history, WAL head, the acks its
 * own layout holds (relay manifests: its own word on how far it got; slot
 * catalog: the primary's view of its replicas), the replica ids of the relay
 * logs it holds on any timeline (who it has been as a replica), the
 * findings of a quick `layout verify`, and whether a RedDB process runs on
 * it (its flock on the data file: the live-node guard `failover apply` runs
 * on the old primary's host). Reads only.
 */

export async function readClusterNode(layout: Layout, options: {dataPath: string; nowMs: bigint}): Promise<ClusterNodeDocument> {
  const history = await readHistory(layout)
  const timeline = currentTimeline(history)
  const found = await readReplicaAcks(layout, options.dataPath, timeline, options.nowMs)
  const hasCatalog = found.acks.some((ack) => ack.source === 'slot-catalog')
  const hasRelay = found.relay_dirs.length > 0
  const segments = await listWalSegments(layout, timeline)
  const verify = await verifyLayout(options.dataPath, options.nowMs, {deep: false})
  const relayIds = new Set<string>()
  for (const entry of history?.entries ?? []) for (const id of await listRelayReplicas(layout, entry.timeline)) relayIds.add(id)
  if (history === undefined) for (const id of found.relay_dirs) relayIds.add(id)
  return {
    data_path: options.dataPath,
    role: hasCatalog ? 'primary' : hasRelay ? 'replica' : 'unknown',
    timeline,
    history: (history?.entries ?? [{timeline: 1n, parent_timeline: null, fork_lsn: 0n, reason: 'initial'}]).map((entry) => ({
      timeline: entry.timeline,
      parent_timeline: entry.parent_timeline,
      fork_lsn: entry.fork_lsn,
      reason: entry.reason,
    })),
    wal_head_lsn: await readWalHead(layout, timeline, segments),
    oldest_wal_lsn: segments.length === 0 ? null : await readOldestAvailableLsn(layout, timeline, segments),
    acks: found.acks,
    relay_replica_ids: [...relayIds].sort(),
    findings: verify.findings,
    reddb_pids: await liveNodePids(options.dataPath),
  }
}
