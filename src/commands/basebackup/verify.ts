import {Flags} from '../../ui/oclif.js'

import {verifyBasebackup, type BasebackupVerifyReport} from '../../core/ops/basebackup/inspect.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, maxRateFlag, progressFlag, requireDataPath, u64Flag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'

export default class BasebackupVerify extends RedreplCommand<BasebackupVerifyReport> {
  static override summary = 'Prove that a base backup restores and can catch up.'
  static override description = `Picks the base backup by --manifest, by --checkpoint-lsn, or the newest on the current timeline (whatever its state: a damaged newest backup fails here rather than an older one passing), and proves that a restore from it works and can catch up: the manifest is sane for its size (a snapshot a database file can hold, chunks cut as every writer cuts them), every chunk is read, checking its path, size and CRC, then the CRC of the whole snapshot and RedDB's open rules on it (a snapshot of 4 bytes or more starts with RDST, else RedDB would not open the database "basebackup materialize" makes of it), and the node's WAL runs without a gap from the backup's checkpoint to the WAL head (--json: wal_available_from_lsn, wal_head_lsn). Streams with bounded memory; progress on a terminal. Exit 0 when all of that holds, 3 (one line naming the file and the problem) when not.`

  static override examples = ['<%= config.bin %> basebackup verify --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> basebackup verify --checkpoint-lsn 5242882 --json']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    progress: progressFlag,
    manifest: Flags.string({description: 'The base backup manifest (.redbase) to verify.', exclusive: ['checkpoint-lsn'], helpValue: 'FILE'}),
    'checkpoint-lsn': u64Flag({description: 'Verify the base backup with this checkpoint LSN on the current timeline.'}),
    'max-rate': maxRateFlag,
  }

  async run(): Promise<BasebackupVerifyReport> {
    const {flags} = await this.parse(BasebackupVerify)
    const layout = await openLayout(requireDataPath(flags['data-path']))
    const choice = flags.manifest !== undefined ? {manifestPath: flags.manifest} : flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : {newest: true as const}
    const progress = await this.showProgress('basebackup verify', this.stopOnInterrupt('exit'))
    return verifyBasebackup(layout, choice, (done, total) => progress.update(done, total), flags['max-rate']).finally(() => progress.stop())
  }

  protected override human(report: BasebackupVerifyReport): void {
    this.say(`ok: ${report.manifest_path} — ${report.chunks_checked} chunk(s), ${formatBytes(report.snapshot_bytes)}, checkpoint ${report.checkpoint_lsn}`)
  }
}
