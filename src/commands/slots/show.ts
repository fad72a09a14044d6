import {nowMs} from '../../core/clock.js'
import {showSlots, type SlotRow, type SlotsReport} from '../../core/ops/slots/show.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {findingLine} from '../../ui/findings.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'
import {formatAge, formatTimestamp} from '../../ui/time.js'

/** The floor line; it never says "no active slot" above an active legacy row. */
function floorText(report: SlotsReport): string {
  const legacyActive = report.slots.some((slot) => slot.source === 'legacy' && slot.active)
  const legacyNote = legacyActive ? '; legacy-store slots do not set it' : ''
  switch (report.retention_floor_source) {
    case 'catalog':
      return `retention floor ${report.retention_floor_lsn}`
    case 'no-catalog':
      return `retention floor none (no slot catalog, so RedDB prunes no WAL${legacyNote})`
    case 'no-active-slot':
      return `retention floor none (no active slot in the slot catalog${legacyNote})`
  }
}

/** The slot table; on a narrow terminal the LSNs a person rarely needs go first. */
function slotColumns(now: bigint): Array<Column<SlotRow>> {
  return [
    {header: 'replica', value: (s) => (s.holds_floor ? paint.bold(`${s.replica_id} *`) : s.replica_id), raw: (s) => s.replica_id, key: 'replica_id', priority: 1},
    {header: 'holds floor', value: (s) => s.holds_floor, onlyInTsv: true, priority: 1},
    {header: 'active', value: (s) => (s.active ? 'yes' : paint.red('no')), raw: (s) => s.active, priority: 1},
    {header: 'restart', value: (s) => s.restart_lsn, key: 'restart_lsn', priority: 3},
    {header: 'write', value: (s) => s.confirmed_write_lsn, key: 'confirmed_write_lsn', priority: 4},
    {header: 'flush', value: (s) => s.confirmed_flush_lsn, key: 'confirmed_flush_lsn', priority: 2},
    {header: 'apply', value: (s) => s.confirmed_apply_lsn, key: 'confirmed_apply_lsn', priority: 3},
    {header: 'lag', value: (s) => s.lag_lsn, key: 'lag_lsn', priority: 1},
    {header: 'last seen', value: (s) => (s.last_seen_at_unix_ms === 0n ? 'never' : formatAge(s.last_seen_at_unix_ms, now)), raw: (s) => s.last_seen_at_unix_ms, key: 'last_seen_at_unix_ms', priority: 2},
    {header: 'invalidated', value: (s) => s.invalidation_reason, key: 'invalidation_reason', priority: 1},
    {header: 'at', value: (s) => (s.invalidated_at_unix_ms === null ? null : formatTimestamp(s.invalidated_at_unix_ms)), raw: (s) => s.invalidated_at_unix_ms, key: 'invalidated_at_unix_ms', priority: 3},
    {header: 'source', value: (s) => s.source, priority: 3},
  ]
}

export default class SlotsShow extends RedreplCommand<SlotsReport> {
  static override summary = 'Show the replication slots of the current timeline.'
  static override description = `Lists every slot of the binary slot catalog of the current timeline and, if present, of the legacy JSON store beside the data file (a RedDB primary loads both when it starts): replica, active, restart / write / flush / apply LSNs, lag behind the WAL head, when the replica was last seen, invalidation reason and time. The slot whose min(flush, apply) is the retention floor is marked: it decides how much WAL is kept.

Only the active slots of the binary catalog set the retention floor; legacy-store slots are listed but never hold WAL back, and the header line says so when one is active. An active slot (of either source) whose restart LSN is below the start of the oldest WAL segment left is reported as slot.behind-wal (--json: findings[]): its replica cannot resume from WAL. An inactive slot, not invalidated, whose retention floor lies below that start is reported as slot.lost: a prune stranded it, and its replica cannot catch up from WAL any more (a base backup or a reclone; "catchup plan" says which).

A catalog whose timeline differs from the directory it lives in is flagged (RedDB 1.12 writes it that way after a failover).`

  static override examples = ['<%= config.bin %> slots show --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> slots show --json']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
  }

  /** The clock the report was read at, for the slots' ages. */
  private now = 0n

  async run(): Promise<SlotsReport> {
    const {flags} = await this.parse(SlotsShow)
    this.now = nowMs()
    return showSlots(requireDataPath(flags['data-path']), this.now)
  }

  protected override human(report: SlotsReport): void {
    this.say(`timeline ${report.timeline}, WAL head ${report.wal_head_lsn ?? 'none'}, oldest WAL LSN ${report.oldest_wal_lsn ?? 'none'}, ${floorText(report)}`)
    for (const f of report.findings) this.say(findingLine(f))
    if (report.slots.length === 0) {
      this.say('no replication slots')
      return
    }
    this.say(renderColumns(this.mainTable(report)))
    if (report.slots.some((slot) => slot.holds_floor)) this.say('* holds the retention floor')
  }

  protected override mainTable(report: SlotsReport) {
    return tableOf(slotColumns(this.now), report.slots)
  }
}
