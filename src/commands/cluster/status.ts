import {readClusterStatus, type ClusterStatusReport} from '../../core/ops/cluster/status.js'
import {NagiosCommand} from '../../ui/nagios-command.js'
import {nowMs} from '../../core/clock.js'
import {clusterFlags, clusterOptions, nodeColumns, stateDirFlag, stateDirOf} from '../../ui/cluster-flags.js'
import {jsonFlag, u64Flag} from '../../ui/flags.js'
import {renderColumns, tableOf} from '../../ui/table.js'

export default class ClusterStatus extends NagiosCommand<ClusterStatusReport> {
  static override summary = 'Show every node of a replica set in one view (Nagios plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).'
  static override description = `Reads each node of the cluster listed in the config file ([node.NAME] sections with cluster = "NAME", each with its data-path on its own host) through its transport: the transport key (a command prefix such as "kubectl exec -n db reddb-0 -c redrepl --"), or "ssh -o BatchMode=yes HOST" when only host is set, or this machine when neither is. On the node it runs "redrepl cluster node --data-path P --json" (the redrepl key names another command, e.g. "node /opt/redrepl/bin/run.js"); the words go to the transport as arguments, never through a local shell, and each is quoted for the remote shell when the transport is ssh. Each node has --node-timeout seconds to answer (its transport's whole process group is then killed); --concurrency nodes are asked at once; a node that cannot be reached, does not answer in time or prints anything but the expected document is one row saying why, and the others are read as usual.

One row per node: its role, timeline, WAL head (a primary) or relay flushed/applied LSN (a replica: its own relay log), its lag against the best known position (the furthest WAL head or relay flushed LSN on the newest timeline), when it was last seen answering (this run's time when it answered; for a node that did not, the last time a previous run saw it, or "never") and its problems (the warnings and errors of its layout verify, a lag past --warning-lag-lsn/--critical-lag-lsn, being on an older timeline than the newest: left behind a fork, with RedDB's rejoin decision for it — follow, rewind or reclone — against the history of a node on the newest timeline and the oldest WAL it still serves, in rejoin). Split brain is named, with both nodes and the LSNs, and is CRITICAL for both: two nodes writing on different timelines — a primary (a slot catalog on its timeline), or a replica just promoted that has no slot catalog yet (its own history ends with "promote <its replica id>", the id of a relay log it kept) — saying how far the older one wrote past the fork of the newer; or two histories recording one timeline with different parents or fork points. Every node behind a fork gets its step by RedDB's rejoin rule against the history of one node on the newest timeline (one with WAL first, then the furthest ahead): follow, rewind, or reclone — reclone too for a node whose own history records one of its timelines differently, which that rule treats as a timeline the history does not hold.

The last-seen times are kept in one small state file per cluster, cluster-NAME.json in --state-dir (the config key state-dir; default $XDG_STATE_HOME/redrepl, else ~/.local/state/redrepl), replaced atomically by each run that saw a node answer. A state file that is a symbolic link, larger than 1 MiB or not such a document is refused (UNKNOWN), never overwritten.

Exit status: the state (0 OK, 1 WARNING: a node unreachable, behind a fork, lagging past the warning level or with warning findings; 2 CRITICAL: split brain, no node reached, a lag past the critical level or an error finding); anything that stops the view itself (no config file, no such cluster, a bad flag, a bad state file) is UNKNOWN, printed as "REDREPL UNKNOWN - <message>" on stdout.`

  static override examples = ['<%= config.bin %> cluster status --config /etc/redrepl/redrepl.conf', '<%= config.bin %> cluster status --cluster main --node-timeout 5 --json', '<%= config.bin %> cluster status --state-dir /var/lib/redrepl/state']

  static exitStatus = [
    ['0', 'OK: every node reached, on the newest timeline, no split brain, no problem'],
    ['1', 'WARNING: a node unreachable, behind a fork, lagging past --warning-lag-lsn, or with warning findings'],
    ['2', 'CRITICAL: split brain, no node reached, a lag past --critical-lag-lsn, or an error finding'],
    ['3', 'UNKNOWN: the view could not be made (no config file, no such cluster, a bad flag, a state file that is a link or not a state file)'],
  ]

  static override flags = {
    ...clusterFlags,
    'state-dir': stateDirFlag,
    json: jsonFlag,
    'warning-lag-lsn': u64Flag({description: 'WARNING when a node lags more than N LSNs behind the best known position (default: off).', helpValue: 'N'}),
    'critical-lag-lsn': u64Flag({description: 'CRITICAL when a node lags more than N LSNs behind the best known position (default: off).', helpValue: 'N'}),
  }

  async run(): Promise<ClusterStatusReport> {
    const {flags} = await this.parse(ClusterStatus)
    return readClusterStatus({
      ...clusterOptions(flags),
      warningLagLsn: flags['warning-lag-lsn'],
      criticalLagLsn: flags['critical-lag-lsn'],
      stateDir: stateDirOf(flags['state-dir']),
      nowMs: nowMs(),
    })
  }

  protected override human(report: ClusterStatusReport): void {
    const best = report.best_known_lsn === null ? 'no position known' : `best known position ${report.best_known_lsn} (${report.best_known_node})`
    this.say(`REDREPL ${report.status} - cluster ${report.cluster}: ${report.nodes.length} node(s), newest timeline ${report.newest_timeline ?? 'unknown'}, ${best}`)
    for (const line of report.split_brain) this.say(`split brain: ${line}`)
    this.say(renderColumns(this.mainTable(report)))
    for (const row of report.nodes) for (const problem of row.problems) this.say(`${row.state} ${row.name}: ${problem}`)
  }

  protected override mainTable(report: ClusterStatusReport) {
    return tableOf(nodeColumns(report.checked_at_unix_ms), report.nodes)
  }
}
