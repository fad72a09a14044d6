import path from 'node:path'

import {nowMs} from '../../core/clock.js'
import {listBasebackupReport} from '../../core/ops/basebackup-inspect.js'
import {openLayout} from '../../core/ops/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {renderTable} from '../../ui/table.js'
import {formatAge, formatTimestamp} from '../../ui/time.js'

export default class BasebackupList extends RedreplCommand {
  static override summary = 'List the base backups of the current timeline.'
  static override description = `Every *.redbase manifest in the current timeline's basebackup/ directory, sorted by (timeline, checkpoint), with when it was made (the manifest's mtime: RedDB writes the manifest last) and its age, its size, chunk count, and whether it can serve a catch-up: on the current timeline with a checkpoint at or beyond the oldest LSN still in WAL. For a usable backup, --json's wal_lsns_after_checkpoint counts the LSNs of WAL, all still on disk, from its checkpoint to the WAL head: what a catch-up from it replays. REDREPL_NOW_MS pins "now" for the ages. Reads only; use "basebackup verify" to read the chunks.`

  static override examples = ['<%= config.bin %> basebackup list --data-path /var/lib/reddb/data.rdb']

  static override flags = {'data-path': dataPathFlag, json: jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(BasebackupList)
    this.json = flags.json
    const now = nowMs()
    const report = await listBasebackupReport(await openLayout(requireDataPath(flags['data-path'])), now)
    await this.emit(report, () => {
      if (report.basebackups.length === 0) {
        this.say(`no base backup on timeline ${report.timeline}`)
        return
      }
      this.say(
        renderTable(
          ['checkpoint', 'start', 'timeline', 'created', 'age', 'size', 'chunks', 'usable', 'manifest'],
          report.basebackups.map((b) => [
            b.checkpoint_lsn,
            b.start_lsn,
            b.timeline,
            formatTimestamp(b.created_unix_ms),
            formatAge(b.created_unix_ms, now),
            formatBytes(b.snapshot_bytes),
            b.chunks,
            b.usable_for_catchup ? 'yes' : 'no',
            path.basename(b.path),
          ]),
        ),
      )
      this.say(`usable = checkpoint ≥ ${report.available_from_lsn}, the oldest LSN in WAL on timeline ${report.timeline}`)
    })
  }
}
