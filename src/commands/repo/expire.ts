import {nowMs} from '../../core/clock.js'
import {expireRepository, type RepoExpireReport} from '../../core/ops/repo-expire.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {jobsFlag, repoFlags, resolveNode, segmentBytesFlag, withRepository} from '../../ui/repo-flags.js'
import {retentionFlags, retentionPolicy} from '../../ui/retention-flags.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const EXPIRE_COLUMNS: Array<Column<RepoExpireReport['backups'][number]>> = [
  {header: 'timeline', value: (b) => b.timeline, priority: 2},
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
  {header: 'size', value: (b) => formatBytes(b.snapshot_bytes), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 2},
  {header: 'usable', value: (b) => (b.usable ? 'yes' : 'no'), priority: 2},
  {header: 'action', value: (b) => b.action, priority: 1},
  {header: 'reason', value: (b) => b.reason, priority: 1},
  {header: 'key', value: (b) => b.key, priority: 4},
]

export default class RepoExpire extends RedreplCommand {
  static override summary = 'Delete the backups a retention policy no longer keeps from the repository, and the WAL only they needed (dry run unless --confirm).'
  static override description = `Applies --keep-last N or --keep-within DURATION (by when each backup was pushed) to the node's base backups in the repository and lists each with keep or delete and the reason. The newest usable backup (complete, with the WAL from its checkpoint archived without a gap) is always kept. WAL is deleted only below the checkpoint segment of the oldest kept backup (and on older timelines), so no kept backup is ever left without the WAL from its checkpoint on.

Nothing is deleted without --confirm (as WAL-G's "delete retain FULL 7 --confirm"). Each backup goes manifest first, so a listing never shows a backup whose chunks are going; then its chunks; then the WAL. A run cut short leaves chunks without a manifest, which no listing counts as a backup; the next run does not remove them (see docs/repository.md).`

  static override examples = [
    '<%= config.bin %> repo expire --repo s3://backups/reddb --node db1 --keep-last 7',
    '30 4 * * * REDREPL_REPO=s3://backups/reddb <%= config.bin %> repo expire --keep-within 14d --confirm --json >/dev/null',
  ]

  static override flags = {...repoFlags, ...retentionFlags, jobs: jobsFlag, 'segment-bytes': segmentBytesFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(RepoExpire)
    this.json = flags.json
    const {node} = resolveNode(flags.node)
    const policy = retentionPolicy(flags)
    const report = await withRepository(flags, (backend) =>
      expireRepository(backend, {node, policy, confirm: flags.confirm, nowMs: nowMs(), segmentBytes: flags['segment-bytes'], jobs: flags.jobs}),
    )
    const backups = tableOf(EXPIRE_COLUMNS, report.backups)
    await this.emit(report, () => {
      if (report.backups.length > 0) {
        this.say(renderColumns(backups))
      }
      const doomed = report.backups.filter((b) => b.action === 'delete').length
      const floor = report.wal_floor ? ` (WAL kept from segment ${report.wal_floor.index} of timeline ${report.wal_floor.timeline})` : ''
      if (report.dry_run) this.say(`dry run: would delete ${doomed} backup(s) and ${report.wal_delete.length} WAL segment(s)${floor}; pass --confirm to delete`)
      else this.say(`deleted ${doomed} backup(s) and ${report.wal_delete.length} WAL segment(s), ${report.objects_deleted} object(s)${floor}`)
    }, backups)
  }
}
