import path from 'node:path'

import {DEFAULT_SEGMENT_BYTES} from '../../format/wal-segment.js'
import {finding, type Finding} from '../../findings.js'
import {crashPoint} from '../../fs/crash.js'
import {openInLayout, type HeldDir} from '../../fs/held-dir.js'
import {Layout, parseWalSegmentName} from '../../layout.js'
import {planRetention, type RetentionPolicy} from '../../plan/retention.js'
import {chooseSegmentBytes, type SegmentSizeChoice} from '../../plan/wal-geometry.js'
import {RedreplError, refused} from '../../errors.js'
import {log} from '../../log.js'
import {slotRetentionFloor} from '../../format/slot-catalog.js'
import type {SlotCatalog} from '../../model.js'
import {readCurrentTimeline, readSlotCatalog} from '../node/state.js'
import {gapFindings, stallFinding} from './findings.js'
import {readWalHolds, type WalHoldOptions, type WalHoldsReport} from './holds.js'
import {findingPath, readWalState, requireSoundWal, walHeadOf, type WalState} from './state.js'

export const DEFAULT_POLICY: RetentionPolicy = {min_segments: 16n, max_bytes: 4n << 30n, keep_until_replicas_ack: true}

export interface WalPlanOptions extends WalHoldOptions {
  /** The segment size given by the operator; the headers' when left out. */
  segmentBytes?: bigint
  currentLsn?: bigint
  policy?: Partial<RetentionPolicy>
  forkLsns?: bigint[]
  adoptCatalogTimeline?: boolean
  /** Plan with this catalog instead of the one on disk: what retention would do after a slot change. */
  catalog?: SlotCatalog
}

export interface WalPlanReport {
  timeline: bigint
  current_lsn: bigint
  current_lsn_source: 'flag' | 'wal-head'
  /** end_lsn − 1 of the newest non-empty segment; null when the timeline holds no record. */
  wal_head_lsn: bigint | null
  segment_bytes: bigint
  /** headers: stated by the segment headers; flag or default: only when no header can state it. */
  segment_bytes_source: SegmentSizeChoice['source']
  /** The size asked for, when RedDB's 1 MiB minimum raised it. */
  segment_bytes_requested: bigint | null
  policy: RetentionPolicy
  fork_lsns: bigint[]
  slot_catalog_path: string | null
  catalog_timeline: bigint | null
  catalog_timeline_adopted: boolean
  oldest_required_lsn: bigint | null
  replica_floor_slot: string | null
  retained_bytes_before_prune: bigint
  retained_bytes_after_prune: bigint
  removable_segments: Array<{index: bigint; path: string; bytes: bigint}>
  /** last_lsn is inclusive (see SegmentVerdict). */
  segments: Array<{index: bigint; bytes: bigint; start_lsn: bigint; last_lsn: bigint; action: 'keep' | 'remove'; reason: string}>
  /** The repository whose archived segments count (null without one); each sealed segment it lacks is kept as "not archived". */
  repository: WalHoldsReport['repository']
  /** With several repositories (then `repository` is null): each one's archived and missing counts; absent with one or none. */
  repositories?: WalHoldsReport['repositories']
  /** With --keep-wal-for-backups, the checkpoint of the oldest usable base backup, whose WAL is kept from its segment on. */
  backup_hold_checkpoint_lsn: bigint | null
  /** Conditions found on the way (slot.no-catalog, slot.catalog-timeline when adopted, wal.retention-stalled, wal.gap). */
  findings: Finding[]
}

/**
 * The segment size to plan with, checked against the headers: a flag they
 * contradict is refused, since a wrong size moves every segment's LSN range
 * and with it what the slots still need.
 */
function segmentSizeFor(state: WalState, requested: bigint | undefined): SegmentSizeChoice {
  const choice = chooseSegmentBytes(state.geometry, requested, DEFAULT_SEGMENT_BYTES)
  if ('conflict' in choice) {
    throw refused(`${state.dir}: ${choice.conflict}`, {code: 'wal.segment-size-flag', hint: 'leave out --segment-bytes: the size is read from the headers'})
  }
  return choice
}

/**
 * A current LSN past the WAL head would make the segment being written look
 * released; refused. With no record, the newest segment's start bounds it.
 */
function checkCurrentLsn(state: WalState, head: bigint | null, currentLsn: bigint): void {
  const newest = state.segments.at(-1)
  const bound = head ?? newest?.header?.start_lsn
  if (bound === undefined || currentLsn <= bound) return
  const what = head === null ? `the WAL holds no record (newest segment ${newest!.index} starts at LSN ${bound})` : `the WAL head is LSN ${head}`
  throw refused(`${state.dir}: current LSN ${currentLsn} is past the WAL: ${what}, and planning beyond it would release the segment being written`, {
    code: 'wal.current-lsn',
    hint: 'leave out --current-lsn to plan at the WAL head',
  })
}

