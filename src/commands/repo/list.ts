import {listRepository, type RepoBackupRow, type RepoListReport} from '../../core/ops/repo/list.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {repoFlags, resolveNode, segmentBytesFlag, withRepository} from '../../ui/repo-flags.js'
import {backupsAcross, type BackupAcrossRepositories, type RepoListAcross, type RepoListDocument} from '../../core/ops/repo/set.js'
import {configuredWhenUnnamed, forEachRepository, worstExitCode, type ConfiguredRepo} from '../../ui/repo-set.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

const BACKUP_COLUMNS: Array<Column<RepoBackupRow>> = [
  {header: 'timeline', value: (b) => b.timeline, priority: 2},
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, key: 'checkpoint_lsn', priority: 1},
  {header: 'size', value: (b) => (b.chunks === 0 ? '?' : formatBytes(b.snapshot_bytes)), raw: (b) => b.snapshot_bytes, key: 'size_bytes', priority: 1},
  {header: 'added', value: (b) => (b.storage === null ? '?' : formatBytes(b.added_bytes)), raw: (b) => b.added_bytes, key: 'added_bytes', priority: 2},
  {header: 'pushed', value: (b) => new Date(Number(b.taken_unix_ms)).toISOString(), raw: (b) => b.taken_unix_ms, key: 'pushed_unix_ms', priority: 2},
  {header: 'complete', value: (b) => (b.complete ? 'yes' : 'NO'), raw: (b) => b.complete, priority: 1},
  {
    header: 'WAL to head',
    value: (b) => (b.wal_covered_from_checkpoint ? 'yes' : b.wal_first_missing ? `NO (segment ${b.wal_first_missing.index} of timeline ${b.wal_first_missing.timeline} missing)` : 'NO (off the current timeline)'),
    raw: (b) => b.wal_covered_from_checkpoint,
    key: 'wal_covered_from_checkpoint',
    priority: 1,
  },
  {header: 'key', value: (b) => b.key, priority: 3},
]

const namesOf = (names: string[]) => (names.length === 0 ? '-' : names.join(', '))

/** Several repositories: each backup once, with where it is whole, damaged or absent. */
const ACROSS_COLUMNS: Array<Column<BackupAcrossRepositories>> = [
  {header: 'timeline', value: (b) => b.timeline, priority: 2},
  {header: 'checkpoint', value: (b) => b.checkpoint_lsn, priority: 1},
  {header: 'complete in', value: (b) => namesOf(b.complete_in), priority: 1},
  {header: 'incomplete in', value: (b) => namesOf(b.incomplete_in), priority: 1},
  {header: 'missing from', value: (b) => namesOf(b.missing_from), priority: 1},
]

export default class RepoList extends RedreplCommand<RepoListDocument> {
  static override summary = 'List the node\'s base backups and WAL in the repository.'
  static override description = `The replica set's facts (current timeline, segment size, RedDB release) and the archive's health: when "repo push" last succeeded, and when it last failed and why. Then every base backup of the replica set's namespace (--cluster/--node) in the repository: timeline, checkpoint, size, when it was pushed, the bytes it added to the repository (a backup is stored as content-addressed pieces shared with the namespace's other backups: the pieces no backup pushed before it names; all of its bytes for one an older redrepl stored as whole chunks; --json: added_bytes, storage; and for the namespace the bytes of its packs, packs_bytes, and of those the pieces no listed backup names, packs_dead_bytes: space a pack keeps for the live pieces beside them), whether it is complete (its manifest reads and is sane for its size, and every piece its index names, or every chunk, is listed with its size; --json's damage says why not), and whether the archive holds every WAL segment a node restored from it replays up to the archive's head (from its checkpoint's segment on, across each fork of the timeline history), naming the first missing one. Then the WAL per timeline: its segment runs and the gaps between them.

LSNs map to segments by the segment size the repository recorded at push from the segment headers (its facts object; for a namespace an older redrepl wrote, the header of one archived segment). --segment-bytes is not needed, and is refused (exit 4) when it contradicts the repository. Reads only; downloads the manifests and piece indexes (small), never the pieces or chunks. A manifest that vanished or is damaged since the listing is reported on its backup's row (complete false, damage saying why, snapshot_bytes and chunks 0) and the listing goes on: exit 0 whatever the backups' state; "repo verify" is the check that fails on damage.

Several repositories: with neither --repo nor --repo-name (nor REDREPL_REPO, nor a repo setting in the config file), each [repo.NAME] section of the config file is listed in turn, each with its own options. One that cannot be read does not stop the others: --json prints one entry per repository (repository_name, repository, exit_code, error, report, the report being the one-repository listing) and the run exits with the highest of their exit codes. Then each base backup once (by timeline, start and checkpoint), with the repositories that hold it complete, those that list it incomplete and those read that lack it (--json: backups, with complete_in, incomplete_in and missing_from; one that could not be read is in none), so which backups exist where shows at a glance.`

