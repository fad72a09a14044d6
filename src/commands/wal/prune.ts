import {Flags} from '../../ui/oclif.js'

import {loadWalPlan, pruneWalByPlan, type WalPruneDocument} from '../../core/ops/wal/plan-file.js'
import {pruneWalRetention} from '../../core/ops/wal/prune.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {guardedPrune} from '../../core/ops/wal/prune-record.js'
import {nowMs} from '../../core/clock.js'
import {requireDataPath, waitFlag} from '../../ui/flags.js'
import {plainFindingLine} from '../../ui/findings.js'
import {formatBytes} from '../../ui/numbers.js'
import {appliedPlanLine, dryRunFlag, planFlag, PlannedCommand, type PlanWords} from '../../ui/planned-command.js'
import {severalRepositories} from '../../ui/repo-set.js'
import {renderSegmentTable, renderWalSummary, segmentTable, walPlanFlags, walPlanOptions} from '../../ui/wal-flags.js'

export default class WalPrune extends PlannedCommand<WalPruneDocument> {
  static override summary = 'Remove the WAL segments RedDB\'s retention releases (cron-safe).'
  static override description = `Runs the same plan as "wal plan" and deletes the removable segments in index order, then fsyncs the WAL directory. The WAL directory is reached without following a symbolic link on the way (a linked timeline directory is refused, exit 4), though wal/ itself may be an operator's link to another disk; each segment is removed from that directory only. Built for cron: quiet with --quiet, a one-line summary otherwise, JSON with --json, non-zero exit on any failure, and a lock so that two runs never overlap (a second run exits 5). Each run that exits 5 is counted in R/.redrepl-prune.json, and a run that goes through (not --dry-run) resets the count, so that "redrepl check" can warn when a long base backup starves the prunes (--warning/--critical-prune-skipped).

Safe next to a live primary: it only removes segments below the current one and outside the minimum window, as RedDB itself does. Each file is checked again right before it is removed, and a symlink is unlinked itself, never followed.

Checked against the files before anything is removed, as in "wal plan": the segment size comes from the segment headers and a --segment-bytes they contradict is refused (exit 4), as is a --current-lsn past the WAL head; headers that disagree with their file names or with each other stop the run (exit 3).

When retention is stalled (segments below the head's are held and none can ever be released: no slot catalog, a catalog of another timeline, or no active slot with keep-until-replicas-ack), a line "redrepl: warning: … [wal.retention-stalled]" goes to stderr, even with --quiet, and the run still exits 0: the run itself did what RedDB would, the way out lies elsewhere (a catalog, a replica), and cron mails stderr. Monitoring should run "layout verify", which fails on the same finding. --json lists it, and missing segments (wal.gap), in findings[]. A prune that removes WAL an inactive slot (not invalidated) still needs is what RedDB does too, but afterwards that replica cannot catch up from WAL: the run says so the same way (slot.prune-strands), and "wal plan" or --dry-run says it beforehand.

--plan FILE applies a plan saved by "wal plan --out FILE", as terraform apply PLAN: it plans again on the layout as it is now, with the plan's own policy, and removes exactly the plan's segments, only when the fresh plan releases each of them too and each still has the saved size and header CRC. Otherwise it removes nothing and refuses (exit 4), naming every change found: a segment that changed size, was rewritten or is gone, one the fresh plan keeps, a slot that advanced or regressed, a history that changed. A fresh plan that releases more is fine: only the plan's segments go, and the output says how many more it would release (--json: plan.more_released_segment_indexes). The plan must name this layout and its current timeline, and only segment files of the WAL directory (exit 4 otherwise); the file is read only when it is a regular file, not a link (exit 3). Policy flags (--min-segments, --max-bytes, --[no-]keep-until-replicas-ack, --fork-lsn, --adopt-catalog-timeline, --segment-bytes, --current-lsn) are refused with --plan (exit 2): the plan carries its policy, and config-file settings for them are ignored. --dry-run shows what the plan would remove.

With a repository (--repo, REDREPL_REPO or "repo" in the config file; --node names this node's namespace there) a sealed segment of the current timeline is kept, reason "not archived", until the repository lists it under this node with the segment's size (as PostgreSQL keeps WAL until archive_command succeeds): the listing is the evidence, as in "repo verify --quick"; its CRC was checked on upload by "repo push" and is checked again by "repo verify". A repository that cannot be read (unreachable, credentials refused, no answer within --timeout, default 120s) makes the command refuse (exit 4) rather than plan without it, and removes nothing: the layout lock is never held past that deadline waiting on the store. --keep-wal-for-backups also keeps every segment from the checkpoint of the oldest base backup on disk that is usable for catch-up, so every such backup stays usable (reason "base backup (checkpoint LSN …)"); removing old backups is "basebackup expire"'s job. Both only keep more than RedDB would, never less.

Several repositories: with no repository named (no --repo, --repo-name, REDREPL_REPO or repo setting) and [repo.NAME] sections in the config file, a sealed segment is kept until every one of them holds it, reason "not archived in NAME, …" naming those that lack it (--json: each one's counts under "repositories"); one that cannot be read refuses the prune (exit 4), naming it.`

