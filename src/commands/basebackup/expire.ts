import path from 'node:path'

import {nowMs} from '../../core/clock.js'
import {expireBasebackups, expireByPlan, loadExpirePlan, saveExpirePlan, type BasebackupExpireDocument, type BasebackupExpireReport} from '../../core/ops/basebackup/expire.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {dataPathFlag, jsonFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {retentionFlags, retentionPolicy} from '../../ui/retention-flags.js'
import {appliedPlanLine, expirePlanWords, planFlag, PlannedCommand, savedDryRunFlag, savedPlanLine} from '../../ui/planned-command.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const EXPIRE_COLUMNS: Array<Column<BasebackupExpireReport['backups'][number]>> = [
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
  {header: 'size', value: (b) => formatBytes(b.snapshot_bytes), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 2},
  {header: 'action', value: (b) => b.action, priority: 1},
  {header: 'reason', value: (b) => b.reason, priority: 1},
  {header: 'manifest', value: (b) => path.basename(b.manifest_path), raw: (b) => b.manifest_path, key: 'manifest_path', priority: 3},
]

export default class BasebackupExpire extends PlannedCommand<BasebackupExpireDocument> {
  static override summary = 'Delete the base backups a retention policy no longer keeps (dry run unless --confirm).'
  static override description = `Applies --keep-last N (the N newest by checkpoint) or --keep-within DURATION (taken within it, by the manifest's modification time) to the current timeline's base backups, and lists each with keep or delete and the reason. Each backup goes as "basebackup delete" removes one: chunks another remaining manifest names stay, and a linked parts or timeline directory is refused (exit 4). The newest backup usable for catch-up is always kept, whatever the policy.

Nothing is deleted without --confirm (as WAL-G's "delete retain ... --confirm"). Each backup goes manifest first, then its chunks, as "basebackup delete" does. Safe next to a live node.

--out FILE saves the dry run as a plan (schema "redrepl-plan/1", kind "basebackup-expire": the layout root, timeline, policy, the time it was made, the oldest WAL LSN kept, and each backup to delete by manifest name, checkpoint, snapshot size and checksum, with a fingerprint of the inputs), written atomically and never inside the layout or over a file that is not a plan (exit 4). --plan FILE applies exactly that plan: it plans again with the plan's policy and deletes exactly its backups (with --confirm; without it, it shows what would go), only when each is still there, the same snapshot, and deleted by the fresh plan too; otherwise it deletes nothing and refuses (exit 4) naming what changed. A fresh plan that deletes more is fine: only the plan's backups go, and the output says which more it would delete (--json: plan.more_released_manifests). --keep-last and --keep-within are refused with --plan (exit 2): the plan carries its policy, and config-file settings for them are ignored. The plan file is read only when it is a regular file, not a link (exit 3), and must name this layout, its current timeline, and only manifest files (exit 4).`

  static override examples = [
    '<%= config.bin %> basebackup expire --data-path /var/lib/reddb/data.rdb --keep-last 3',
    '0 4 * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb <%= config.bin %> basebackup expire --keep-within 7d --confirm --json',
    '<%= config.bin %> basebackup expire --keep-last 3 --out /tmp/expire.plan',
    '<%= config.bin %> basebackup expire --plan /tmp/expire.plan --confirm',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    ...retentionFlags,
    out: savedDryRunFlag,
    plan: planFlag('Delete exactly the backups of this plan (saved by --out), or nothing when the layout changed under it.'),
  }

  /** The data path as given, for the command that applies a saved plan. */
  private dataPath = ''

  async run(): Promise<BasebackupExpireDocument> {
    const {flags} = await this.parse(BasebackupExpire)
    const dataPath = requireDataPath(flags['data-path'])
    this.dataPath = dataPath
    const planPath = flags.plan
    if (planPath !== undefined) this.refuseTypedWithPlan(['keep-last', 'keep-within'])
    // The plan file is checked before the lock is taken.
    const saved = planPath === undefined ? undefined : await loadExpirePlan(planPath)
    const policy = saved === undefined ? retentionPolicy(flags) : undefined
    const out = flags.out
    return withWriteGuard(
      {dataPath, command: 'basebackup expire', safeNextToLiveNode: true, waitMs: flags.wait * 1000},
      (layout) => {
        const options = {confirm: flags.confirm, nowMs: nowMs()}
        if (saved !== undefined) return expireByPlan(layout, planPath!, saved, options)
        if (out !== undefined) return saveExpirePlan(layout, dataPath, policy!, options.nowMs, out)
        return expireBasebackups(layout, policy!, options)
      },
    )
  }

  protected override human(report: BasebackupExpireDocument): void {
    if (report.backups.length === 0) {
      this.say(`no base backup on timeline ${report.timeline}`)
      return
    }
    this.say(renderColumns(this.mainTable(report)))
    const doomed = report.backups.filter((b) => b.action === 'delete')
    if (report.plan !== undefined) this.say(appliedPlanLine(report.plan, report.plan.more_released_manifests.length, expirePlanWords('layout', 'backups')))
    if (report.plan_path !== undefined) this.say(savedPlanLine(report.plan_path, report.inputs_fingerprint!, ['basebackup', 'expire', '--data-path', this.dataPath, '--plan', report.plan_path, '--confirm']))
    if (report.dry_run) this.say(`dry run: would delete ${doomed.length} backup(s); pass --confirm to delete`)
    else this.say(`deleted ${report.deleted} backup(s), ${formatBytes(report.freed_bytes)}`)
  }

  protected override mainTable(report: BasebackupExpireDocument) {
    return tableOf(EXPIRE_COLUMNS, report.backups)
  }
}
