import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {planFailover, type FailoverPlanReport} from '../../core/ops/cluster/failover-plan.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {clusterFlags, clusterOptions} from '../../ui/cluster-flags.js'
import {planLines} from '../../ui/failover.js'
import {jsonFlag, u64Flag} from '../../ui/flags.js'
import {repoNameFlag} from '../../ui/repo-flags.js'

export default class FailoverPlan extends RedreplCommand<FailoverPlanReport> {
  static override summary = 'Plan a failover of a replica set across hosts: the replica to promote and what every other node must then do.'
  static override description = `Reads every node of the cluster through its transport, as cluster candidates does, and picks the replica to promote: RedDB's choice (the same as timeline promote --auto and cluster candidates: the highest (applied, flushed, received) on the newest timeline, from the replicas' own relay logs) unless --candidate names a node. A candidate behind the best acknowledged position (the highest applied LSN any replica acknowledged, in its relay log or a reached primary's valid slot) is refused (exit 4) as timeline promote refuses it, naming who is ahead and the LSNs lost, unless --max-lag-lsn allows that many or --force is given; --force also lets an ineligible candidate through.

The plan says what every other node must then do, by RedDB's rejoin rule against the history the promotion writes: follow the new timeline (and from which LSN), rewind to the fork, or be recloned from a base backup of the new primary; a node that could not be reached is manual. Each decision comes with its reason.

--out FILE saves the plan, sealed with a CRC (a damaged or edited plan is refused), for failover apply: the cluster, the candidate and the promotion (timelines, fork LSN), the nodes that may still run as the old primary (a reached primary, and every node not reached), each node's role, timeline, position and history fingerprint as read now, each other node's step, the repository a reclone goes through when --repo-name pins one, and the time it was made. A plan file is never written over anything but an unapplied plan (exit 4 when FILE.journal exists). Reads the nodes only.`

  static override examples = [
    '<%= config.bin %> failover plan --cluster main',
    '<%= config.bin %> failover plan --cluster main --out /var/lib/redrepl/failover.plan',
    '<%= config.bin %> failover plan --cluster main --candidate db3 --max-lag-lsn 4096 --out failover.plan --json',
  ]

  static override flags = {
    ...clusterFlags,
    json: jsonFlag,
    candidate: Flags.string({description: 'Promote this node (its [node.NAME] name) instead of RedDB\'s choice.', helpValue: 'NODE'}),
    out: Flags.string({description: 'Save the plan here for failover apply (a new file, or an earlier plan never applied).', helpValue: 'FILE'}),
    'max-lag-lsn': u64Flag({description: 'Accept a candidate that throws away up to N acknowledged LSNs (default 0: none).', helpValue: 'N'}),
    'adopt-catalog-timeline': Flags.boolean({description: 'Count acks stamped with another timeline as the newest timeline\'s (after a failover RedDB 1.12 stamps relay manifests with timeline 1).'}),
    'repo-name': repoNameFlag('Pin the [repo.NAME] section of the config file whose repository failover apply carries a reclone\'s base backup through (default: chosen at apply: its --repo-name, else the config file\'s only [repo.NAME] section).'),
    force: Flags.boolean({description: 'Plan the promotion of a candidate that loses acknowledged writes or is not eligible. Never taken from a config file.'}),
  }

  async run(): Promise<FailoverPlanReport> {
    const {flags} = await this.parse(FailoverPlan)
    const report = await planFailover({
      ...clusterOptions(flags),
      candidate: flags.candidate,
      adoptCatalogTimeline: flags['adopt-catalog-timeline'],
      maxLagLsn: flags['max-lag-lsn'],
      force: flags.force,
      nowMs: nowMs(),
      out: flags.out,
      repoName: flags['repo-name'],
    })
    if (report.forced !== null) process.stderr.write(`redrepl: warning: ${report.forced}\n`)
    return report
  }

  protected override human(report: FailoverPlanReport): void {
    for (const line of planLines(report)) this.say(line)
    if (report.repo_name) this.say(`reclones go through repository ${report.repo_name}`)
    for (const node of report.unreachable) this.say(`unreachable: ${node.name}: ${node.reason}`)
    this.say(report.plan_path === null ? 'not saved (pass --out FILE to apply it with failover apply)' : `saved to ${report.plan_path}; apply it with: redrepl failover apply --plan ${report.plan_path}`)
  }
}
