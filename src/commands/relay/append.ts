import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {appendRelay, checkReplicaId, readWalRecords, type RelayAppendReport} from '../../core/ops/relay/append.js'
import {parseRecordLines, readRecordBatch} from '../../core/ops/relay/records.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'

export default class RelayAppend extends RedreplCommand<RelayAppendReport> {
  static override summary = 'Append a batch of records to a replica\'s relay log, as a RedDB replica does.'
  static override description = `Reads the replica's relay manifest (checking it against its segments first) or starts a new one; keeps the records with an LSN above the manifest's flushed LSN, in input order (they must be strictly increasing), writes them as a new relay segment relay-{start}-{end}.redwal and adds it to the manifest; then marks applied = min(--applied-lsn, flushed). An empty batch changes nothing. The segment is written before the manifest that references it, each atomically.

Records come as JSON lines on stdin — {"lsn":N,"payload_hex":"…"} or {"lsn":N,"payload_base64":"…"} — or, with --from-wal, straight out of this node's primary WAL segments for the inclusive range --from-lsn..--to-lsn. One batch on stdin is at most 256 MiB; a larger one is refused (exit 2) before anything is written: split it into several runs.

RedDB 1.12 relays on timeline 1 even after a promotion: the relay directory sits under the current timeline's directory, but the manifest and its segments carry timeline 1. redrepl writes them the same way, and refuses a manifest of another timeline.

The replica must be known to the layout (a slot in the current timeline's catalog or the legacy slot store, or a relay log under the current timeline): an unknown id is refused (exit 4, naming the known replicas) so a typo cannot start a new relay log; --create starts one for a new replica.

Safe next to a live node; serialised with other redrepl writers by the layout lock.`

  static override examples = [
    'printf \'{"lsn":41,"payload_hex":"6f6e65"}\\n\' | <%= config.bin %> relay append --data-path /var/lib/reddb/data.rdb --replica replica-a --applied-lsn 40',
    '<%= config.bin %> relay append --replica replica-b --applied-lsn 0 --from-wal --from-lsn 1 --to-lsn 100 --json',
    '<%= config.bin %> relay append --replica replica-new --create --applied-lsn 0 --from-wal --from-lsn 1 --to-lsn 100',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    replica: Flags.string({description: 'The replica whose relay log receives the batch (a plain name).', required: true, helpValue: 'ID'}),
    'applied-lsn': u64Flag({description: 'The replica\'s applied LSN (capped at the flushed LSN).', required: true}),
    create: Flags.boolean({description: 'Start a relay log for a replica the layout does not know yet.'}),
    'from-wal': Flags.boolean({description: 'Ship records out of the primary WAL instead of reading stdin.', dependsOn: ['from-lsn', 'to-lsn']}),
    'from-lsn': u64Flag({description: 'With --from-wal: first LSN to ship.'}),
    'to-lsn': u64Flag({description: 'With --from-wal: last LSN to ship (inclusive).'}),
  }

  async run(): Promise<RelayAppendReport> {
    const {flags} = await this.parse(RelayAppend)
    const dataPath = requireDataPath(flags['data-path'])
    checkReplicaId(flags.replica)
    if (!flags['from-wal'] && process.stdin.isTTY) throw usageError('pipe records as JSON lines on stdin, or use --from-wal')
    const records = flags['from-wal'] ? undefined : parseRecordLines(await readRecordBatch(process.stdin))
    return withWriteGuard({dataPath, command: 'relay append', safeNextToLiveNode: true, waitMs: flags.wait * 1000, createLayout: true}, async (layout) =>
      appendRelay(layout, flags.replica, records ?? (await readWalRecords(layout, flags['from-lsn']!, flags['to-lsn']!)), flags['applied-lsn'], {create: flags.create, dataPath, nowMs: nowMs()}),
    )
  }

  protected override human(report: RelayAppendReport): void {
    const manifest = report.manifest
    if (report.received_records === 0) {
      this.say('empty batch: nothing changed')
      return
    }
    const segment = report.new_segment
    this.say(
      segment
        ? `appended ${report.appended_records} of ${report.received_records} record(s) to ${report.replica_id} as ${segment.relative_path} (LSN ${segment.start_lsn}..${segment.end_lsn})`
        : `no record above the flushed LSN: ${report.received_records} record(s) already relayed`,
    )
    if (manifest) this.say(`received ${manifest.received_lsn}, flushed ${manifest.flushed_lsn}, applied ${manifest.applied_lsn}, ${manifest.segments.length} segment(s)`)
  }
}
