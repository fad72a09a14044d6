import {Flags} from '../../ui/oclif.js'

import {planReplicaCatchup, type CatchupReport} from '../../core/ops/timeline/catchup.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath, u64Flag} from '../../ui/flags.js'
import {findingLine} from '../../ui/findings.js'
import {renderNextSteps} from '../../ui/next-steps.js'
import {formatBytes} from '../../ui/numbers.js'
import {paint} from '../../ui/style.js'

export default class CatchupPlan extends RedreplCommand<CatchupReport> {
  static override summary = 'Decide how a replica at a given LSN catches up with this primary.'
  static override description = `RedDB's rule: a replica whose LSN is still covered by the primary's WAL (LSN ≥ the oldest available LSN) catches up from WAL alone ("wal-only"). Otherwise it needs a base backup on the current timeline whose checkpoint is at or beyond the oldest available LSN, the one with the highest checkpoint winning ("basebackup-then-wal"; two at the same checkpoint are told apart by start LSN, the higher winning, and the report names the other in passed_over_same_checkpoint); without one it must be recloned ("reclone").

The oldest available LSN defaults to the start LSN of the oldest segment of the unbroken run of WAL segments that ends at the newest one (0 when there is no WAL). Below a missing segment the files cannot prove that no record is lost, so that WAL is not offered: each hole is reported as wal.gap (--json: findings[]). WAL segment headers that disagree with their names or each other stop the command (exit 3). Reads only.

Then the next steps (--json: next_steps[], each {description, argv}; argv is null for a step only RedDB or the operator performs): for basebackup-then-wal, the exact "basebackup materialize --manifest … --rebootstrap" command that stages the backup on the replica (given --replica-data-path), and the WAL range it then streams (from the backup's checkpoint to the head); for reclone, the "basebackup create" command that takes a backup, then this plan again.`

  static override examples = [
    '<%= config.bin %> catchup plan --data-path /var/lib/reddb/data.rdb --replica-lsn 1048000',
    '<%= config.bin %> catchup plan --replica-lsn 0 --available-from-lsn 2097152 --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    'replica-lsn': u64Flag({description: 'The LSN the replica has (its flushed LSN).', required: true}),
    'available-from-lsn': u64Flag({description: 'The oldest LSN the primary can still serve from WAL (default: from the WAL on disk).'}),
    'replica-data-path': Flags.string({description: 'The replica\'s data path, written into the next commands (it does not change the decision).', helpValue: 'D'}),
    json: jsonFlag,
  }

  async run(): Promise<CatchupReport> {
    const {flags} = await this.parse(CatchupPlan)
    const layout = await openLayout(requireDataPath(flags['data-path']))
    const dataPath = requireDataPath(flags['data-path'])
    return planReplicaCatchup(layout, flags['replica-lsn'], flags['available-from-lsn'], {primaryDataPath: dataPath, replicaDataPath: flags['replica-data-path'] ?? null})
  }

  protected override human(report: CatchupReport): void {
    this.say(`${paint.bold(report.mode)}: replica at ${report.replica_lsn}, WAL available from ${report.available_from_lsn} (timeline ${report.timeline})`)
    for (const f of report.findings) this.say(findingLine(f))
    const backup = report.selected_basebackup
    if (backup) this.say(`base backup ${backup.path} (checkpoint ${backup.checkpoint_lsn}, ${formatBytes(backup.snapshot_bytes)} in ${backup.chunks} chunks), then WAL from ${backup.checkpoint_lsn}`)
    if (report.passed_over_same_checkpoint.length > 0) this.say(`also at that checkpoint, passed over for a lower start LSN: ${report.passed_over_same_checkpoint.join(', ')}`)
    else if (report.mode === 'reclone') this.say(`no usable base backup among ${report.basebackups_considered}`)
    for (const line of renderNextSteps(report.next_steps)) this.say(line)
  }
}
