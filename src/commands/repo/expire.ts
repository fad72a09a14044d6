import {nowMs} from '../../core/clock.js'
import {expireRepository, expireRepositoryByPlan, loadRepoExpirePlan, saveRepoExpirePlan, type RepoExpireDocument, type RepoExpireReport, type RepoExpireRun} from '../../core/ops/repo/expire.js'
import {formatBytes} from '../../ui/numbers.js'
import {jobsFlag, repoFlags, resolveNode, segmentBytesFlag, withRepository} from '../../ui/repo-flags.js'
import {orphanGraceFlag, orphanGraceMs, retentionFlags, retentionPolicy} from '../../ui/retention-flags.js'
import {appliedPlanLine, expirePlanWords, planFlag, PlannedCommand, savedDryRunFlag, savedPlanLine} from '../../ui/planned-command.js'
import {configuredWhenUnnamed, eachRepositoryLines, forEachRepository, worstExitCode, type ConfiguredRepo, type EachRepository} from '../../ui/repo-set.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const EXPIRE_COLUMNS: Array<Column<RepoExpireReport['backups'][number]>> = [
  {header: 'timeline', value: (b) => b.timeline, priority: 2},
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
  {header: 'size', value: (b) => (b.damage !== null && b.snapshot_bytes === 0n ? '?' : formatBytes(b.snapshot_bytes)), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 2},
  {header: 'usable', value: (b) => (b.usable ? 'yes' : b.damage !== null ? 'damaged' : 'no'), raw: (b) => b.usable, priority: 2},
  {header: 'action', value: (b) => b.action, priority: 1},
  {header: 'reason', value: (b) => b.reason, priority: 1},
  {header: 'key', value: (b) => b.key, priority: 4},
]

export default class RepoExpire extends PlannedCommand<RepoExpireRun> {
  static override summary = 'Delete the backups a retention policy no longer keeps from the repository, and the WAL only they needed (dry run unless --confirm).'
  static override description = `Applies --keep-last N or --keep-within DURATION (by when each backup was pushed) to the node's base backups in the repository and lists each with keep or delete and the reason. The newest usable backup (complete, with every WAL segment from its checkpoint to the archive's head archived) is always kept. Every kept backup keeps every WAL segment from its checkpoint's segment on, on its timeline and, across each fork of the history, on each later one from the fork's segment; only WAL no kept backup replays is deleted. LSNs map to segments by the segment size the repository recorded at push (--segment-bytes is not needed, and is refused when it contradicts it).

Nothing is deleted without --confirm (as WAL-G's "delete retain FULL 7 --confirm"). Each backup goes manifest first, so a listing never shows a backup whose objects are going; then its piece index (or the chunks an older redrepl stored whole); then the WAL. Pieces are shared, packed into pack objects: a pack the index of any kept backup names a piece of is never deleted (kept whole, with the dead pieces beside the live ones: repo list reports their bytes); one named only by deleted backups is an orphan, collected like the others below once past the grace period. A run cut short (or a push) leaves chunks without a manifest, which no listing counts as a backup. Such objects, in the node's basebackup areas and named by no manifest, are deleted too once written longer ago than --orphan-grace (default 24h, so the chunks of a push still in progress, written before its manifest, are never touched: keep it above your longest push); younger ones are left and counted (--json: orphans, orphans_young). A damaged backup does not stop the run: it is not usable, and every object under its own parts directory counts as its, never as an orphan. Temp files of dead writers in the node's namespace are removed too (counted on a dry run; --json: dead_temps), by the rule "repo push" follows.

A directory repository that is, lies inside or holds a RedDB layout (a *.primary-replica directory) is refused (exit 4), as is a symbolic link anywhere below it, the node's own directory included: a link is never followed, so nothing outside the repository is deleted.

--out FILE saves the dry run as a plan (schema "redrepl-plan/1", kind "repo-expire": the repository, node, policy, the repository's segment size, the time it was made, each backup to delete by manifest key, checkpoint, snapshot size and the manifest object's size and modification time as the repository lists them, and each WAL object and each unreferenced object to delete by key, size and modification time, and the orphan grace period, with a fingerprint of the inputs), written atomically and never inside a directory repository or over a file that is not a plan (exit 4). --plan FILE applies exactly that plan: it plans again with the plan's policy and deletes exactly its backups and WAL objects (with --confirm; without it, it shows what would go), only when each is still listed, unchanged, and deleted by the fresh plan too; otherwise it deletes nothing and refuses (exit 4) naming what changed. A fresh plan that deletes more is fine: only the plan's objects go, and the output says which more backups it would delete (--json: plan.more_released_manifests). --keep-last, --keep-within and --orphan-grace are refused with --plan (exit 2) when typed; config-file settings for them are ignored, as the plan carries its own. The plan must name this repository and node (exit 4).

Ctrl-C or SIGTERM stops a --confirm run before its next backup (the one whose manifest went loses its chunks first) or WAL object, says how many objects were deleted, and ends by the signal (130/143); a re-run deletes the rest.

Several repositories: with neither --repo nor --repo-name (nor REDREPL_REPO, nor a repo setting in the config file) and no --plan or --out, each [repo.NAME] section of the config file is expired in turn by its own retention (its keep-last or keep-within and orphan-grace; a flag typed on the command line applies to all). One that fails does not stop the others; --json lists one entry per repository (repository_name, repository, exit_code, error, report) and the run exits with the highest of their exit codes.`

