import {Flags} from '../../ui/oclif.js'

import {planWalRetention, pruneWal} from '../../core/ops/wal-retention.js'
import {withWriteGuard} from '../../core/ops/guard.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dryRunFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {renderSegmentTable, renderWalSummary, walPlanFlags, walPlanOptions} from '../../ui/wal-flags.js'

export default class WalPrune extends RedreplCommand {
  static override summary = 'Remove the WAL segments RedDB\'s retention releases (cron-safe).'
  static override description = `Runs the same plan as "wal plan" and deletes the removable segments in index order, then fsyncs the WAL directory. Built for cron: quiet with --quiet, a one-line summary otherwise, JSON with --json, non-zero exit on any failure, and a lock so that two runs never overlap (a second run exits 5).

Safe next to a live primary: it only removes segments below the current one and outside the minimum window, as RedDB itself does. Each file is checked again right before it is removed, and a symlink is unlinked itself, never followed.`

  static override examples = [
    '<%= config.bin %> wal prune --data-path /var/lib/reddb/data.rdb --dry-run',
    '*/10 * * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb <%= config.bin %> wal prune --quiet',
  ]

  static override flags = {
    ...walPlanFlags,
    'dry-run': dryRunFlag,
    wait: waitFlag,
    quiet: Flags.boolean({char: 'q', description: 'Print nothing on success.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(WalPrune)
    this.json = flags.json
    const dataPath = requireDataPath(flags['data-path'])
    const result = await withWriteGuard({dataPath, command: 'wal prune', safeNextToLiveNode: true, waitMs: flags.wait * 1000}, async (layout) => {
      const report = await planWalRetention(layout, walPlanOptions(flags))
      const removed = flags['dry-run'] ? [] : await pruneWal(report)
      return {...report, dry_run: flags['dry-run'], removed}
    })
    await this.emit(result, () => {
      if (flags.quiet) return
      if (flags['dry-run']) {
        this.say(renderWalSummary(result, 'would remove'))
        if (result.removable_segments.length > 0) this.say(renderSegmentTable({...result, segments: result.segments.filter((s) => s.action === 'remove')}))
        return
      }
      const freed = result.removed.reduce((sum, segment) => sum + segment.bytes, 0n)
      const kept = result.segments.length - result.removed.length
      this.say(`removed ${result.removed.length} segment(s) (${formatBytes(freed)}), kept ${kept} (${formatBytes(result.retained_bytes_after_prune)}) on timeline ${result.timeline}`)
      if (result.note) this.say(`note: ${result.note}`)
    })
  }
}
