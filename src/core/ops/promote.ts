import {notFound, refused} from '../errors.js'
import {relayManifestAck, relayManifestCodec} from '../format/relay-manifest.js'
import {currentTimeline, timelineHistoryCodec} from '../format/timeline-history.js'
import {writeFileAtomic} from '../fs/atomic.js'
import {readArtifactIfExists} from '../fs/read.js'
import {Layout} from '../layout.js'
import type {ReplicaAck, TimelineHistory} from '../model.js'
import {promoteHistory, selectPromotionCandidate} from '../plan/promotion.js'
import {listRelayReplicas, readHistory, readSlotCatalog} from './node-state.js'

export interface CandidateAck extends ReplicaAck {
  source: 'relay-manifest' | 'slot-catalog'
}

/** The acks a primary knows of on its current timeline dir: relay manifests and the slot catalog. */
export async function collectAcks(layout: Layout, timeline: bigint): Promise<CandidateAck[]> {
  const acks: CandidateAck[] = []
  for (const replica of await listRelayReplicas(layout, timeline)) {
    const manifest = await readArtifactIfExists(layout.relayManifestPath(timeline, replica), relayManifestCodec, {nowMs: 0n})
    if (manifest) acks.push({replica_id: manifest.replica_id, timeline: manifest.timeline, ...relayManifestAck(manifest), source: 'relay-manifest'})
  }
  const catalog = await readSlotCatalog(layout, timeline)
  for (const slot of catalog?.slots ?? []) {
    acks.push({
      replica_id: slot.replica_id,
      timeline: catalog!.timeline,
      received_lsn: slot.confirmed_write_lsn,
      written_lsn: slot.confirmed_write_lsn,
      flushed_lsn: slot.confirmed_flush_lsn,
      applied_lsn: slot.confirmed_apply_lsn,
      source: 'slot-catalog',
    })
  }
  return acks
}

export interface PromoteOptions {
  /** The replica to promote and its applied LSN; omitted for automatic choice. */
  replicaId?: string
  appliedLsn?: bigint
  expectTimeline?: bigint
  dryRun: boolean
  nowMs: bigint
}

export interface PromoteReport {
  previous_timeline: bigint
  new_timeline: bigint
  fork_lsn: bigint
  replica_id: string
  candidate_source: CandidateAck['source'] | 'flags'
  candidates: CandidateAck[]
  history_path: string
  history: TimelineHistory
  dry_run: boolean
}

/** Records a failover in the timeline history, as a promoted RedDB replica does. */
export async function promote(layout: Layout, options: PromoteOptions): Promise<PromoteReport> {
  const history = await readHistory(layout)
  const previous = currentTimeline(history)
  if (options.expectTimeline !== undefined && options.expectTimeline !== previous) {
    throw refused(`current timeline is ${previous}, not ${options.expectTimeline} as expected: the promotion has already happened or the layout is not the one you think; nothing changed`)
  }
  let replicaId = options.replicaId
  let appliedLsn = options.appliedLsn
  let source: PromoteReport['candidate_source'] = 'flags'
  let candidates: CandidateAck[] = []
  if (replicaId === undefined) {
    candidates = await collectAcks(layout, previous)
    const chosen = selectPromotionCandidate(previous, candidates) as CandidateAck | null
    if (chosen === null) throw notFound(`no replica acknowledged anything on timeline ${previous} (no relay manifest or slot of that timeline under ${layout.timelineDir(previous)}); name one with --replica and --applied-lsn`)
    replicaId = chosen.replica_id
    appliedLsn = chosen.applied_lsn
    source = chosen.source
  }
  const next = promoteHistory(history, replicaId, appliedLsn!, options.nowMs)
  if (!options.dryRun) await writeFileAtomic(layout.historyPath, timelineHistoryCodec.encode(next, {nowMs: options.nowMs}), {label: 'timeline-history', clearLeftovers: true})
  const entry = next.entries.at(-1)!
  return {
    previous_timeline: previous,
    new_timeline: entry.timeline,
    fork_lsn: entry.fork_lsn,
    replica_id: replicaId,
    candidate_source: source,
    candidates,
    history_path: layout.historyPath,
    history: next,
    dry_run: options.dryRun,
  }
}
