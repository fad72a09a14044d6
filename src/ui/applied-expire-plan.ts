import type {AppliedExpirePlan} from '../core/ops/basebackup-expire.js'

/** The line `expire --plan` prints about the plan it applied; `where` is `layout` or `repository`, `what` what the plan deletes. */
export function appliedExpirePlanLine(plan: AppliedExpirePlan, where: string, what: string): string {
  const more = plan.more_released_manifests.length
  const state = plan.fingerprint_matches ? `the ${where} is as planned` : `the ${where} changed without touching the plan's ${what}${plan.input_changes.length > 0 ? ` (${plan.input_changes.join('; ')})` : ''}`
  return `plan ${plan.plan_path}: ${state}${more > 0 ? `; the policy now also deletes ${more} more backup(s), left in place (plan again to delete them)` : ''}`
}
