import {openLayout} from '../../core/ops/node/open-layout.js'
import {showTimeline, type TimelineReport} from '../../core/ops/timeline/show.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'
import {formatTimestamp} from '../../ui/time.js'

const TIMELINE_COLUMNS: Array<Column<TimelineReport['entries'][number]>> = [
  {header: 'timeline', value: (e) => (e.current ? paint.bold(`* ${e.timeline}`) : `  ${e.timeline}`), raw: (e) => e.timeline, priority: 1},
  {header: 'current', value: (e) => e.current, onlyInTsv: true, priority: 1},
  {header: 'parent', value: (e) => e.parent_timeline, key: 'parent_timeline', priority: 1},
  {header: 'fork lsn', value: (e) => (e.parent_timeline === null ? null : e.fork_lsn), priority: 1},
  {header: 'created', value: (e) => formatTimestamp(e.created_at_unix_ms), raw: (e) => e.created_at_unix_ms, key: 'created_unix_ms', priority: 2},
  {header: 'reason', value: (e) => e.reason, priority: 3},
]

export default class TimelineShow extends RedreplCommand<TimelineReport> {
  static override summary = 'Show the timeline history, the current timeline marked.'
  static override description = `Reads timeline-history.redtimeline of the node's layout and lists every timeline: its parent, the LSN where it forked from the parent, when it was created and why (the initial timeline, or the replica whose promotion created it).

A node without a history file is on timeline 1; that is reported, not treated as an error.`

  static override examples = ['<%= config.bin %> timeline show --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> timeline show --json']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
  }

  async run(): Promise<TimelineReport> {
    const {flags} = await this.parse(TimelineShow)
    return showTimeline(await openLayout(requireDataPath(flags['data-path'])))
  }

  protected override human(report: TimelineReport): void {
    if (!report.history_exists) {
      this.say(`no timeline history at ${report.history_path}: the node is on timeline 1`)
      return
    }
    this.say(renderColumns(this.mainTable(report)))
    this.say(`current timeline: ${report.timeline}`)
  }

  protected override mainTable(report: TimelineReport) {
    return tableOf(TIMELINE_COLUMNS, report.entries)
  }
}
