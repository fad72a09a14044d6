import {notFound} from '../errors.js'
import {relayManifestCodec} from '../format/relay-manifest.js'
import {readArtifactIfExists} from '../fs/read.js'
import {Layout} from '../layout.js'
import {initialHistory} from '../plan/promotion.js'
import {planRejoin, type RejoinPlan} from '../plan/rejoin.js'
import {listRelayReplicas, readCurrentTimeline, readHistory, readOldestAvailableLsn, readWalHead} from './node-state.js'
import {openLayout} from './open-layout.js'

export interface NodePosition {
  timeline: bigint
  flushedLsn: bigint
  /** Where the flushed LSN came from. */
  source: 'flags' | 'wal-head' | 'relay-manifest'
}

/** An old node's timeline and flushed LSN, read off its own layout: its WAL head, else its relay manifest. */
export async function readNodePosition(nodeDataPath: string): Promise<NodePosition> {
  const layout = await openLayout(nodeDataPath)
  const timeline = await readCurrentTimeline(layout)
  const head = await readWalHead(layout, timeline)
  if (head !== null) return {timeline, flushedLsn: head, source: 'wal-head'}
  let flushed: bigint | undefined
  for (const replica of await listRelayReplicas(layout, timeline)) {
    const manifest = await readArtifactIfExists(layout.relayManifestPath(timeline, replica), relayManifestCodec, {nowMs: 0n})
    if (manifest && (flushed === undefined || manifest.flushed_lsn > flushed)) flushed = manifest.flushed_lsn
  }
  if (flushed === undefined) throw notFound(`${layout.root}: no WAL and no relay manifest on timeline ${timeline}; give --node-timeline and --node-flushed-lsn`)
  return {timeline, flushedLsn: flushed, source: 'relay-manifest'}
}

export interface RejoinReport extends RejoinPlan {
  current_timeline: bigint
  node_position_source: NodePosition['source']
  available_from_source: 'flag' | 'wal'
}

/** How an old node rejoins this (new) primary, by RedDB's rule. */
export async function planNodeRejoin(layout: Layout, node: NodePosition, availableFromLsn?: bigint): Promise<RejoinReport> {
  const history = (await readHistory(layout)) ?? initialHistory(0n)
  const current = history.entries.at(-1)!.timeline
  const available = availableFromLsn ?? (await readOldestAvailableLsn(layout, current))
  const plan = planRejoin({history, nodeTimeline: node.timeline, nodeFlushedLsn: node.flushedLsn, availableFromLsn: available})
  return {...plan, current_timeline: current, node_position_source: node.source, available_from_source: availableFromLsn === undefined ? 'wal' : 'flag'}
}