  static override examples = [
    '<%= config.bin %> repo expire --repo s3://backups/reddb --node db1 --keep-last 7',
    '30 4 * * * REDREPL_REPO=s3://backups/reddb <%= config.bin %> repo expire --keep-within 14d --confirm --json >/dev/null',
    '<%= config.bin %> repo expire --repo s3://backups/reddb --node db1 --keep-last 7 --out /tmp/repo-expire.plan',
    '<%= config.bin %> repo expire --repo s3://backups/reddb --node db1 --plan /tmp/repo-expire.plan --confirm',
  ]

  static override flags = {
    ...repoFlags,
    ...retentionFlags,
    jobs: jobsFlag,
    'segment-bytes': segmentBytesFlag,
    'orphan-grace': orphanGraceFlag,
    out: savedDryRunFlag,
    plan: planFlag('Delete exactly the backups and WAL of this plan (saved by --out), or nothing when the repository changed under it.'),
  }

  async run(): Promise<RepoExpireRun> {
    // As typed: parse() puts the config file's settings in this.argv, and each repository is parsed again from this.
    const typed = [...this.argv]
    const {flags} = await this.parse(RepoExpire)
    const {node} = resolveNode(flags.node)
    // A saved plan belongs to one repository: --plan and --out never go through each.
    const repos = flags.plan === undefined && flags.out === undefined ? await configuredWhenUnnamed(flags) : []
    if (repos.length > 0) return this.expireEach(repos, typed, node)
    const planPath = flags.plan
    if (planPath !== undefined) this.refuseTypedWithPlan(['keep-last', 'keep-within', 'orphan-grace'])
    const saved = planPath === undefined ? undefined : await loadRepoExpirePlan(planPath)
    const policy = saved === undefined ? retentionPolicy(flags) : undefined
    const out = flags.out
    const signal = this.stopOnInterrupt('clean-up')
    return withRepository(flags, (backend): Promise<RepoExpireDocument> => {
      const options = {node, confirm: flags.confirm, nowMs: nowMs(), jobs: flags.jobs ?? backend.defaultJobs, signal}
      if (saved !== undefined) return expireRepositoryByPlan(backend, planPath!, saved, options)
      const planning = {...options, policy: policy!, segmentBytes: flags['segment-bytes'], orphanGraceMs: orphanGraceMs(flags)}
      if (out !== undefined) return saveRepoExpirePlan(backend, planning, out)
      return expireRepository(backend, planning)
    }, signal)
  }