  static override examples = [
    '<%= config.bin %> wal prune --data-path /var/lib/reddb/data.rdb --dry-run',
    '*/10 * * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb <%= config.bin %> wal prune --quiet',
    '<%= config.bin %> wal prune --min-segments 4 --json',
    '<%= config.bin %> wal prune --data-path /var/lib/reddb/data.rdb --plan /tmp/prune.plan',
  ]

  static override flags = {
    ...walPlanFlags,
    'dry-run': dryRunFlag,
    wait: waitFlag,
    quiet: Flags.boolean({char: 'q', description: 'Print nothing on stdout on success (a stalled retention is still reported on stderr).'}),
    plan: planFlag('Remove exactly the segments of this plan (saved by "wal plan --out"), or nothing when the layout changed under it.'),
  }

  /** The flags a saved plan fixes; given with --plan they would silently change nothing, so they are refused. */
  static readonly planFixes = ['segment-bytes', 'current-lsn', 'min-segments', 'max-bytes', 'keep-until-replicas-ack', 'fork-lsn', 'adopt-catalog-timeline']

  /** --quiet: nothing on stdout on success. */
  private quiet = false

  async run(): Promise<WalPruneDocument> {
    // As typed: parse() puts the config file's settings in this.argv, and each repository is parsed again from this.
    const typed = [...this.argv]
    const {flags} = await this.parse(WalPrune)
    this.quiet = flags.quiet
    const dataPath = requireDataPath(flags['data-path'])
    const planPath = flags.plan
    if (planPath !== undefined) this.refuseTypedWithPlan(WalPrune.planFixes)
    // The plan file is checked before the lock is taken.
    const saved = planPath === undefined ? undefined : await loadWalPlan(planPath)
    const repositories = await severalRepositories(flags, typed, async (argv) => (await this.parse(WalPrune, argv)).flags)
    const warn = (message: string) => process.stderr.write(`redrepl: warning: ${message}\n`)
    const result: WalPruneDocument = await guardedPrune(
      dataPath,
      {nowMs: nowMs(), dryRun: flags['dry-run'], warn},
      (work) => withWriteGuard({dataPath, command: 'wal prune', safeNextToLiveNode: true, waitMs: flags.wait * 1000}, work),
      async (layout) => {
        if (saved === undefined) return pruneWalRetention(layout, {...walPlanOptions(flags), repositories, dryRun: flags['dry-run']})
        const {repository, keepWalForBackups} = walPlanOptions(flags)
        return pruneWalByPlan(layout, planPath!, saved, flags['dry-run'], {repository, repositories, keepWalForBackups})
      },
    )
    // Stderr, even with --quiet: cron mails it, and neither a stalled retention nor a stranded slot may pass in silence.
    for (const f of result.findings) if (f.code === 'wal.retention-stalled' || f.code === 'slot.prune-strands') process.stderr.write(`${plainFindingLine(f)}\n`)
    return result
  }

  protected override human(result: WalPruneDocument): void {
    if (this.quiet) return
    if (result.plan !== undefined) this.say(appliedPlanLine(result.plan, result.plan.more_released_segment_indexes.length, WAL_PLAN_WORDS))
    for (const f of result.findings) if (f.code === 'slot.no-catalog' || f.code === 'slot.catalog-timeline') this.say(`note: ${f.message}`)
    if (result.dry_run) {
      this.say(renderWalSummary(result, 'would remove'))
      if (result.removable_segments.length > 0) this.say(renderSegmentTable({...result, segments: result.segments.filter((s) => s.action === 'remove')}))
      return
    }
    const freed = result.removed_segments.reduce((sum, segment) => sum + segment.bytes, 0n)
    const kept = result.segments.length - result.removed_segments.length
    this.say(`removed ${result.removed_segments.length} segment(s) (${formatBytes(freed)}), kept ${kept} (${formatBytes(result.retained_bytes_after_prune)}) on timeline ${result.timeline}`)
  }

  protected override mainTable(result: WalPruneDocument) {
    return segmentTable(result)
  }
}

const WAL_PLAN_WORDS: PlanWords = {where: 'layout', what: 'segments', more: (count) => `the layout now releases ${count} more segment(s)`, verb: 'remove'}
