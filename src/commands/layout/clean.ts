import {withWriteGuard} from '../../core/ops/node/guard.js'
import {cleanLayout, type LayoutCleanReport, type Leftover} from '../../core/ops/layout/clean.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, forceFlag, jsonFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {confirmFlag} from '../../ui/planned-command.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const LEFTOVER_COLUMNS: Array<Column<Leftover>> = [
  {header: 'kind', value: (l) => l.kind, priority: 1},
  {header: 'size', value: (l) => formatBytes(l.bytes), raw: (l) => l.bytes, key: 'size_bytes', priority: 2},
  {header: 'path', value: (l) => l.path, priority: 1},
  {header: 'reason', value: (l) => l.reason, priority: 3},
]

export default class LayoutClean extends RedreplCommand<LayoutCleanReport> {
  static override summary = 'Remove what interrupted runs left behind (dry run unless --confirm).'
  static override description = `Finds the leftovers "layout verify" reports as notes: base backup staging directories (*.redbase.parts.tmp-<pid>-<nanos>) whose writer is gone, orphan .redbase.parts directories without their manifest, and temporary files of interrupted atomic writes (*.tmp) in the layout root, the timeline, WAL, basebackup and relay directories. Without --confirm it only lists them (a dry run, the default, as for "basebackup expire").

Only removes what is what its name claims: a staging or parts directory must hold nothing but regular chunk files and be named by no manifest (a manifest may name another backup's parts directory), a temp file must be a regular file with a name RedDB or redrepl gives a temp in that directory (an artifact's name with .tmp for its extension, or "<artifact>.<pid>-<random>.tmp"); anything else is listed as skipped, never touched.

No symbolic link inside the layout is followed, except an operator's link of a whole wal/ or basebackup/ directory (or of the layout root): those are entered where they lead, the paths shown are where the files really are, and removals there stay inside the link's target. A link anywhere else on the way (a timeline directory, relay/, a replica's relay directory) is refused (exit 4) before anything is removed; a link where a leftover would be is skipped, never followed. Each removal is made through the directory it was found in, once that directory is seen still inside its tree. Works under the layout lock and refuses while a RedDB process holds the data file (an orphan parts directory is what a running base backup has just before its manifest) unless --force.`

  static override examples = ['<%= config.bin %> layout clean --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> layout clean --data-path /var/lib/reddb/data.rdb --confirm']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    confirm: confirmFlag('Remove the leftovers; without it the command only lists them.'),
    force: forceFlag,
  }

  async run(): Promise<LayoutCleanReport> {
    const {flags} = await this.parse(LayoutClean)
    const dataPath = requireDataPath(flags['data-path'])
    return withWriteGuard({dataPath, command: 'layout clean', force: flags.force, waitMs: flags.wait * 1000}, (layout) => cleanLayout(layout, {confirm: flags.confirm}))
  }

  protected override human(report: LayoutCleanReport): void {
    if (report.leftovers.length > 0) this.say(renderColumns(this.mainTable(report)))
    for (const skip of report.skipped) this.say(`skipped ${skip.path}: ${skip.reason}`)
    if (report.dry_run) this.say(`dry run: ${report.leftovers.length} leftover(s)${report.leftovers.length > 0 ? '; pass --confirm to remove them' : ''}`)
    else this.say(`removed ${report.removed} leftover(s), ${formatBytes(report.freed_bytes)}`)
  }

  protected override mainTable(report: LayoutCleanReport) {
    return tableOf(LEFTOVER_COLUMNS, report.leftovers)
  }
}
