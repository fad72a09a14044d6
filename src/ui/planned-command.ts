import {usageError} from '../core/errors.js'
import type {AppliedPlan} from '../core/ops/node/plan-file.js'
import {RedreplCommand} from './base-command.js'
import {dryRunFlag} from './flags.js'
import {Flags} from './oclif.js'
import {shellCommand} from './shell-quote.js'

/**
 * What every command that plans, then applies shares: its flags
 * (--dry-run, --confirm, --out FILE, --plan FILE), declared here; the rule
 * that a flag a saved plan fixes may not be typed beside --plan; and the
 * lines it prints about a plan, the one `--out` saved and the one `--plan`
 * applied.
 */

/** --dry-run: plan and show, write nothing. */
export {dryRunFlag}

/** --confirm, for the commands that only list what they would change unless it is given. */
export const confirmFlag = (description: string) => Flags.boolean({description})

/** --out FILE: save the plan for --plan FILE to apply exactly. */
export const outFlag = (description: string, options: {exclusive?: string[]} = {}) => Flags.string({description, helpValue: 'FILE', ...options})

/** --out FILE of a command that deletes only with --confirm: the dry run is what is saved. */
export const savedDryRunFlag = outFlag('Save the dry run as a plan to this file, for --plan FILE to apply exactly.', {exclusive: ['confirm', 'plan']})

/** --plan FILE: apply exactly a saved plan, or nothing when what it was made from changed. */
export const planFlag = (description: string) => Flags.string({description, helpValue: 'FILE'})

/** A command with --plan: it learns from each flag's source whether the operator typed it. */
export abstract class PlannedCommand<R = void> extends RedreplCommand<R> {
  /**
   * Refuses flags a saved plan fixes when typed beside --plan: they would
   * silently change nothing. A value from the config file, the environment
   * or a default was not given for this run, and the plan's own wins.
   */
  protected refuseTypedWithPlan(names: readonly string[]): void {
    const typed = names.filter((name) => this.flagSource(name) === 'typed')
    if (typed.length > 0) throw usageError(`--plan carries its own policy: leave out ${typed.map((name) => `--${name}`).join(', ')}`)
  }
}

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
