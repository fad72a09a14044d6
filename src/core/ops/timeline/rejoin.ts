import {notFound, RedreplError} from '../../errors.js'
import {relayManifestCodec} from '../../format/relay-manifest.js'
import {readArtifactIfExists} from '../node/artifact-file.js'
import {Layout} from '../../layout.js'
import {initialHistory} from '../../plan/promotion.js'
import {rejoinNextSteps, type NextStep, type RestorableBackup} from '../../plan/next-steps.js'
import {planRejoin, type RejoinPlan} from '../../plan/rejoin.js'
import {chooseBasebackup} from '../basebackup/materialize.js'
import {finding, type Finding} from '../../findings.js'
import {listRelayReplicas, readCurrentTimeline, readHistory, readWalHead} from '../node/state.js'
import {gapFindings} from '../wal/findings.js'
import {findingPath, readWalState, requireSoundWal, walAvailableFrom, walHeadOf} from '../wal/state.js'
import {openLayout} from '../node/open-layout.js'

export type {RejoinDecision} from '../../plan/rejoin.js'

export interface NodePosition {
  timeline: bigint
  flushedLsn: bigint
  /** Where the flushed LSN came from. */
  source: 'flags' | 'wal-head' | 'relay-manifest'
  /** The node's data path, when its position was read from it. */
  dataPath?: string
}

/** An old node's timeline and flushed LSN, read off its own layout: its WAL head, else its relay manifest. */
export async function readNodePosition(nodeDataPath: string): Promise<NodePosition> {
  const layout = await openLayout(nodeDataPath)
  const timeline = await readCurrentTimeline(layout)
  const head = await readWalHead(layout, timeline)
  if (head !== null) return {timeline, flushedLsn: head, source: 'wal-head', dataPath: nodeDataPath}
  let flushed: bigint | undefined
  for (const replica of await listRelayReplicas(layout, timeline)) {
    const manifest = await readArtifactIfExists(layout.relayManifestPath(timeline, replica), relayManifestCodec, {nowMs: 0n})
    if (manifest && (flushed === undefined || manifest.flushed_lsn > flushed)) flushed = manifest.flushed_lsn
  }
  if (flushed === undefined) throw notFound(`${layout.root}: no WAL and no relay manifest on timeline ${timeline}; give --node-timeline and --node-flushed-lsn`)
  return {timeline, flushedLsn: flushed, source: 'relay-manifest', dataPath: nodeDataPath}
}

/**
 * The decision with RedDB's state fields only: the plan's optional
 * target_timeline, start_lsn and rewind_to_lsn repeat rejoin_target_timeline,
 * rejoin_start_lsn and rejoin_rewind_to_lsn, which are always present (0: none).
 */
type RejoinState = Omit<RejoinPlan, 'target_timeline' | 'start_lsn' | 'rewind_to_lsn'>

const stateOf = ({target_timeline: _target, start_lsn: _start, rewind_to_lsn: _rewind, ...state}: RejoinPlan): RejoinState => state

export interface RejoinReport extends RejoinState {
  /** The primary's current timeline. */
  timeline: bigint
  node_position_source: NodePosition['source']
  /** no-wal: the current timeline has no WAL segment, and the decision did not depend on it. */
  available_from_source: 'flag' | 'wal' | 'no-wal'
  /** wal.gap for every hole in the current timeline's WAL: WAL below one is not offered. */
  findings: Finding[]
  /** For a reclone: the newest usable base backup of the current timeline, which the node is rebuilt from; else null. */
  reclone_basebackup: RestorableBackup | null
  /** The commands that carry the decision out on this layout, and what RedDB does at the node's next start. */
  next_steps: NextStep[]
}

/** The newest base backup of the current timeline a node restored from could catch up from; null when there is none. */
export async function newestUsableBackup(layout: Layout): Promise<RestorableBackup | null> {
  try {
    const {path, manifest} = await chooseBasebackup(layout, {latest: true})
    return {manifest_path: path, checkpoint_lsn: manifest.checkpoint_lsn, timeline: manifest.timeline}
  } catch (error) {
    if (error instanceof RedreplError && error.kind === 'not-found') return null
    throw error
  }
}

