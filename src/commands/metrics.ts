import os from 'node:os'
import {performance} from 'node:perf_hooks'

import {Flags} from '../ui/oclif.js'

import {nowMs} from '../core/clock.js'
import {runCheck} from '../core/ops/monitoring/check.js'
import {writeMetricsTextfile} from '../core/ops/monitoring/metrics-textfile.js'
import {RedreplCommand} from '../ui/base-command.js'
import {checkFlags, checkOptionsFromFlags} from '../ui/check-flags.js'
import {requireDataPath} from '../ui/flags.js'
import {METRICS, REPO_LABEL, renderFailedScrape, renderMetrics} from '../ui/metrics.js'
import {severalRepositories} from '../ui/repo-set.js'

const METRIC_LIST = Object.values(METRICS)
  .map((m) => `  ${m.name}${m.labels.length > 0 ? `{${m.labels.join(',')}}` : ''} (${m.type}): ${m.help}`)
  .join('\n')

export default class Metrics extends RedreplCommand {
  static override summary = 'Print the node\'s state as Prometheus metrics, or write them for node_exporter\'s textfile collector.'
  static override description = `Runs "redrepl check" (same thresholds and --deep, quick by default) and prints its measurements in the Prometheus text exposition format on stdout, or with --textfile replaces FILE atomically (temp file, fsync, rename) so that node_exporter's textfile collector, run from cron beside it, never reads half a file. Values print exactly; LSNs are record numbers, not bytes. Every sample carries two labels besides its own: node (--node, the config section or repository namespace; default: the host name up to its first dot) and cluster (--cluster, or cluster = "NAME" in the config; empty, which Prometheus reads as no label, when not set), so that two nodes on one host, writing two textfiles into one collector directory, never merge into one series. The metrics:

${METRIC_LIST}

With --repo, a repository that cannot be read within --timeout (default 20s) gives redrepl_repo_up 0 and the repo.unreachable finding; the node's metrics are written as usual.

With no repository named (no --repo, --repo-name, REDREPL_REPO or repo setting) and [repo.NAME] sections in the config file, each of those repositories is measured with its own options, as "check" does, and each one's redrepl_repo_* and redrepl_archive_* series carry a ${REPO_LABEL}="NAME" label; redrepl_repo_lagging{${REPO_LABEL}="NAME"} is 1 for one behind another (the repo.lagging finding, also counted in redrepl_check_findings). One that cannot be read gives its redrepl_repo_up{${REPO_LABEL}="NAME"} 0 and the others are measured all the same. A single repository's series carry no ${REPO_LABEL} label.

redrepl_basebackup_last_checkpoint_timestamp_seconds, the former name of redrepl_basebackup_last_completed_timestamp_seconds, is still written with the same value until redrepl 0.3.

metrics prints Prometheus text only and takes no --json: "redrepl check --json" is the same report as a JSON document.

If the run fails, --textfile still replaces FILE with redrepl_scrape_success 0 and redrepl_check_status 3, so the failure shows in Prometheus instead of a stale file that looks healthy, and the command then exits with the failure's code.

Exit status 0 means the metrics were written, whatever the check's state (that is redrepl_check_status); a failure exits with redrepl's usual codes (below).`

  static override examples = [
    '<%= config.bin %> metrics --data-path /var/lib/reddb/data.rdb',
    '<%= config.bin %> metrics --data-path /var/lib/reddb/data.rdb --textfile /var/lib/node_exporter/textfile/redrepl.prom',
  ]

  static override flags = {
    ...checkFlags,
    cluster: Flags.string({description: 'The cluster this node belongs to, as the cluster label on every metric (best set once in the config file: cluster = "NAME"; default: empty, no label).', helpValue: 'NAME'}),
    textfile: Flags.string({description: 'Replace this *.prom file atomically instead of printing (for node_exporter --collector.textfile.directory).', helpValue: 'FILE'}),
  }

  async run(): Promise<void> {
    const started = performance.now()
    // As typed: parse() replaces this.argv with the config file's settings added.
    const typed = [...this.argv]
    const {flags} = await this.parse(Metrics)
    const target = {node: flags.node ?? os.hostname().split('.')[0], cluster: flags.cluster ?? ''}
    let text: string
    try {
      const repositories = await severalRepositories(flags, typed, async (argv) => (await this.parse(Metrics, argv)).flags)
      const report = await runCheck(requireDataPath(flags['data-path']), {...checkOptionsFromFlags(flags, nowMs()), repositories})
      text = renderMetrics(report, performance.now() - started, target)
    } catch (error) {
      if (flags.textfile !== undefined) await writeMetricsTextfile(flags.textfile, renderFailedScrape(performance.now() - started, target))
      throw error
    }
    if (flags.textfile === undefined) process.stdout.write(text)
    else await writeMetricsTextfile(flags.textfile, text)
  }
}