  static override examples = ['<%= config.bin %> repo list --repo s3://backups/reddb --node db1', '<%= config.bin %> repo list --repo /mnt/backups/redrepl --json']

  static override flags = {...repoFlags, 'segment-bytes': segmentBytesFlag}

  async run(): Promise<RepoListDocument> {
    // As typed: parsing replaces this.argv with the config file's flags added.
    const typed = [...this.argv]
    const {flags} = await this.parse(RepoList)
    const repos = await configuredWhenUnnamed(flags)
    if (repos.length > 0) return this.listEach(repos, typed)
    const {node} = resolveNode(flags.node)
    return withRepository(flags, (backend) => listRepository(backend, {node, segmentBytes: flags['segment-bytes']}))
  }

  protected override human(report: RepoListDocument): void {
    if (!('repositories' in report)) return this.sayListing(report)
    for (const [i, outcome] of report.repositories.entries()) {
      if (i > 0) this.say('')
      if (outcome.report === null) this.say(`${outcome.repository_name} (${outcome.repository}): failed (exit ${outcome.exit_code}): ${outcome.error?.message}`)
      else {
        this.say(`[${outcome.repository_name}]`)
        this.sayListing(outcome.report)
      }
    }
    if (report.backups.length === 0) return
    this.say('')
    this.say(renderColumns(tableOf(ACROSS_COLUMNS, report.backups)))
  }

  protected override mainTable(report: RepoListDocument) {
    return 'repositories' in report ? undefined : tableOf(BACKUP_COLUMNS, report.backups)
  }

  /** One repository failing fails the run, with the worst exit code of them. */
  protected override exitCodeOf(report: RepoListDocument): number {
    return 'repositories' in report ? worstExitCode(report.repositories) : 0
  }

  /** One listing per configured repository, each parsed with its own section as if --repo-name had been typed. */
  private async listEach(repos: ConfiguredRepo[], typed: string[]): Promise<RepoListAcross> {
    const outcomes = await forEachRepository<RepoListReport>(repos, async (name) => {
      const {flags: own} = await this.parse(RepoList, ['--repo-name', name, ...typed])
      const {node} = resolveNode(own.node)
      return withRepository(own, (backend) => listRepository(backend, {node, segmentBytes: own['segment-bytes']}))
    })
    return {repositories: outcomes, backups: backupsAcross(outcomes)}
  }

  private sayListing(report: RepoListReport): void {
    const size = report.segment_bytes === null ? 'segment size not known yet (only segment 0 archived)' : `${formatBytes(report.segment_bytes)} WAL segments`
    this.say(`${report.repository} (${report.node}): timeline ${report.current_timeline}, ${size}${report.rdb_release ? `, ${report.rdb_release}` : ''}`)
    const health = report.archive_health
    const at = (ms: bigint) => new Date(Number(ms)).toISOString()
    const success = health.last_success_unix_ms === null ? 'no push recorded' : `last push ${at(health.last_success_unix_ms)} from ${health.last_success_host}`
    const failure = health.last_failure_unix_ms === null ? '' : `; ${health.failing ? 'FAILING since' : 'last failure'} ${at(health.last_failure_unix_ms)} from ${health.last_failure_host}: ${health.last_failure_reason}`
    this.say(`archive: ${success}${failure}`)
    if (report.backups.length === 0) this.say(`${report.repository}: no base backup for node ${report.node}`)
    else {
      this.say(renderColumns(tableOf(BACKUP_COLUMNS, report.backups)))
      for (const b of report.backups) if (b.damage !== null) this.say(`damaged: ${b.damage}`)
    }
    if (report.packs_bytes > 0n) this.say(`packs: ${formatBytes(report.packs_bytes)}, of which ${formatBytes(report.packs_dead_bytes)} hold no piece a backup names (kept for the live pieces beside them)`)
    for (const wal of report.wal) {
      const runs = wal.runs.map((r) => (r.first_index === r.last_index ? `${r.first_index}` : `${r.first_index}-${r.last_index}`)).join(', ')
      const gaps = wal.gaps.length === 0 ? 'no gap' : `gaps: ${wal.gaps.map((g) => `${g.first_index}-${g.last_index}`).join(', ')}`
      this.say(`timeline ${wal.timeline}: ${wal.segments} WAL segment(s) [${runs}], LSN ${wal.from_lsn}..${wal.to_lsn ?? '?'}, ${gaps}`)
    }
  }
}
