import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {applyFailover, type AppliedStep, type FailoverApplyReport} from '../../core/ops/cluster/failover-apply.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {clusterFlags, clusterOptions} from '../../ui/cluster-flags.js'
import {confirmOnTerminal, yesFlag} from '../../ui/confirm.js'
import {dryRunFlag, jsonFlag} from '../../ui/flags.js'
import {repoNameFlag} from '../../ui/repo-flags.js'

const {cluster: _cluster, ...reachFlags} = clusterFlags

export default class FailoverApply extends RedreplCommand<FailoverApplyReport> {
  static override summary = 'Carry out a saved failover plan across hosts, step by step, resumable.'
  static override description = `Reads the plan saved by failover plan --out (refused, exit 3, when its CRC, magic or fields are wrong) and the cluster it names, through each node's transport, and checks before anything is done (each refusal exit 4, nothing done):
- the cluster is the one planned for: every node's role, timeline, position and history fingerprint as pinned in the plan (a node whose step is already done excepted), no node gone or added; the message names what changed;
- RedDB is not running as the old primary: on its host, through its transport, no process holds its data file's flock (the live-node guard, reported by cluster node as reddb_pids). An old primary that cannot be reached is refused unless --old-primary-down says its host is down (never taken from a config file).

Then, asking first on a terminal (--yes for scripts, never taken from a config file): the promotion, run on the candidate through its transport as timeline promote --replica R --expect-timeline T with the plan's values (its result must be the planned timeline and fork LSN); then each other node's step. Follow, rewind and already-current are what RedDB does when the node starts as a replica of the new primary: the step re-reads the node and the new primary and checks RedDB's rejoin rule still gives the planned decision. A reclone goes through a repository when there is one to carry the backup between hosts: the one failover plan --repo-name pinned in the plan (a different --repo-name here is refused, exit 4), else --repo-name NAME (a [repo.NAME] section of the config file), else the config file's only [repo.NAME] section. It is two steps, each journaled: (1) on the new primary's host, through its transport, basebackup create --from its data file (the backup must be on the new timeline with its checkpoint at or past the fork, or the step is refused), then repo push --repo-name NAME --cluster CLUSTER; (2) on the node's host, repo restore --repo-name NAME --cluster CLUSTER --rebootstrap --checkpoint-lsn of exactly that backup (its key is checked against step 1's), refused there (exit 4) while RedDB holds the node's data file, then layout verify of the node with the staged database and marker. The node swaps the backup in when RedDB next starts there as a replica of the new primary. Each run on a node has --step-timeout. A node on this machine (no transport) is given this run's --config, so it reads the same [repo.NAME] section; a node on another host reads its own config file, which must name the repository the same. Without a repository a reclone is manual, and so is a node that was unreachable when planned: the step records the exact commands (basebackup create on the new primary, copy the backup, basebackup materialize --rebootstrap on the node) and prints them.

Each step is journaled in FILE.journal beside the plan (rewritten atomically after every step, bound to the plan by its sha256). A re-run after a failure resumes at the step that failed and never repeats a done one (a reclone killed between its two steps restores the backup step 1 pinned, without taking another); a promotion recorded on the candidate but not yet in the journal (a run killed in between) is found in its history and not done twice. --dry-run checks everything and prints the steps with their state, changing nothing. Exit 0 when every step is done or handed over as manual; 1 when a step failed (the journal says which; run again once fixed).`

  static override examples = [
    '<%= config.bin %> failover apply --plan /var/lib/redrepl/failover.plan --dry-run',
    '<%= config.bin %> failover apply --plan /var/lib/redrepl/failover.plan',
    '<%= config.bin %> failover apply --plan failover.plan --old-primary-down --yes --json',
    '<%= config.bin %> failover apply --plan failover.plan --repo-name offsite --yes',
  ]

  static override flags = {
    ...reachFlags,
    json: jsonFlag,
    plan: Flags.string({description: 'The plan saved by failover plan --out.', helpValue: 'FILE', required: true}),
    'dry-run': dryRunFlag,
    yes: yesFlag,
    'repo-name': repoNameFlag('The [repo.NAME] section of the config file whose repository carries a reclone\'s base backup from the new primary to the node (default: the config file\'s only [repo.NAME] section; none: a reclone is manual).'),
    'step-timeout': Flags.integer({description: 'Seconds each backup, push, restore and verify run on a node may take before the step fails.', default: 3600, min: 1, helpValue: 'SECONDS'}),
    'old-primary-down': Flags.boolean({description: 'The old primary cannot be reached because its host is down: go ahead without checking that RedDB is stopped there. Never taken from a config file.'}),
  }

  async run(): Promise<FailoverApplyReport> {
    const {flags} = await this.parse(FailoverApply)
    return applyFailover({
      ...clusterOptions({...flags, cluster: undefined}),
      planPath: flags.plan,
      dryRun: flags['dry-run'],
      oldPrimaryDown: flags['old-primary-down'],
      repoName: flags['repo-name'],
      transferTimeoutMs: flags['step-timeout'] * 1000,
      now: nowMs,
      confirm: (pending) => confirmOnTerminal(`Carry out these ${pending.length} step(s) of the failover?`, pending.map(stepLine), flags.yes),
    })
  }

  protected override human(report: FailoverApplyReport): void {
    this.say(`cluster ${report.cluster}: failover to ${report.candidate}, timeline ${report.new_timeline} at LSN ${report.fork_lsn}${report.resumed ? ' (resumed from the journal)' : ''}`)
    this.say(report.repo_name === null ? 'reclones: manual (no repository named)' : `reclones through repository ${report.repo_name} (${report.repo_name_source})`)
    for (const check of report.old_primary_checks) this.say(`old primary ${check.node}: ${check.state}: ${check.detail}`)
    for (const step of report.steps) {
      this.say(stepLine(step))
      for (const command of step.commands) this.say(`    ${command}`)
    }
    this.say(report.dry_run ? 'dry run: nothing done' : `journal: ${report.journal_path}`)
  }
}

function stepLine(step: AppliedStep): string {
  return `[${step.status}] ${step.step} ${step.node}${step.action === 'promote' ? '' : ` (${step.action})`}: ${step.detail}`
}
