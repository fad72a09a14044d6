import {notFound, refused, usageError, type ErrorCodeOf} from '../../errors.js'
import {finding, type Finding} from '../../findings.js'
import {currentTimeline, timelineHistoryCodec} from '../../format/timeline-history.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {Layout} from '../../layout.js'
import type {TimelineHistory} from '../../model.js'
import {type AckSource, type CandidateRow, explainChoice, promoteHistory, rankCandidates} from '../../plan/promotion.js'
import {readHistory, readWalHead} from '../node/state.js'
import {knownReplicaIds, readReplicaAcks} from '../node/replicas.js'
import {findingPath} from '../wal/state.js'

/** Who is promoted: named (its applied LSN given, or read from its acks), or chosen as RedDB does. */
export type PromoteTarget = {kind: 'replica'; replicaId: string; appliedLsn?: bigint} | {kind: 'auto'}

export interface PromoteOptions {
  target: PromoteTarget
  /** The node's data path, for the legacy slot store beside it; the layout alone is read otherwise. */
  dataPath?: string
  expectTimeline?: bigint
  /** Count acks stamped with another timeline under the current timeline's directory as its own. */
  adoptCatalogTimeline: boolean
  /** Promote what the files contradict (unknown replica, invalidated slot, LSN past its acks or the WAL). */
  force: boolean
  /** How many acknowledged LSNs the promotion may throw away (default 0: none). */
  maxLagLsn?: bigint
  dryRun: boolean
  nowMs: bigint
  /** Asked with the plan before anything is written; throws to stop. */
  confirm?: (plan: PromoteReport) => Promise<void>
}

export interface PromoteReport {
  previous_timeline: bigint
  new_timeline: bigint
  fork_lsn: bigint
  replica_id: string
  selection: 'auto' | 'named'
  /** Where fork_lsn came from: the flag, or the file kind of the replica's acknowledged applied LSN. */
  applied_lsn_source: AckSource | 'flag'
  /** Why --auto picks the replica it picks (null when none is eligible). */
  auto_choice: string | null
  catalog_timeline_adopted: boolean
  candidates: CandidateRow[]
  /** The highest applied LSN another eligible replica acknowledged, and which one: the best known position (null when no other replica is known). */
  best_known_lsn: bigint | null
  best_known_replica_id: string | null
  /** Acknowledged LSNs past the fork the new timeline leaves out: best_known_lsn − fork_lsn, or 0. */
  lost_lsn: bigint
  /** force.overridden for what --force overrode. */
  findings: Finding[]
  history_path: string
  history: TimelineHistory
  dry_run: boolean
}

/**
 * Records a failover in the timeline history, as a promoted RedDB replica
 * does, after checking the request against what the layout holds: the
 * replica must be known and its slot valid, the fork LSN must not lie past
 * its acknowledgements or the WAL, and the last fork must not be repeated.
 */
