import {Flags} from '../../ui/oclif.js'

import {EXIT_CODES} from '../../core/errors.js'
import {verifyRepository, type RepoVerifyDocument, type RepoVerifyReport} from '../../core/ops/repo/verify.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {DEFAULT_TIMEOUT_MS, jobsFlag, repoFlags, resolveNode, segmentBytesFlag, timeoutFlag, withRepository} from '../../ui/repo-flags.js'
import {configuredWhenUnnamed, forEachRepository, worstExitCode, type ConfiguredRepo, type EachRepository} from '../../ui/repo-set.js'
import {renderTable} from '../../ui/table.js'

export default class RepoVerify extends RedreplCommand<RepoVerifyDocument> {
  static override summary = 'Prove that every backup of the node in the repository restores and catches up.'
  static override description = `Downloads every manifest (checking its CRC, that it decodes and matches its name, and that it is sane for its size: a snapshot a database file can hold, chunks cut as every writer cuts them, chunk CRCs that combine to the snapshot's), checks that its piece index reads and every pack it names is listed long enough for the pieces it places there (a piece an older push stored alone: listed with its size) (for a backup an older redrepl stored as whole chunks, every chunk) and that the archived WAL runs without a gap from the segment of its checkpoint to the newest archived one (the segment size is read from the archived segments' headers as they are downloaded; --segment-bytes gives it for --quick, which downloads none), and downloads every pack once, however many backups share it, checking all its bytes against its SHA-256 name, its CRC, every piece against its digest and every piece an index places there (a damaged pack is one finding naming it and every backup that needs it), every piece an older push stored alone against its SHA-256 address, and every chunk (older backups), WAL segment and the timeline history, checking each against the CRC RedDB recorded for it and each reassembled snapshot by RedDB's open rules (RDST), as it streams past. --quick stops at manifests, sizes and listings. A WAL segment or history listed larger than any RedDB writes (1 GiB, 16 MiB) is damaged either way, and never downloaded; every body is held to its listed size.

Reports every problem, each naming the object: repo.object-damaged for an object missing (even one that vanished after the listing), of the wrong size or failing its check (a piece once, naming every backup that needs it); repo.backup-unusable for a backup whose objects check out but that would not restore or not catch up. One damaged backup never stops the run. Exit 0 when there is no problem, 3 otherwise. Reads only.

Several repositories: with neither --repo nor --repo-name (nor REDREPL_REPO, nor a repo setting in the config file), each [repo.NAME] section of the config file is verified in turn, each with its own options. One that cannot be read or has a problem does not stop the others: --json prints one entry per repository (repository_name, repository, exit_code, error, report; a repository with a problem has its report and exit_code 3) and the run exits with the highest of their exit codes.`

  static override examples = ['<%= config.bin %> repo verify --repo s3://backups/reddb --node db1', '<%= config.bin %> repo verify --repo /mnt/backups/redrepl --quick']

  static override flags = {...repoFlags, timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.transfer), jobs: jobsFlag, 'segment-bytes': segmentBytesFlag, quick: Flags.boolean({description: 'Check manifests, sizes and listings only; download no piece, chunk or segment.'})}

  async run(): Promise<RepoVerifyDocument> {
    // As typed: parsing replaces this.argv with the config file's flags added.
    const typed = [...this.argv]
    const {flags} = await this.parse(RepoVerify)
    const repos = await configuredWhenUnnamed(flags)
    if (repos.length > 0) return this.verifyEach(repos, typed)
    const {node} = resolveNode(flags.node)
    return withRepository(flags, (backend) => verifyRepository(backend, {node, quick: flags.quick, jobs: flags.jobs ?? backend.defaultJobs, segmentBytes: flags['segment-bytes']}))
  }

  protected override human(report: RepoVerifyDocument): void {
    if (!('repositories' in report)) return this.sayVerified(report)
    for (const outcome of report.repositories) {
      if (outcome.report === null) this.say(`${outcome.repository_name} (${outcome.repository}): failed (exit ${outcome.exit_code}): ${outcome.error?.message}`)
      else {
        this.say(`[${outcome.repository_name}]`)
        this.sayVerified(outcome.report)
      }
    }
  }

  protected override exitCodeOf(report: RepoVerifyDocument): number {
    if ('repositories' in report) return worstExitCode(report.repositories)
    return report.ok ? 0 : EXIT_CODES.corrupt
  }

  /** Each configured repository verified in turn, with its own section as if --repo-name had been typed; one with a problem exits 3 in its entry. */
  private async verifyEach(repos: ConfiguredRepo[], typed: string[]): Promise<EachRepository<RepoVerifyReport>> {
    const outcomes = await forEachRepository<RepoVerifyReport>(
      repos,
      async (name) => {
        const {flags: own} = await this.parse(RepoVerify, ['--repo-name', name, ...typed])
        const {node} = resolveNode(own.node)
        return withRepository(own, (backend) => verifyRepository(backend, {node, quick: own.quick, jobs: own.jobs ?? backend.defaultJobs, segmentBytes: own['segment-bytes']}))
      },
      (report) => (report.ok ? 0 : EXIT_CODES.corrupt),
    )
    return {repositories: outcomes}
  }

  private sayVerified(report: RepoVerifyReport): void {
    if (report.findings.length > 0) this.say(renderTable(['object', 'problem'], report.findings.map((f) => [f.path, f.message])))
    this.say(`${report.repository} (node ${report.node}): ${report.backups} base backup(s), ${report.wal_segments} WAL segment(s); ${report.objects_read} object(s) read, ${formatBytes(report.read_bytes)}; ${report.ok ? 'no problem' : `${report.findings.length} problem(s)`}`)
  }
}
