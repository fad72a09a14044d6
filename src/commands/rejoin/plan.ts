import {Flags} from '../../ui/oclif.js'

import {usageError} from '../../core/errors.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {planNodeRejoin, readNodePosition, type NodePosition, type RejoinDecision, type RejoinReport} from '../../core/ops/timeline/rejoin.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath, u64Flag} from '../../ui/flags.js'
import {findingLine} from '../../ui/findings.js'
import {renderNextSteps} from '../../ui/next-steps.js'
import {paint} from '../../ui/style.js'

const ADVICE: Record<RejoinDecision, (report: RejoinReport) => string> = {
  already_current: () => 'the node is already on the current timeline: start it as a replica',
  follow_new_timeline: () => 'the node can follow the new timeline from WAL, starting after its flushed LSN',
  rewind: (report) =>
    report.rejoin_node_flushed_lsn === report.rejoin_rewind_to_lsn
      ? 'the node stopped exactly at the fork LSN: RedDB still records a rewind, with nothing past the fork to discard; then it follows the new timeline'
      : 'the node wrote past the fork: rewind it to the fork LSN (discarding what it wrote after), then follow the new timeline',
  reclone: () => 'the node cannot catch up from WAL: rebuild it from a base backup (redrepl basebackup materialize --rebootstrap) or reclone it',
}

export default class RejoinPlan extends RedreplCommand<RejoinReport> {
  static override summary = 'Decide how an old node rejoins after a failover (like pg_rewind\'s dry run).'
  static override description = `Given the old node's timeline and flushed LSN, and the oldest LSN still available on this primary, applies RedDB's rule against this primary's timeline history: node on the current timeline → already_current; node timeline not in the history → reclone; otherwise with F the fork LSN of the entry after the node's timeline: flushed ≥ F → rewind to F; else flushed ≥ available-from → follow_new_timeline from the flushed LSN; else reclone.

Prints the decision with the state fields RedDB records for it (state, rejoin_node_timeline, rejoin_node_flushed_lsn, rejoin_available_from_lsn, rejoin_target_timeline, rejoin_rewind_to_lsn, rejoin_start_lsn).

--data-path is the new primary. The old node's position comes from --node-timeline and --node-flushed-lsn, or is read from its own files with --node-data-path (its history's current timeline, and its WAL head or else its relay manifest's flushed LSN). --available-from-lsn defaults to the start LSN of the oldest segment of the unbroken run of WAL segments that ends at the newest one on the primary's current timeline: WAL below a missing segment is not offered (each hole is reported as wal.gap, --json: findings[]). When that timeline has no WAL at all the default does not exist: a decision that needs it (following the new timeline) is not made and the command exits 6 saying so; the others are made and report available_from_source "no-wal". Reads only.

Then the next steps (--json: next_steps[], each {description, argv}; argv is null for a step only RedDB or the operator performs): for reclone, the newest usable base backup of the current timeline (--json: reclone_basebackup) and the exact "basebackup materialize --manifest … --rebootstrap" command that stages it on the node ("rejoin apply" runs it), or, without a usable backup, the "basebackup create" command that takes one; for follow_new_timeline and rewind, the "catchup plan" command that checks the primary still serves the WAL the node needs, and what RedDB records at the node's next start. The node's data path appears in the commands only when given with --node-data-path.

Findings say what the decision leaves unsaid (the decision itself stays RedDB's): rejoin.wal-gone when the decision is rewind but this primary no longer serves WAL from the fork, so after the rewind the node could not follow either and must be rebuilt from a base backup; rejoin.ahead-of-primary when a node already on the current timeline has flushed past the primary's WAL head, so it holds writes the primary never had. A node that stopped exactly at the fork LSN is a rewind by RedDB's rule, with nothing past the fork to discard.`

  static override examples = [
    '<%= config.bin %> rejoin plan --data-path /var/lib/reddb/data.rdb --node-timeline 1 --node-flushed-lsn 29',
    '<%= config.bin %> rejoin plan --data-path /new/primary/data.rdb --node-data-path /old/primary/data.rdb --json',
  ]

  // oclif's generated usage garbles two flags that are each exclusive with a third.
  static override usage = ['<%= command.id %> [--data-path D] (--node-data-path D | --node-timeline N --node-flushed-lsn N) [--available-from-lsn N] [--json]']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    'node-timeline': u64Flag({description: 'The old node\'s timeline.', exclusive: ['node-data-path']}),
    'node-flushed-lsn': u64Flag({description: 'The old node\'s flushed LSN.', exclusive: ['node-data-path']}),
    'node-data-path': Flags.string({description: 'Read the old node\'s timeline and flushed LSN from its data path.', helpValue: 'D'}),
    'available-from-lsn': u64Flag({description: 'The oldest LSN this primary still has in WAL (default: from its WAL on disk).'}),
  }

  async run(): Promise<RejoinReport> {
    const {flags} = await this.parse(RejoinPlan)
    const layout = await openLayout(requireDataPath(flags['data-path']))
    let node: NodePosition
    if (flags['node-data-path'] !== undefined) node = await readNodePosition(flags['node-data-path'])
    else if (flags['node-timeline'] !== undefined && flags['node-flushed-lsn'] !== undefined) {
      node = {timeline: flags['node-timeline'], flushedLsn: flags['node-flushed-lsn'], source: 'flags'}
    } else throw usageError('give the old node\'s --node-timeline and --node-flushed-lsn, or its --node-data-path')
    return planNodeRejoin(layout, node, flags['available-from-lsn'], requireDataPath(flags['data-path']))
  }

  protected override human(report: RejoinReport): void {
    const detail =
      report.decision === 'rewind'
        ? ` to LSN ${report.rejoin_rewind_to_lsn}, then timeline ${report.rejoin_target_timeline}`
        : report.decision === 'follow_new_timeline'
          ? ` timeline ${report.rejoin_target_timeline} from LSN ${report.rejoin_start_lsn}`
          : ''
    this.say(`${paint.bold(report.decision)}${detail}`)
    const primaryWal = report.available_from_source === 'no-wal' ? 'no WAL yet' : `WAL from LSN ${report.rejoin_available_from_lsn}`
    this.say(`node: timeline ${report.rejoin_node_timeline}, flushed LSN ${report.rejoin_node_flushed_lsn}${report.node_position_source === 'flags' ? '' : ` (from its ${report.node_position_source})`}; primary: timeline ${report.timeline}, ${primaryWal}`)
    this.say(`state ${report.state}: ${ADVICE[report.decision](report)}`)
    for (const f of report.findings) this.say(findingLine(f))
    for (const line of renderNextSteps(report.next_steps)) this.say(line)
  }
}