/** RedDB's retention plan for the current timeline, from the files on disk. */
export async function planWalRetention(layout: Layout, options: WalPlanOptions = {}): Promise<WalPlanReport> {
  return (await planWalRetentionFrom(layout, options)).report
}

/** What a plan was computed from, beside it: the WAL as read and the slot catalog planned with (saved plans pin them). */
export interface WalPlanBasis {
  report: WalPlanReport
  state: WalState
  catalog: SlotCatalog | null
}

/** The plan, and the WAL state and catalog it was computed from. */
export async function planWalRetentionFrom(layout: Layout, options: WalPlanOptions = {}): Promise<WalPlanBasis> {
  const timeline = await readCurrentTimeline(layout)
  const state = await readWalState(layout, timeline)
  requireSoundWal(state)
  const size = segmentSizeFor(state, options.segmentBytes)
  const segmentBytes = size.segment_bytes
  const files = state.segments
  const head = await walHeadOf(layout, state)
  if (options.currentLsn !== undefined) checkCurrentLsn(state, head, options.currentLsn)
  const currentLsn = options.currentLsn ?? head ?? 0n
  const catalog = options.catalog ?? (await readSlotCatalog(layout, timeline))
  const policy = {...DEFAULT_POLICY, ...options.policy}
  const forkLsns = options.forkLsns ?? []
  const holds = await readWalHolds(layout, timeline, files, segmentBytes, options)
  const stall = stallFinding(layout, state, catalog, {keepUntilReplicasAck: policy.keep_until_replicas_ack, adoptCatalogTimeline: options.adoptCatalogTimeline})
  const base = {
    timeline,
    current_lsn: currentLsn,
    current_lsn_source: options.currentLsn === undefined ? ('wal-head' as const) : ('flag' as const),
    wal_head_lsn: head,
    segment_bytes: segmentBytes,
    segment_bytes_source: size.source,
    segment_bytes_requested: size.requested,
    policy,
    fork_lsns: forkLsns,
    slot_catalog_path: catalog ? layout.slotCatalogPath(timeline) : null,
    catalog_timeline: catalog?.timeline ?? null,
    catalog_timeline_adopted: Boolean(catalog && catalog.timeline !== timeline && options.adoptCatalogTimeline),
    findings: [...(stall ? [stall] : []), ...gapFindings(layout, state)],
    repository: holds.repository,
    ...(holds.repositories === undefined ? {} : {repositories: holds.repositories}),
    backup_hold_checkpoint_lsn: holds.backup_hold_checkpoint_lsn,
  }
  const bytesOnDisk = files.reduce((sum, file) => sum + file.bytes, 0n)
  if (catalog === null) {
    const report: WalPlanReport = {
      ...base,
      oldest_required_lsn: null,
      replica_floor_slot: null,
      retained_bytes_before_prune: bytesOnDisk,
      retained_bytes_after_prune: bytesOnDisk,
      removable_segments: [],
      segments: files.map((file) => ({
        index: file.index,
        bytes: file.bytes,
        start_lsn: file.index * segmentBytes,
        last_lsn: (file.index + 1n) * segmentBytes - 1n,
        action: 'keep' as const,
        reason: 'no slot catalog',
      })),
      // wal.retention-stalled already says it when segments are held; the note is for a WAL with nothing to hold yet.
      findings: stall
        ? base.findings
        : [finding('slot.no-catalog', findingPath(layout, layout.slotCatalogPath(timeline)), `no slot catalog at ${layout.slotCatalogPath(timeline)}: RedDB prunes no WAL without one`), ...base.findings],
    }
    return {report, state, catalog}
  }
  let plan
  try {
    plan = planRetention({
      segmentBytes,
      timeline,
      policy,
      catalog,
      forkLsns,
      currentLsn,
      segments: files.map((file) => ({index: file.index, bytes: file.bytes})),
      adoptCatalogTimeline: options.adoptCatalogTimeline,
      holds: holds.holds,
    })
  } catch (error) {
    if (error instanceof RedreplError && error.kind === 'refused') {
      throw new RedreplError(
        'refused',
        `${layout.slotCatalogPath(timeline)}: ${error.message} — RedDB 1.12 keeps writing its catalog with timeline 1 after a failover and then never prunes; pass --adopt-catalog-timeline to plan with these slots as timeline ${timeline}'s`,
      )
    }
    throw error
  }
  // The plan lists the same segments in the same (index) order as the files.
  const segments = plan.segments
  const strands = strandFindings(layout, timeline, catalog, state, segments)
  const report: WalPlanReport = {
    ...base,
    oldest_required_lsn: plan.oldest_required_lsn,
    replica_floor_slot: plan.replica_floor_slot,
    retained_bytes_before_prune: plan.retained_bytes_before_prune,
    retained_bytes_after_prune: plan.retained_bytes_after_prune,
    removable_segments: segments.flatMap((s, i) => (s.action === 'remove' ? [{index: s.index, path: files[i].path, bytes: s.bytes}] : [])),
    segments,
    findings: [
      ...(base.catalog_timeline_adopted
        ? [finding('slot.catalog-timeline', findingPath(layout, layout.slotCatalogPath(timeline)), `slot catalog of timeline ${catalog.timeline} adopted as timeline ${timeline}'s`, {catalog_timeline: catalog.timeline, timeline})]
        : []),
      ...base.findings,
      ...strands,
    ],
  }
  return {report, state, catalog}
}

