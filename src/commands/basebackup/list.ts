import path from 'node:path'

import {nowMs} from '../../core/clock.js'
import {listBasebackupReport, type BasebackupEntry, type BasebackupListing} from '../../core/ops/basebackup/inspect.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'
import {formatAge, formatTimestamp} from '../../ui/time.js'

function backupColumns(now: bigint): Array<Column<BasebackupEntry>> {
  return [
    {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
    {header: 'start', value: (b) => b.start_lsn, key: 'start_lsn', priority: 3},
    {header: 'timeline', value: (b) => b.timeline, priority: 3},
    {header: 'created', value: (b) => formatTimestamp(b.created_unix_ms), raw: (b) => b.created_unix_ms, key: 'created_unix_ms', priority: 2},
    {header: 'age', value: (b) => formatAge(b.created_unix_ms, now), raw: (b) => b.age_ms, key: 'age_ms', priority: 1},
    {header: 'size', value: (b) => formatBytes(b.snapshot_bytes), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 1},
    {header: 'chunks', value: (b) => b.chunks, priority: 3},
    {header: 'usable', value: (b) => (b.usable_for_catchup ? 'yes' : b.damage !== null ? 'damaged' : 'no'), raw: (b) => b.usable_for_catchup, priority: 1},
    {header: 'manifest', value: (b) => path.basename(b.path), raw: (b) => b.path, key: 'manifest_path', priority: 2},
  ]
}

export default class BasebackupList extends RedreplCommand<BasebackupListing> {
  static override summary = 'List the base backups of the current timeline.'
  static override description = `Every *.redbase manifest in the current timeline's basebackup/ directory, sorted by (timeline, checkpoint), with when it was made (the manifest's mtime: RedDB writes the manifest last) and its age, its size, chunk count, and whether it can serve a catch-up: complete (the manifest is sane for its size — a snapshot a database file can hold, chunks cut as every writer cuts them — and every chunk is there with its size, one stat each) and on the current timeline with a checkpoint at or beyond the oldest LSN the WAL still serves without a gap up to the head. A backup that is not complete is shown "damaged", and --json's damage says why (the file and the problem; null for a complete one): it is never counted usable, so "basebackup expire", "catchup plan", "rejoin", "basebackup materialize" and "check" pass over it. For a usable backup, --json's wal_lsns_after_checkpoint counts the LSNs of WAL, all still on disk, from its checkpoint to the WAL head: what a catch-up from it replays. REDREPL_NOW_MS pins "now" for the ages. Reads only; use "basebackup verify" to read the chunks.`

  static override examples = ['<%= config.bin %> basebackup list --data-path /var/lib/reddb/data.rdb']

  static override flags = {'data-path': dataPathFlag, json: jsonFlag}

  /** The clock the backups' ages were measured at. */
  private now = 0n

  async run(): Promise<BasebackupListing> {
    const {flags} = await this.parse(BasebackupList)
    this.now = nowMs()
    return listBasebackupReport(await openLayout(requireDataPath(flags['data-path'])), this.now)
  }

  protected override human(report: BasebackupListing): void {
    if (report.basebackups.length === 0) {
      this.say(`no base backup on timeline ${report.timeline}`)
      return
    }
    this.say(renderColumns(this.mainTable(report)))
    this.say(`usable = complete and checkpoint ≥ ${report.available_from_lsn}, the oldest LSN the WAL on timeline ${report.timeline} serves without a gap`)
    for (const b of report.basebackups) if (b.damage !== null) this.say(`damaged: ${b.damage}`)
  }

  protected override mainTable(report: BasebackupListing) {
    return tableOf(backupColumns(this.now), report.basebackups)
  }
}
