import path from 'node:path'

import {nowMs} from '../../core/clock.js'
import {expireBasebackups, type BasebackupExpireReport} from '../../core/ops/basebackup-expire.js'
import {withWriteGuard} from '../../core/ops/guard.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {retentionFlags, retentionPolicy} from '../../ui/retention-flags.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const EXPIRE_COLUMNS: Array<Column<BasebackupExpireReport['backups'][number]>> = [
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
  {header: 'size', value: (b) => formatBytes(b.snapshot_bytes), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 2},
  {header: 'action', value: (b) => b.action, priority: 1},
  {header: 'reason', value: (b) => b.reason, priority: 1},
  {header: 'manifest', value: (b) => path.basename(b.manifest_path), raw: (b) => b.manifest_path, key: 'manifest_path', priority: 3},
]

export default class BasebackupExpire extends RedreplCommand {
  static override summary = 'Delete the base backups a retention policy no longer keeps (dry run unless --confirm).'
  static override description = `Applies --keep-last N (the N newest by checkpoint) or --keep-within DURATION (taken within it, by the manifest's modification time) to the current timeline's base backups, and lists each with keep or delete and the reason. The newest backup usable for catch-up is always kept, whatever the policy.

Nothing is deleted without --confirm (as WAL-G's "delete retain ... --confirm"). Each backup goes manifest first, then its chunks, as "basebackup delete" does. Safe next to a live node.`

  static override examples = [
    '<%= config.bin %> basebackup expire --data-path /var/lib/reddb/data.rdb --keep-last 3',
    '0 4 * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb <%= config.bin %> basebackup expire --keep-within 7d --confirm --json',
  ]

  static override flags = {'data-path': dataPathFlag, json: jsonFlag, wait: waitFlag, ...retentionFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(BasebackupExpire)
    this.json = flags.json
    const dataPath = requireDataPath(flags['data-path'])
    const policy = retentionPolicy(flags)
    const report = await withWriteGuard({dataPath, command: 'basebackup expire', safeNextToLiveNode: true, waitMs: flags.wait * 1000}, (layout) =>
      expireBasebackups(layout, policy, {confirm: flags.confirm, nowMs: nowMs()}),
    )
    const backups = tableOf(EXPIRE_COLUMNS, report.backups)
    await this.emit(report, () => {
      if (report.backups.length === 0) {
        this.say(`no base backup on timeline ${report.timeline}`)
        return
      }
      this.say(renderColumns(backups))
      const doomed = report.backups.filter((b) => b.action === 'delete')
      if (report.dry_run) this.say(`dry run: would delete ${doomed.length} backup(s); pass --confirm to delete`)
      else this.say(`deleted ${report.deleted} backup(s), ${formatBytes(report.freed_bytes)}`)
    }, backups)
  }
}
