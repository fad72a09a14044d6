import {Flags} from '../../ui/oclif.js'

import {deleteBasebackup, type BasebackupDeleteReport, type DeleteChoice} from '../../core/ops/basebackup/delete.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {usageError} from '../../core/errors.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {confirmOnTerminal, yesFlag} from '../../ui/confirm.js'
import {dataPathFlag, dryRunFlag, jsonFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'

export default class BasebackupDelete extends RedreplCommand<BasebackupDeleteReport> {
  static override summary = 'Delete one base backup (manifest first, then its chunks).'
  static override description = `Deletes the base backup named by --checkpoint-lsn (on the current timeline) or --manifest (a manifest in this node's basebackup/ directory). A chunk that another manifest also names stays (and with it the parts directory), and a parts directory or timeline directory that is a symbolic link is refused (exit 4) before the manifest goes; basebackup/ itself may be an operator's link. The manifest is removed first and durably, so from then on no reader sees the backup; then the chunk files it names and their .parts directory. A crash in between leaves at most an orphan .parts directory, which RedDB ignores and "layout clean" removes. Files in the .parts directory that the manifest does not name are left in place and listed.

Refuses (exit 4) to delete the newest backup usable for catch-up (on the current timeline, checkpoint at or beyond the oldest WAL kept) unless --force: it is what a replica that fell behind the WAL restores from. Safe next to a live node, like "wal prune". Asks for confirmation on a terminal (--yes skips it); --dry-run shows what would go.`

  static override examples = [
    '<%= config.bin %> basebackup delete --data-path /var/lib/reddb/data.rdb --checkpoint-lsn 5242882 --dry-run',
    '<%= config.bin %> basebackup delete --data-path /var/lib/reddb/data.rdb --manifest /var/lib/reddb/data.primary-replica/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase --yes',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    manifest: Flags.string({description: 'The manifest (.redbase) of the backup to delete.', exclusive: ['checkpoint-lsn'], helpValue: 'FILE'}),
    'checkpoint-lsn': u64Flag({description: 'Delete the base backup with this checkpoint LSN on the current timeline.'}),
    force: Flags.boolean({description: 'Delete it even when it is the newest backup usable for catch-up.'}),
    'dry-run': dryRunFlag,
    yes: yesFlag,
  }

  async run(): Promise<BasebackupDeleteReport> {
    const {flags} = await this.parse(BasebackupDelete)
    const dataPath = requireDataPath(flags['data-path'])
    const choice: DeleteChoice =
      flags.manifest !== undefined ? {manifestPath: flags.manifest} : flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : usageFail()
    const guard = {dataPath, command: 'basebackup delete', safeNextToLiveNode: true, waitMs: flags.wait * 1000}
    return withWriteGuard(guard, async (layout) => {
      const plan = await deleteBasebackup(layout, choice, {force: flags.force, dryRun: true})
      if (flags['dry-run']) return plan
      await confirmOnTerminal('Delete this base backup?', [`${plan.manifest_path} (checkpoint ${plan.checkpoint_lsn}, ${formatBytes(plan.snapshot_bytes)})`], flags.yes)
      return deleteBasebackup(layout, choice, {force: flags.force, dryRun: false})
    })
  }

  protected override human(report: BasebackupDeleteReport): void {
    const what = `base backup at checkpoint ${report.checkpoint_lsn} (timeline ${report.timeline}, ${formatBytes(report.snapshot_bytes)})`
    this.say(report.dry_run ? `would delete the ${what}: ${report.manifest_path}` : `deleted the ${what}: ${report.removed_files} file(s)`)
    for (const file of report.left_in_parts_dir) this.say(`left in place (not a chunk the manifest names): ${file}`)
  }
}

function usageFail(): never {
  throw usageError('say which backup: --checkpoint-lsn N or --manifest FILE')
}
