import {nowMs} from '../../core/clock.js'
import {showSlots} from '../../core/ops/slots.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderTable} from '../../ui/table.js'
import {formatAge, formatTimestamp} from '../../ui/time.js'

export default class SlotsShow extends RedreplCommand {
  static override summary = 'Show the replication slots of the current timeline.'
  static override description = `Lists every slot of the binary slot catalog of the current timeline and, if present, of the legacy JSON store beside the data file (a RedDB primary loads both when it starts): replica, active, restart / write / flush / apply LSNs, lag behind the WAL head, when the replica was last seen, invalidation reason and time. The slot whose min(flush, apply) is the retention floor is marked: it decides how much WAL is kept.

A catalog whose timeline differs from the directory it lives in is flagged (RedDB 1.12 writes it that way after a failover).`

  static override examples = ['<%= config.bin %> slots show --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> slots show --json']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(SlotsShow)
    this.json = flags.json
    const now = nowMs()
    const report = await showSlots(requireDataPath(flags['data-path']), now)
    await this.emit(report, () => {
      this.say(`timeline ${report.timeline}, WAL head ${report.wal_head ?? 'none'}, retention floor ${report.retention_floor_lsn ?? 'none (no active slot)'}`)
      for (const warning of report.warnings) this.say(paint.yellow(`warning: ${warning}`))
      if (report.slots.length === 0) {
        this.say('no replication slots')
        return
      }
      const rows = report.slots.map((slot) => [
        slot.holds_floor ? paint.bold(`${slot.replica_id} *`) : slot.replica_id,
        slot.active ? 'yes' : paint.red('no'),
        slot.restart_lsn,
        slot.confirmed_write_lsn,
        slot.confirmed_flush_lsn,
        slot.confirmed_apply_lsn,
        slot.lag,
        slot.last_seen_at_unix_ms === 0n ? 'never' : formatAge(slot.last_seen_at_unix_ms, now),
        slot.invalidation_reason,
        slot.invalidated_at_unix_ms === null ? null : formatTimestamp(slot.invalidated_at_unix_ms),
        slot.source,
      ])
      this.say(renderTable(['replica', 'active', 'restart', 'write', 'flush', 'apply', 'lag', 'last seen', 'invalidated', 'at', 'source'], rows))
      if (report.slots.some((slot) => slot.holds_floor)) this.say('* holds the retention floor')
    })
  }
}
