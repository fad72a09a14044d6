import {Args, Flags} from '../../ui/oclif.js'

import {usageError} from '../../core/errors.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {describeMissing, dumpRangeReport, dumpSegmentReport, type PayloadFormat, type RecordRow, type WalDumpReport} from '../../core/ops/wal/dump.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, u64Flag} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const RECORD_COLUMNS: Array<Column<RecordRow>> = [
  {header: 'segment', value: (r) => r.segment_index, key: 'segment_index', priority: 2},
  {header: 'sequence', value: (r) => r.sequence, priority: 3},
  {header: 'lsn', value: (r) => r.lsn, priority: 1},
  {header: 'size', value: (r) => r.payload_bytes, key: 'payload_bytes', priority: 1},
  {header: 'payload', value: (r) => r.payload, priority: 1},
]

export default class WalDump extends RedreplCommand<WalDumpReport> {
  static override summary = 'Print the records of WAL segments (like pg_waldump).'
  static override description = `Decodes one primary WAL segment file, or the LSN range --from-lsn..--to-lsn across the current timeline's segments of the node at --data-path, and prints each record: segment, sequence, LSN, size and payload (--payload hex, base64, text with escapes, or none). Every segment is fully checked (frame CRCs, chain, sequence and LSN rules) before anything of it is printed.

With an LSN range only the segments whose LSN range meets it are read (segment i holds LSNs i × S to (i + 1) × S − 1, S from the headers), so a damaged segment elsewhere does not stop the dump; headers that disagree with their names or each other do (exit 3). A range no segment on disk can hold — before the oldest segment, in a missing segment, past the WAL head, or a timeline without records — exits 6 saying which; when only part of it is missing, the records found are printed and each missing part is named (--json: missing[]).`

  static override examples = [
    '<%= config.bin %> wal dump data.primary-replica/timeline-00000000000000000001/wal/00000000000000000000.redwal',
    '<%= config.bin %> wal dump --data-path /var/lib/reddb/data.rdb --from-lsn 1 --to-lsn 20 --payload text',
  ]

  static override args = {file: Args.string({description: 'A WAL segment file (instead of an LSN range).'})}

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    'from-lsn': u64Flag({description: 'First LSN of the range (default: the start of the oldest segment on disk).'}),
    'to-lsn': u64Flag({description: 'Last LSN of the range (default: the WAL head).'}),
    payload: Flags.string({description: 'How to show payloads.', options: ['hex', 'base64', 'text', 'none'], default: 'hex'}),
  }

  async run(): Promise<WalDumpReport> {
    const {args, flags} = await this.parse(WalDump)
    const format = flags.payload as PayloadFormat
    if (args.file !== undefined) return dumpSegmentReport(args.file, format)
    if (flags['data-path']) return dumpRangeReport(await openLayout(flags['data-path']), flags['from-lsn'], flags['to-lsn'], format)
    throw usageError('give a segment FILE, or --data-path with an LSN range')
  }

  protected override human(report: WalDumpReport): void {
    this.say(renderColumns(this.mainTable(report)))
    this.say(`${report.records.length} record(s)${report.from_lsn === null ? '' : ` with LSNs ${report.from_lsn}..${report.to_lsn} (WAL head ${report.wal_head_lsn})`}`)
    for (const missing of report.missing) this.say(paint.yellow(`note: ${describeMissing(missing)}`))
  }

  protected override mainTable(report: WalDumpReport) {
    return tableOf(RECORD_COLUMNS, report.records)
  }
}