/**
 * `slot.prune-strands` for every inactive slot, not invalidated, whose
 * retention floor lies in WAL this plan removes: RedDB's retention holds WAL
 * for active slots only, so the prune is correct, and afterwards the slot's
 * replica can no longer catch up from WAL (slot.lost). Said before the
 * prune, so that the operator can bring the replica back or drop the slot.
 */
function strandFindings(layout: Layout, timeline: bigint, catalog: SlotCatalog, state: WalState, segments: Array<{index: bigint; start_lsn: bigint; action: string}>): Finding[] {
  const kept = segments.find((s) => s.action !== 'remove')
  const removed = segments.filter((s) => s.action === 'remove')
  const oldest = state.segments[0]?.header?.start_lsn
  if (removed.length === 0 || oldest === undefined) return []
  const keptFrom = kept?.start_lsn ?? null
  return catalog.slots.flatMap((slot) => {
    const floor = slotRetentionFloor(slot)
    // A floor already below the oldest WAL is slot.lost, not this prune's doing.
    if (slot.active || slot.invalidation_reason !== null || floor < oldest || (keptFrom !== null && floor >= keptFrom)) return []
    const left = keptFrom === null ? 'no WAL' : `WAL from LSN ${keptFrom}`
    return [
      finding(
        'slot.prune-strands',
        findingPath(layout, layout.slotCatalogPath(timeline)),
        `inactive slot ${JSON.stringify(slot.replica_id)} needs WAL from LSN ${floor}; removing segments ${removed[0].index}..${removed.at(-1)!.index} leaves ${left}, so its replica could no longer catch up from WAL`,
        {replica_id: slot.replica_id, retention_floor_lsn: floor, kept_from_lsn: keptFrom},
      ),
    ]
  })
}

/**
 * Deletes the removable segments in index order, then makes the deletions
 * durable. Each file is re-checked right before: still a WAL segment of the
 * planned name (a symlink is unlinked itself, never followed). The WAL
 * directory is reached from the layout root without following a link on
 * the way (the timeline directory must be one), but for an operator's link
 * of wal/ itself, and each unlink goes through that open directory, so no
 * segment is removed from anywhere else.
 */
export async function pruneWal(report: Pick<WalPlanReport, 'removable_segments'>): Promise<Array<{index: bigint; path: string; bytes: bigint}>> {
  const removed: Array<{index: bigint; path: string; bytes: bigint}> = []
  const dirs = new Map<string, HeldDir | undefined>()
  try {
    for (const segment of report.removable_segments) {
      const name = path.basename(segment.path)
      if (parseWalSegmentName(name) !== segment.index) continue
      const walDir = path.dirname(segment.path)
      if (!dirs.has(walDir)) {
        const timelineDir = path.dirname(walDir)
        dirs.set(walDir, await openInLayout(path.dirname(timelineDir), [path.basename(timelineDir), path.basename(walDir)], {linkableLast: true}))
      }
      const dir = dirs.get(walDir)
      if (dir === undefined || (await dir.entry(name)) === undefined) continue
      try {
        await dir.unlink(name)
      } catch (error) {
        // The message names the segment already (fs/held-dir.ts).
        throw new RedreplError('failure', `${(error as Error).message} (${removed.length} segment(s) removed before it)`)
      }
      crashPoint('wal-prune:after-unlink')
      log.info('removed', {path: segment.path, segment: segment.index, bytes: segment.bytes})
      removed.push(segment)
    }
    for (const dir of dirs.values()) await dir?.sync()
  } finally {
    for (const dir of dirs.values()) await dir?.close()
  }
  return removed
}
