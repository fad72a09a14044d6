import {Flags} from '../../ui/oclif.js'

import {EXIT_CODES} from '../../core/errors.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {showRelay, type RelayShowReport} from '../../core/ops/relay/show.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderColumns, renderFields, tableOf, type Column} from '../../ui/table.js'

const RELAY_SEGMENT_COLUMNS: Array<Column<RelayShowReport['manifest']['segments'][number]>> = [
  {header: 'segment', value: (s) => s.relative_path, priority: 1},
  {header: 'start', value: (s) => s.start_lsn, priority: 1},
  {header: 'end', value: (s) => s.end_lsn, priority: 1},
  {header: 'checksum', value: (s) => s.checksum, priority: 2},
]

export default class RelayShow extends RedreplCommand<RelayShowReport> {
  static override summary = 'Show a replica\'s relay log: positions, segments, lag and consistency.'
  static override description = `Reads the replica's relay manifest under the current timeline's directory and checks it against its segments (each must exist, decode, and match the manifest's timeline, range and checksum). Shows received / flushed / applied, the ack RedDB derives from them, every segment, and how far applied trails this node's WAL head. Exit 3 when the manifest is inconsistent with its segments (the report is still printed), 6 when the replica has no relay manifest.`

  static override examples = ['<%= config.bin %> relay show --data-path /var/lib/reddb/data.rdb --replica replica-a']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    replica: Flags.string({description: 'The replica to show.', required: true, helpValue: 'ID'}),
  }

  async run(): Promise<RelayShowReport> {
    const {flags} = await this.parse(RelayShow)
    return showRelay(await openLayout(requireDataPath(flags['data-path'])), flags.replica)
  }

  protected override human(report: RelayShowReport): void {
    const m = report.manifest
    this.say(
      renderFields([
        ['replica', m.replica_id],
        ['timeline', m.timeline],
        ['received', m.received_lsn],
        ['flushed', m.flushed_lsn],
        ['applied', m.applied_lsn],
        ['WAL head here', report.wal_head_lsn],
        ['apply lag', report.lag_lsn],
        ['consistent', report.consistent ? 'yes' : paint.red('no')],
      ]),
    )
    if (m.segments.length > 0) this.say(renderColumns(tableOf(RELAY_SEGMENT_COLUMNS, m.segments)))
    for (const problem of report.findings) this.say(paint.red(`problem: ${problem.message}`))
  }

  protected override exitCodeOf(report: RelayShowReport): number {
    return report.consistent ? 0 : EXIT_CODES.corrupt
  }
}
