import path from 'node:path'

import {listBasebackupReport} from '../../core/ops/basebackup-inspect.js'
import {openLayout} from '../../core/ops/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {renderTable} from '../../ui/table.js'

export default class BasebackupList extends RedreplCommand {
  static override summary = 'List the base backups of the current timeline.'
  static override description = `Every *.redbase manifest in the current timeline's basebackup/ directory, sorted by (timeline, checkpoint), with its size, chunk count, and whether it can serve a catch-up: on the current timeline with a checkpoint at or beyond the oldest LSN still in WAL. Reads only; use "basebackup verify" to read the chunks.`

  static override examples = ['<%= config.bin %> basebackup list --data-path /var/lib/reddb/data.rdb']

  static override flags = {'data-path': dataPathFlag, json: jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(BasebackupList)
    this.json = flags.json
    const report = await listBasebackupReport(await openLayout(requireDataPath(flags['data-path'])))
    await this.emit(report, () => {
      if (report.basebackups.length === 0) {
        this.say(`no base backup on timeline ${report.timeline}`)
        return
      }
      this.say(
        renderTable(
          ['checkpoint', 'start', 'timeline', 'size', 'chunks', 'usable', 'manifest'],
          report.basebackups.map((b) => [b.checkpoint_lsn, b.start_lsn, b.timeline, formatBytes(b.snapshot_bytes), b.chunks, b.usable_for_catchup ? 'yes' : 'no', path.basename(b.path)]),
        ),
      )
      this.say(`usable = checkpoint ≥ ${report.available_from_lsn}, the oldest LSN in WAL on timeline ${report.timeline}`)
    })
  }
}
