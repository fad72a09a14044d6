import {openLayout} from '../../core/ops/open-layout.js'
import {showTimeline} from '../../core/ops/timeline-show.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderTable} from '../../ui/table.js'
import {formatTimestamp} from '../../ui/time.js'

export default class TimelineShow extends RedreplCommand {
  static override summary = 'Show the timeline history, the current timeline marked.'
  static override description = `Reads timeline-history.redtimeline of the node's layout and lists every timeline: its parent, the LSN where it forked from the parent, when it was created and why (the initial timeline, or the replica whose promotion created it).

A node without a history file is on timeline 1; that is reported, not treated as an error.`

  static override examples = ['<%= config.bin %> timeline show --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> timeline show --json']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TimelineShow)
    this.json = flags.json
    const report = await showTimeline(await openLayout(requireDataPath(flags['data-path'])))
    await this.emit(report, () => {
      if (!report.history_exists) {
        this.say(`no timeline history at ${report.history_path}: the node is on timeline 1`)
        return
      }
      const rows = report.entries.map((entry) => [
        entry.current ? paint.bold(`* ${entry.timeline}`) : `  ${entry.timeline}`,
        entry.parent_timeline,
        entry.parent_timeline === null ? null : entry.fork_lsn,
        formatTimestamp(entry.created_at_unix_ms),
        entry.reason,
      ])
      this.say(renderTable(['timeline', 'parent', 'fork lsn', 'created', 'reason'], rows))
      this.say(`current timeline: ${report.current_timeline}`)
    })
  }
}