export async function promote(layout: Layout, options: PromoteOptions): Promise<PromoteReport> {
  const history = await readHistory(layout)
  const previous = currentTimeline(history)
  if (options.expectTimeline !== undefined && options.expectTimeline !== previous) {
    throw refused(`${layout.historyPath}: current timeline is ${previous}, not ${options.expectTimeline} as expected: the promotion has already happened or the layout is not the one you think; nothing changed`, {
      code: 'promote.unexpected-timeline',
    })
  }
  const found = await readReplicaAcks(layout, options.dataPath, previous, options.nowMs)
  const candidates = rankCandidates({timeline: previous, acks: found.acks, adoptCatalogTimeline: options.adoptCatalogTimeline})
  const findings: Finding[] = []
  const contradicted = (message: string, hint: string, code: ErrorCodeOf<'refused'>) => {
    if (!options.force) throw refused(message, {code, hint: `${hint}, or pass --force if you know better than the files`})
    findings.push(finding('force.overridden', findingPath(layout, layout.historyPath), message, {refusal: code}))
  }

  let replicaId: string
  let appliedLsn: bigint
  let source: PromoteReport['applied_lsn_source']
  if (options.target.kind === 'auto') {
    const chosen = candidates.find((row) => row.chosen) ?? refuseNoCandidate(layout, previous, candidates, found.looked_in)
    replicaId = chosen.replica_id
    appliedLsn = chosen.applied_lsn
    source = chosen.position_source
  } else {
    replicaId = options.target.replicaId
    // Checked first: on a re-run the replica is typically unknown to the new timeline, and that would hide the real reason.
    if (options.target.appliedLsn !== undefined) refuseRepeatedFork(layout, history, replicaId, options.target.appliedLsn)
    const row = candidates.find((candidate) => candidate.replica_id === replicaId)
    if (row === undefined) {
      const known = knownReplicaIds(found)
      const message = `${layout.timelineDir(previous)}: no slot, relay log or legacy slot entry for replica ${JSON.stringify(replicaId)} on timeline ${previous} (known: ${known.length > 0 ? known.join(', ') : 'none'})`
      if (options.target.appliedLsn === undefined) {
        if (options.force) throw usageError(`${message}; name its applied LSN with --applied-lsn`)
        throw refused(message, {code: 'promote.unknown-replica', hint: 'check --replica'})
      }
      contradicted(message, 'check --replica', 'promote.unknown-replica')
    } else if (row.ineligible === 'invalidated-slot') {
      const slot = row.sources.find((ack) => ack.invalidation_reason !== null)!
      contradicted(`${slot.path}: the slot of replica ${replicaId} is invalidated (${slot.invalidation_reason}): the primary stopped keeping WAL for it, so promoting it may throw away writes it never received`, 'promote another replica (see --dry-run)', 'promote.invalidated-slot')
    }
    if (options.target.appliedLsn === undefined) {
      appliedLsn = row!.applied_lsn
      source = row!.position_source
    } else {
      appliedLsn = options.target.appliedLsn
      source = 'flag'
      if (row !== undefined && appliedLsn > row.applied_lsn) {
        contradicted(
          `${layout.timelineDir(previous)}: replica ${replicaId} acknowledged applying up to LSN ${row.applied_lsn} (${row.position_source}), not ${appliedLsn}`,
          'omit --applied-lsn to fork at its acknowledged position',
          'promote.past-acknowledged',
        )
      }
      const walHead = await readWalHead(layout, previous)
      const ceiling = walHead ?? history?.entries.at(-1)?.fork_lsn ?? 0n
      if (appliedLsn > ceiling) {
        contradicted(
          `${layout.walDir(previous)}: the WAL of timeline ${previous} ends at LSN ${ceiling}${walHead === null ? ' (no WAL record yet)' : ''}, below the applied LSN ${appliedLsn}`,
          'check --applied-lsn',
          'promote.past-wal-head',
        )
      }
    }
  }

  refuseRepeatedFork(layout, history, replicaId, appliedLsn)
  const ahead = bestOtherPosition(candidates, replicaId)
  const lost = ahead !== null && ahead.applied_lsn > appliedLsn ? ahead.applied_lsn - appliedLsn : 0n
  if (ahead !== null && lost > (options.maxLagLsn ?? 0n)) {
    const where = ahead.sources.find((ack) => ack.source === ahead.position_source)?.path ?? layout.timelineDir(previous)
    contradicted(
      `${where}: replica ${ahead.replica_id} acknowledged applying up to LSN ${ahead.applied_lsn}, past the fork at ${appliedLsn} of replica ${replicaId}: promoting ${replicaId} throws away ${lost} acknowledged LSNs (${appliedLsn + 1n}..${ahead.applied_lsn})${options.maxLagLsn ? `, more than the ${options.maxLagLsn} allowed` : ''}`,
      `promote ${ahead.replica_id} (see --dry-run), or accept the loss with --max-lag-lsn ${lost}`,
      'promote.behind-best-known',
    )
  }
  const next = promoteHistory(history, replicaId, appliedLsn, options.nowMs)
  const entry = next.entries.at(-1)!
  const report: PromoteReport = {
    previous_timeline: previous,
    new_timeline: entry.timeline,
    fork_lsn: entry.fork_lsn,
    replica_id: replicaId,
    selection: options.target.kind === 'auto' ? 'auto' : 'named',
    applied_lsn_source: source,
    auto_choice: explainChoice(candidates),
    catalog_timeline_adopted: options.adoptCatalogTimeline === true && found.acks.some((ack) => ack.timeline !== previous),
    candidates,
    best_known_lsn: ahead?.applied_lsn ?? null,
    best_known_replica_id: ahead?.replica_id ?? null,
    lost_lsn: lost,
    findings,
    history_path: layout.historyPath,
    history: next,
    dry_run: options.dryRun,
  }
  if (options.dryRun) return report
  await options.confirm?.(report)
  await writeFileAtomic(layout.historyPath, timelineHistoryCodec.encode(next, {nowMs: options.nowMs}), {label: 'timeline-history', clearLeftovers: true})
  return report
}