/** How an old node rejoins this (new) primary, by RedDB's rule, and what carries it out (`primaryDataPath`: as the operator gave it). */
export async function planNodeRejoin(layout: Layout, node: NodePosition, availableFromLsn: bigint | undefined, primaryDataPath: string): Promise<RejoinReport> {
  const report = await decideRejoin(layout, node, availableFromLsn)
  const backup = report.decision === 'reclone' ? await newestUsableBackup(layout) : null
  const next_steps = rejoinNextSteps({plan: report, currentTimeline: report.timeline, primaryDataPath, nodeDataPath: node.dataPath ?? null, backup})
  return {...report, reclone_basebackup: backup, next_steps}
}

async function decideRejoin(layout: Layout, node: NodePosition, availableFromLsn: bigint | undefined): Promise<Omit<RejoinReport, 'reclone_basebackup' | 'next_steps'>> {
  const history = (await readHistory(layout)) ?? initialHistory(0n)
  const current = history.entries.at(-1)!.timeline
  const wal = await readWalState(layout, current)
  requireSoundWal(wal)
  const input = {history, nodeTimeline: node.timeline, nodeFlushedLsn: node.flushedLsn}
  const report = {timeline: current, node_position_source: node.source, findings: [...gapFindings(layout, wal)]}
  if (availableFromLsn === undefined && wal.segments.length === 0) {
    // Without WAL there is no oldest LSN to compare with; say so rather than offer "WAL from LSN 0".
    const plan = planRejoin({...input, availableFromLsn: 0n})
    if (plan.decision === 'follow_new_timeline') {
      throw notFound(`${wal.dir}: timeline ${current} has no WAL segment, so there is no WAL for the node (timeline ${node.timeline}, flushed LSN ${node.flushedLsn}) to follow`, {
        code: 'rejoin.no-wal',
        hint: 'plan again once the new primary has written WAL, give --available-from-lsn if you know what it will serve, or rebuild the node from a base backup (basebackup materialize --rebootstrap)',
      })
    }
    return {...stateOf(plan), ...report, available_from_source: 'no-wal'}
  }
  const available = availableFromLsn ?? walAvailableFrom(wal)
  const plan = planRejoin({...input, availableFromLsn: available})
  // The decision is RedDB's (its golden cases); what it leaves unsaid is said beside it.
  const where = findingPath(layout, wal.dir)
  if (plan.decision === 'rewind' && plan.rejoin_rewind_to_lsn < available) {
    report.findings.push(
      finding('rejoin.wal-gone', where, `the node must be rewound to the fork at LSN ${plan.rejoin_rewind_to_lsn}, but this primary serves WAL only from LSN ${available}: after the rewind it cannot follow from WAL either; rebuild it from a base backup or reclone it (catchup plan --replica-lsn ${plan.rejoin_rewind_to_lsn} says how)`, {
        rewind_to_lsn: plan.rejoin_rewind_to_lsn,
        available_from_lsn: available,
      }),
    )
  }
  const head = plan.decision === 'already_current' ? await walHeadOf(layout, wal) : null
  if (head !== null && node.flushedLsn > head) {
    report.findings.push(
      finding('rejoin.ahead-of-primary', where, `the node is on timeline ${current} like the primary but has flushed LSN ${node.flushedLsn}, past the primary's WAL head ${head}: it holds writes the primary never had (it diverged, e.g. it was written to as a primary too); following would not remove them, so rebuild it from a base backup`, {
        node_flushed_lsn: node.flushedLsn,
        wal_head_lsn: head,
      }),
    )
  }
  return {...stateOf(plan), ...report, available_from_source: availableFromLsn === undefined ? 'wal' : 'flag'}
}
