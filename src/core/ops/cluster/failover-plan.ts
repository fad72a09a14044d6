/**
 * `failover plan`: reads the cluster through the nodes' transports, picks
 * the candidate (RedDB's choice, or the named one, refused when it would
 * lose acknowledged writes), and decides every other node's step
 * (plan/failover.ts). With a path, saves the plan sealed
 * (format/failover-plan.ts) for `failover apply`.
 */
import {repoSection} from '../../config/config-file.js'
import {loadConfig} from '../../config/load-config.js'
import {refused, FormatError, usageError} from '../../errors.js'
import {decodeFailoverPlan, encodeFailoverPlan, MAX_FAILOVER_PLAN_BYTES, type FailoverPlan} from '../../format/failover-plan.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {readBoundedIfExists} from '../../fs/open.js'
import {chooseFailover, pinOf} from '../../plan/failover.js'
import {readCluster, type ClusterOptions} from './status.js'

export interface FailoverPlanOptions extends ClusterOptions {
  candidate?: string
  adoptCatalogTimeline: boolean
  maxLagLsn?: bigint
  force: boolean
  nowMs: bigint
  /** Where to save the plan; not saved when undefined. */
  out?: string
  /** The [repo.NAME] section a reclone goes through, pinned in the plan. */
  repoName?: string
}

export interface FailoverPlanReport extends FailoverPlan {
  /** Always printed (a plan saved before it existed reads without it). */
  repo_name: string | null
  selection: 'auto' | 'named'
  auto_choice: string | null
  best_known_lsn: bigint
  best_known_node: string
  /** What --force or --max-lag-lsn let through, in words; null when nothing was. */
  forced: string | null
  unreachable: Array<{name: string; reason: string}>
  plan_path: string | null
  journal_path: string | null
}

/** The journal `failover apply` keeps beside a plan. */
export const journalPathOf = (planPath: string) => `${planPath}.journal`

/** A journal holds one entry per node; anything near this is not one. */
export const MAX_JOURNAL_BYTES = 4 * 1024 * 1024

export async function planFailover(options: FailoverPlanOptions): Promise<FailoverPlanReport> {
  if (options.out !== undefined) await checkPlanTarget(options.out)
  if (options.repoName !== undefined) {
    const config = await loadConfig(options.configPath)
    if (config === null) throw usageError(`no config file names repository ${JSON.stringify(options.repoName)}`)
    repoSection(config, options.repoName)
  }
  const {cluster, input} = await readCluster(options)
  const chosen = chooseFailover(input, options)
  const unreachable = input.flatMap((node) => (node.reached ? [] : [{name: node.name, reason: node.reason}]))
  const oldPrimaries = input.filter((node) => !node.reached || (node.state.role === 'primary' && node.state.timeline === chosen.previous_timeline)).map((node) => node.name)
  const plan: FailoverPlan & {repo_name: string | null} = {
    cluster,
    created_at_unix_ms: options.nowMs,
    candidate: chosen.candidate,
    replica_id: chosen.replica_id,
    previous_timeline: chosen.previous_timeline,
    new_timeline: chosen.new_timeline,
    fork_lsn: chosen.fork_lsn,
    lost_lsn: chosen.lost_lsn,
    old_primaries: oldPrimaries,
    pins: input.map(pinOf),
    steps: chosen.steps,
    repo_name: options.repoName ?? null,
  }
  const report = {...plan, selection: chosen.selection, auto_choice: chosen.auto_choice, best_known_lsn: chosen.best_known_lsn, best_known_node: chosen.best_known_node, forced: chosen.forced, unreachable, plan_path: options.out ?? null, journal_path: null}
  if (options.out === undefined) return report
  await writeFileAtomic(options.out, encodeFailoverPlan(plan), {label: 'failover-plan', clearLeftovers: 'dead-writers'})
  return {...report, journal_path: journalPathOf(options.out)}
}

/**
 * A plan replaces only an earlier plan whose apply never started: never
 * another file (a typo must not replace a database), and never a plan with a
 * journal, whose steps would then be taken for the new plan's.
 */
async function checkPlanTarget(out: string): Promise<void> {
  const journal = journalPathOf(out)
  if ((await readBoundedIfExists(journal, MAX_JOURNAL_BYTES, 'failover journal', {noFollow: true})) !== undefined) {
    throw refused(`${journal}: a failover apply journal is there: the plan at ${out} has been applied, at least in part; nothing was written`, {code: 'failover.plan-applied', hint: 'save the new plan under another name'})
  }
  const bytes = await readBoundedIfExists(out, MAX_FAILOVER_PLAN_BYTES, 'failover plan', {noFollow: true})
  if (bytes === undefined) return
  try {
    decodeFailoverPlan(bytes)
  } catch (error) {
    if (!(error instanceof FormatError)) throw error
    throw refused(`${out}: exists and is not a failover plan; nothing was written`, {code: 'plan.target', hint: 'choose a new file name, or remove that file first'})
  }
}
