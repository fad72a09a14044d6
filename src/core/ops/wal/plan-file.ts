/**
 * Saved WAL retention plans: `wal plan --out FILE` writes one, `wal prune
 * --plan FILE` plans again and removes exactly the saved segments when the
 * fresh plan releases each of them too (plan/saved-wal-plan.ts decides).
 */
import path from 'node:path'

import {stringifyJson} from '../../codec/json.js'
import {slotRetentionFloor} from '../../format/slot-catalog.js'
import {Layout} from '../../layout.js'
import {layoutScope, scopeChanges, sha256Hex, stalePlan, type PlanPlace} from '../../plan/saved-plan-envelope.js'
import {compareWalPlans, decodeSavedWalPlan, savedWalPlan, type SavedWalPlan, type WalPlanInputs} from '../../plan/saved-wal-plan.js'
import {log} from '../../log.js'
import {readCurrentTimeline, readHistory} from '../node/state.js'
import {appliedPlan, readPlanFile, writePlanFile, type AppliedWalPlan} from '../node/plan-file.js'
import type {WalHoldOptions} from './holds.js'
import type {WalPruneReport} from './prune.js'
import {planWalRetentionFrom, pruneWal, type WalPlanBasis, type WalPlanOptions, type WalPlanReport} from './retention.js'

/** What `wal plan --out` adds to the plan report. */
export interface WalPlanSaved {
  plan_path: string
  inputs_fingerprint: string
}

/** `wal plan`'s document: the plan, and where --out saved it. */
export type WalPlanDocument = WalPlanReport & Partial<WalPlanSaved>

/** `wal prune`'s document: the prune, and with --plan the saved plan it applied. */
export type WalPruneDocument = WalPruneReport & {plan?: AppliedWalPlan}

/** The inputs of a plan as the fingerprint and the comparison see them. */
async function inputsOf(layout: Layout, basis: WalPlanBasis): Promise<WalPlanInputs> {
  const {report, state, catalog} = basis
  return {
    history_sha256: sha256Hex(stringifyJson((await readHistory(layout)) ?? null, 0, true)),
    segment_bytes: report.segment_bytes,
    policy: report.policy,
    fork_lsns: report.fork_lsns,
    catalog_timeline_adopted: report.catalog_timeline_adopted,
    slots: catalog === null ? null : catalog.slots.map((slot) => ({replica_id: slot.replica_id, active: slot.active, floor_lsn: slotRetentionFloor(slot)})),
    // A plan is computed only on a sound WAL, whose every header was read.
    segments: state.segments.map((s) => ({index: s.index, bytes: s.bytes, header_crc32: s.header_crc32!})),
  }
}

const rootOf = (layout: Layout) => path.resolve(layout.root)

/** Plans, then writes the plan to `planPath` atomically (a link there is replaced, never written through). */
export async function saveWalPlan(layout: Layout, dataPath: string, options: WalPlanOptions, planPath: string): Promise<WalPlanReport & WalPlanSaved> {
  const basis = await planWalRetentionFrom(layout, options)
  const {report} = basis
  const saved = savedWalPlan({
    data_path: dataPath,
    root_path: rootOf(layout),
    timeline: report.timeline,
    current_lsn: report.current_lsn,
    inputs: await inputsOf(layout, basis),
    removable: report.removable_segments.map((s) => s.index),
  })
  await writePlanFile(planPath, saved, layout)
  log.info('plan saved', {path: planPath, segments: saved.segments.length, fingerprint: saved.inputs_fingerprint})
  return {...report, plan_path: planPath, inputs_fingerprint: saved.inputs_fingerprint}
}

/** Reads and checks a saved plan: a regular file (never through a link), of bounded size, of the right kind. */
export async function loadWalPlan(planPath: string): Promise<SavedWalPlan> {
  return readPlanFile(planPath, decodeSavedWalPlan)
}

const PLACE: PlanPlace = {where: 'layout', nothing: 'removed', replan: 'wal plan'}

/**
 * The fresh plan narrowed to the saved one: it removes exactly the saved
 * segments, or nothing and refuses (exit 4) naming every change found.
 */
export async function planFromSaved(layout: Layout, planPath: string, saved: SavedWalPlan, holds: WalHoldOptions = {}): Promise<WalPlanReport & {plan: AppliedWalPlan}> {
  // Another layout or timeline is refused before planning: its WAL is another one (a new timeline also rewrote the history).
  const root = rootOf(layout)
  if (saved.root_path !== root) throw stalePlan(planPath, PLACE, scopeChanges(layoutScope(saved, {root_path: root, timeline: saved.timeline})))
  const timeline = await readCurrentTimeline(layout)
  const scope = scopeChanges(layoutScope(saved, {root_path: root, timeline}), ['history changed'])
  if (scope.length > 0) throw stalePlan(planPath, PLACE, scope)
  const basis = await planWalRetentionFrom(layout, {
    segmentBytes: saved.segment_bytes,
    policy: saved.policy,
    forkLsns: saved.fork_lsns,
    adoptCatalogTimeline: saved.catalog_timeline_adopted,
    // What keeps more WAL now (a segment not yet archived) refuses a saved segment it keeps.
    ...holds,
  })
  const fresh = basis.report
  const comparison = compareWalPlans(saved, {root_path: rootOf(layout), timeline: fresh.timeline, inputs: await inputsOf(layout, basis), verdicts: fresh.segments})
  if (!comparison.applies) throw stalePlan(planPath, PLACE, comparison.changes)
  const chosen = new Set(saved.segments.map((s) => s.index))
  const removable = saved.segments.map((s) => ({index: s.index, path: layout.walSegmentPath(timeline, s.index), bytes: s.bytes}))
  const freed = removable.reduce((sum, s) => sum + s.bytes, 0n)
  return {
    ...fresh,
    retained_bytes_after_prune: fresh.retained_bytes_before_prune - freed,
    removable_segments: removable,
    segments: fresh.segments.map((s) => (s.action === 'remove' && !chosen.has(s.index) ? {...s, action: 'keep' as const, reason: `${s.reason}, but not in the plan`} : s)),
    plan: appliedPlan('more_released_segment_indexes', planPath, saved.inputs_fingerprint, comparison),
  }
}

/** Applies a saved plan: the saved segments are removed (none with `dryRun`), or nothing is and the run refuses. */
export async function pruneWalByPlan(layout: Layout, planPath: string, saved: SavedWalPlan, dryRun: boolean, holds: WalHoldOptions = {}): Promise<WalPruneReport & {plan: AppliedWalPlan}> {
  const report = await planFromSaved(layout, planPath, saved, holds)
  const removed = dryRun ? [] : await pruneWal(report)
  return {...report, dry_run: dryRun, removed_segments: removed}
}