  protected override human(report: RepoExpireRun): void {
    if ('repositories' in report) return this.humanEach(report)
    if (report.backups.length > 0) {
      this.say(renderColumns(tableOf(EXPIRE_COLUMNS, report.backups)))
    }
    const doomed = report.backups.filter((b) => b.action === 'delete').length
    if (report.plan !== undefined) this.say(appliedPlanLine(report.plan, report.plan.more_released_manifests.length, expirePlanWords('repository', 'objects')))
    if (report.plan_path !== undefined) this.say(savedPlanLine(report.plan_path, report.inputs_fingerprint!, ['repo', 'expire', '--repo', report.repository, '--node', report.node, '--plan', report.plan_path, '--confirm']))
    const floor = report.wal_floor ? ` (WAL kept from segment ${report.wal_floor.index} of timeline ${report.wal_floor.timeline})` : ''
    if (report.dry_run) this.say(`dry run: would delete ${doomed} backup(s) and ${report.wal_delete.length} WAL segment(s)${floor}; pass --confirm to delete`)
    else this.say(`deleted ${doomed} backup(s) and ${report.wal_delete.length} WAL segment(s), ${report.objects_deleted} object(s)${floor}`)
    if (report.orphans.length > 0) this.say(`${report.dry_run ? 'would delete' : 'deleted'} ${report.orphans.length} object(s) no manifest names, ${formatBytes(report.orphans.reduce((sum, o) => sum + o.size_bytes, 0n))}`)
    if (report.orphans_young > 0) this.say(`left ${report.orphans_young} object(s) no manifest names yet: younger than the grace period (a push may be writing them)`)
    if (report.dead_temps.count > 0) this.say(`${report.dry_run ? 'would remove' : 'removed'} ${report.dead_temps.count} temp file(s) of dead writers, ${formatBytes(report.dead_temps.bytes)}`)
  }

  protected override mainTable(report: RepoExpireRun) {
    if ('repositories' in report) return undefined
    return tableOf(EXPIRE_COLUMNS, report.backups)
  }

  /** Each configured repository by its own retention (its section's keep-last, keep-within, orphan-grace), one after another. */
  private async expireEach(repos: ConfiguredRepo[], typed: string[], node: string): Promise<EachRepository<RepoExpireReport>> {
    const signal = this.stopOnInterrupt('clean-up')
    const outcomes = await forEachRepository<RepoExpireReport>(repos, async (name) => {
      const {flags: own} = await this.parse(RepoExpire, ['--repo-name', name, ...typed])
      const policy = retentionPolicy(own)
      return withRepository(own, (backend) => expireRepository(backend, {node, confirm: own.confirm, nowMs: nowMs(), jobs: own.jobs ?? backend.defaultJobs, signal, policy, segmentBytes: own['segment-bytes'], orphanGraceMs: orphanGraceMs(own)}), signal)
    })
    return {repositories: outcomes}
  }

  private humanEach(each: EachRepository<RepoExpireReport>): void {
    const line = (report: RepoExpireReport, name: string) => {
      const doomed = report.backups.filter((b) => b.action === 'delete').length
      return `${name} (${report.repository}): ${report.dry_run ? 'would delete' : 'deleted'} ${doomed} backup(s) and ${report.wal_delete.length} WAL segment(s)${report.dry_run ? '; pass --confirm to delete' : ''}`
    }
    for (const text of eachRepositoryLines(each, (report, outcome) => line(report, outcome.repository_name))) this.say(text)
  }

  /** One repository failing fails the run, with the worst exit code of them. */
  protected override exitCodeOf(report: RepoExpireRun): number {
    return 'repositories' in report ? worstExitCode(report.repositories) : 0
  }
}