/**
 * The best known position besides the promoted replica: the eligible replica
 * with the highest acknowledged applied LSN, RedDB's own ranking key (§
 * timeline promote), so the replica --auto chooses is never behind it. An
 * invalidated slot or an ack of another timeline is not a position on this
 * timeline's history.
 */
function bestOtherPosition(candidates: CandidateRow[], replicaId: string): CandidateRow | null {
  let best: CandidateRow | null = null
  for (const row of candidates) if (row.eligible && row.replica_id !== replicaId && (best === null || row.applied_lsn > best.applied_lsn)) best = row
  return best
}

/** The last entry already records this very promotion: doing it again would fork a second time at the same point. */
function refuseRepeatedFork(layout: Layout, history: TimelineHistory | null, replicaId: string, appliedLsn: bigint): void {
  const last = history?.entries.at(-1)
  if (last && last.parent_timeline !== null && last.reason === `promote ${replicaId}` && last.fork_lsn === appliedLsn) {
    throw refused(`${layout.historyPath}: timeline ${last.timeline} already records promote ${replicaId} at LSN ${appliedLsn}: this failover is done; nothing changed`, {
      code: 'promote.repeated-fork',
      hint: 'see timeline show; pass --expect-timeline in runbooks so a re-run stops here too',
    })
  }
}

/** Nothing --auto may pick: say what the files hold and how to go on. */
function refuseNoCandidate(layout: Layout, timeline: bigint, candidates: CandidateRow[], lookedIn: string[]): never {
  if (candidates.length === 0) {
    throw notFound(`${layout.timelineDir(timeline)}: no replica acknowledged anything on timeline ${timeline} (looked in ${lookedIn.join(', ')})`, {
      code: 'promote.no-acks',
      hint: 'name the replica with --replica and --applied-lsn',
    })
  }
  const foreign = candidates.filter((row) => row.ineligible === 'other-timeline')
  if (foreign.length > 0) {
    const stamped = [...new Set(foreign.map((row) => row.timeline))].join(', ')
    const kinds = [...new Set(foreign.flatMap((row) => row.sources.map((ack) => ack.source)))].join(', ')
    throw refused(
      `${layout.timelineDir(timeline)}: holds acks of ${foreign.map((row) => row.replica_id).join(', ')} (${kinds}) stamped timeline ${stamped}, not ${timeline}: RedDB 1.12 writes them so after a failover, and its own selection then finds no candidate`,
      {code: 'promote.catalog-timeline', hint: `pass --adopt-catalog-timeline to choose among them as timeline ${timeline}'s (their LSNs carry over), or name the replica with --replica`},
    )
  }
  throw refused(`${layout.timelineDir(timeline)}: no eligible replica: ${candidates.map((row) => `${row.replica_id} (${row.ineligible_reason})`).join('; ')}`, {
    code: 'promote.no-eligible',
    hint: 'name the replica with --replica and pass --force if you accept what it lacks',
  })
}
