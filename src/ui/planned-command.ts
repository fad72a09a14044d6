import type {AppliedPlan} from '../core/ops/plan-file.js'
import {shellCommand} from './shell-quote.js'

/**
 * What every command that saves or applies a plan prints of it, one way:
 * the line after `--out FILE` saved one, and the line about the plan
 * `--plan FILE` applied.
 */

/** How the applied-plan line speaks of one kind: the layout's segments, the repository's objects. */
export interface PlanWords {
  /** `layout`, `repository`. */
  where: string
  /** What the plan releases, plural: `segments`, `backups`, `objects`. */
  what: string
  /** The clause for what the fresh plan releases beyond the plan: `the layout now releases 2 more segment(s)`. */
  more: (count: number) => string
  /** `remove`, `delete`. */
  verb: string
}

/** `plan FILE: the layout is as planned`, or what changed beside it, and what the fresh plan would release on top. */
export function appliedPlanLine(plan: AppliedPlan<never, never>, moreReleased: number, words: PlanWords): string {
  const state = plan.fingerprint_matches
    ? `the ${words.where} is as planned`
    : `the ${words.where} changed without touching the plan's ${words.what}${plan.input_changes.length > 0 ? ` (${plan.input_changes.join('; ')})` : ''}`
  return `plan ${plan.plan_path}: ${state}${moreReleased > 0 ? `; ${words.more(moreReleased)}, left in place (plan again to ${words.verb} them)` : ''}`
}

/** The line after `--out FILE`: where the plan went, its fingerprint, and the command that applies exactly it. */
export function savedPlanLine(planPath: string, inputsFingerprint: string, apply: string[]): string {
  return `plan saved to ${planPath} (${inputsFingerprint}); apply exactly this plan with: ${shellCommand(['redrepl', ...apply])}`
}

/** The expiry commands' words: what the plan deletes on the `where`, and backups the policy now also deletes. */
export const expirePlanWords = (where: string, what: string): PlanWords => ({where, what, more: (count) => `the policy now also deletes ${count} more backup(s)`, verb: 'delete'})
