import {Flags} from '../../ui/oclif.js'

import {pruneWalRetention} from '../../core/ops/wal-prune.js'
import {withWriteGuard} from '../../core/ops/guard.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dryRunFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {plainFindingLine} from '../../ui/findings.js'
import {formatBytes} from '../../ui/numbers.js'
import {renderSegmentTable, renderWalSummary, walPlanFlags, walPlanOptions} from '../../ui/wal-flags.js'

export default class WalPrune extends RedreplCommand {
  static override summary = 'Remove the WAL segments RedDB\'s retention releases (cron-safe).'
  static override description = `Runs the same plan as "wal plan" and deletes the removable segments in index order, then fsyncs the WAL directory. Built for cron: quiet with --quiet, a one-line summary otherwise, JSON with --json, non-zero exit on any failure, and a lock so that two runs never overlap (a second run exits 5).

Safe next to a live primary: it only removes segments below the current one and outside the minimum window, as RedDB itself does. Each file is checked again right before it is removed, and a symlink is unlinked itself, never followed.

Checked against the files before anything is removed, as in "wal plan": the segment size comes from the segment headers and a --segment-bytes they contradict is refused (exit 4), as is a --current-lsn past the WAL head; headers that disagree with their file names or with each other stop the run (exit 3).

When retention is stalled (segments below the head's are held and none can ever be released: no slot catalog, a catalog of another timeline, or no active slot with keep-until-replicas-ack), a line "redrepl: warning: … [wal.retention-stalled]" goes to stderr, even with --quiet, and the run still exits 0: the run itself did what RedDB would, the way out lies elsewhere (a catalog, a replica), and cron mails stderr. Monitoring should run "layout verify", which fails on the same finding. --json lists it, and missing segments (wal.gap), in findings[].`

  static override examples = [
    '<%= config.bin %> wal prune --data-path /var/lib/reddb/data.rdb --dry-run',
    '*/10 * * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb <%= config.bin %> wal prune --quiet',
    '<%= config.bin %> wal prune --min-segments 4 --json',
  ]

  static override flags = {
    ...walPlanFlags,
    'dry-run': dryRunFlag,
    wait: waitFlag,
    quiet: Flags.boolean({char: 'q', description: 'Print nothing on stdout on success (a stalled retention is still reported on stderr).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(WalPrune)
    this.json = flags.json
    const dataPath = requireDataPath(flags['data-path'])
    const result = await withWriteGuard({dataPath, command: 'wal prune', safeNextToLiveNode: true, waitMs: flags.wait * 1000}, (layout) =>
      pruneWalRetention(layout, {...walPlanOptions(flags), dryRun: flags['dry-run']}),
    )
    // Stderr, even with --quiet: cron mails it, and a stalled retention must not pass in silence.
    for (const f of result.findings) if (f.code === 'wal.retention-stalled') process.stderr.write(`${plainFindingLine(f)}\n`)
    await this.emit(result, () => {
      if (flags.quiet) return
      for (const f of result.findings) if (f.code === 'slot.no-catalog' || f.code === 'slot.catalog-timeline') this.say(`note: ${f.message}`)
      if (flags['dry-run']) {
        this.say(renderWalSummary(result, 'would remove'))
        if (result.removable_segments.length > 0) this.say(renderSegmentTable({...result, segments: result.segments.filter((s) => s.action === 'remove')}))
        return
      }
      const freed = result.removed_segments.reduce((sum, segment) => sum + segment.bytes, 0n)
      const kept = result.segments.length - result.removed_segments.length
      this.say(`removed ${result.removed_segments.length} segment(s) (${formatBytes(freed)}), kept ${kept} (${formatBytes(result.retained_bytes_after_prune)}) on timeline ${result.timeline}`)
    })
  }
}
