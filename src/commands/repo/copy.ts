import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {copyRepository, type RepoCopyReport} from '../../core/ops/repo/copy.js'
import type {RepoBackend} from '../../core/ops/repo/open.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {progressFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {compressFlag, DEFAULT_TIMEOUT_MS, jobsFlag, openRepoFromFlags, repoFlags, repoNameFlag, resolveNode, timeoutFlag, transferFlags} from '../../ui/repo-flags.js'
import {configuredRepositories} from '../../ui/repo-set.js'

export default class RepoCopy extends RedreplCommand<RepoCopyReport> {
  static override summary = 'Copy a namespace\'s base backups and WAL from one repository to another, checked and resumable.'
  static override description = `Copies what --to lacks of the namespace (--cluster, the same flag as --node) in --from: every base backup the source lists (its pieces first, then its piece index, its manifest last; a backup an older redrepl stored as whole chunks is copied so, chunks first), every WAL segment, the timeline history and, last, the replica set's facts. --from and --to each take a [repo.NAME] section of the config file (with that repository's own options: S3 endpoint and region, timeout, compression of the target, and the key of an encrypted repository, passphrase-file or key-file) or a repository URL (a directory or s3://bucket/prefix, reached with the S3 flags given here).

The integrity checks are push's: every object is checked as it comes out of the source (a piece against its address, the SHA-256 of its bytes; a manifest's chunk CRCs; the sealed CRC of manifests, piece indexes, WAL segments and the history); an object that fails is refused as corrupt (exit 3), naming it in the source, and nothing of it is stored. Each object stored is then checked again: a piece read back from the target and hashed, any other object by the CRC the target reports for it. What the target already holds is decided by its bytes (a piece's SHA-256, else size and CRC), never by its name: the same bytes are skipped, so a run after a crash, a kill or a dropped connection copies only what is missing; other bytes under the same name are refused (exit 4) as another replica set's, except a chunk or piece index of a backup the target does not list yet, a piece whose bytes are not those its address names, and a copy that fails its own CRC, which are stored again.

The source's facts meet the target's as a pushing node's would (docs/repository.md, "Facts"): another segment size, a history that forks, or a history the target's has left behind is refused (exit 4) before anything is copied. An object in the source's namespace that this redrepl does not know (a newer storage shape) is refused (exit 4), naming it, rather than copied as a guess; the source's push status and drill record, which describe that repository, and chunks or pieces no listed backup names (a push cut short, pieces left for expire) are not copied and are listed in the report.

Objects are copied as their logical bytes: each side compresses and seals (an encrypted repository, "repo init --encrypt") with its own settings, so an encrypted repository can be copied to a plain one and back. Each side's key comes from its section; REDREPL_REPO_PASSPHRASE, when set, is given to both; --passphrase-file and --key-file are refused here (exit 2), as they would be given to both.

Memory stays bounded whatever the sizes: objects stream from one store to the other, a piece (4 MiB at most) is held whole while it is checked; --jobs sets the transfers in flight. --json: each copied backup's chunks_copied, pieces (how many its index names, 0 for whole chunks) and pieces_copied. --dry-run reports what would be copied and writes nothing. Temp files that killed writers left in the target's namespace are removed first, as by "repo push" (--json: dead_temps). Ctrl-C or SIGTERM stops every transfer at its next piece, before its object takes its key; the target then lists no partial backup, and the next copy carries on.`

  static override examples = [
    '<%= config.bin %> repo copy --from local --to offsite --cluster db1',
    '<%= config.bin %> repo copy --from /mnt/backups/redrepl --to s3://backups-eu/reddb --cluster db1 --dry-run --json',
  ]

  static override flags = {
    json: repoFlags.json,
    from: Flags.string({description: 'The source: a [repo.NAME] section of the config file, or a repository URL.', required: true, helpValue: 'NAME|URL'}),
    to: Flags.string({description: 'The target: a [repo.NAME] section of the config file, or a repository URL.', required: true, helpValue: 'NAME|URL'}),
    node: repoFlags.node,
    's3-endpoint': repoFlags['s3-endpoint'],
    's3-region': repoFlags['s3-region'],
    's3-force-path-style': repoFlags['s3-force-path-style'],
    compress: compressFlag,
    timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.transfer),
    jobs: jobsFlag,
    'max-rate': transferFlags['max-rate'],
    progress: progressFlag,
    'dry-run': Flags.boolean({description: 'Report what would be copied; write nothing.'}),
    // Set only through --from/--to NAME, by the config file's [repo.NAME] section: what each side is and its options.
    repo: Flags.string({hidden: true}),
    'repo-name': repoNameFlag(),
    // Likewise each side's key (passphrase-file, key-file in its section): one typed here would be given to both sides.
    'passphrase-file': Flags.string({hidden: true}),
    'key-file': Flags.string({hidden: true}),
  }

  async run(): Promise<RepoCopyReport> {
    // As typed: parse() replaces this.argv with the config file's settings added.
    const typed = [...this.argv]
    const {flags} = await this.parse(RepoCopy)
    if (flags.repo !== undefined || flags['repo-name'] !== undefined) throw usageError('repo copy takes its repositories as --from and --to, not --repo or --repo-name')
    if (typed.some((arg) => /^--(passphrase|key)-file(=|$)/.test(arg))) throw usageError('repo copy takes each repository\'s key from its [repo.NAME] section (passphrase-file or key-file), not from --passphrase-file or --key-file, which would give it to both')
    const {node} = resolveNode(flags.node)
    const configured = new Set((await configuredRepositories(flags.config)).map((repo) => repo.name))
    const signal = this.stopOnInterrupt('clean-up')
    const open = async (side: string): Promise<RepoBackend> => {
      if (!configured.has(side)) return openRepoFromFlags({...flags, repo: side}, signal)
      const {flags: own} = await this.parse(RepoCopy, ['--repo-name', side, ...typed])
      return openRepoFromFlags(own, signal)
    }
    const from = await open(flags.from)
    let to: RepoBackend | undefined
    const progress = await this.showProgress('repo copy', signal)
    try {
      to = await open(flags.to)
      return await copyRepository(from, to, {node, dryRun: flags['dry-run'] === true, jobs: flags.jobs ?? Math.min(from.defaultJobs, to.defaultJobs), nowMs: nowMs(), onProgress: (bytes) => progress.update(bytes, null), signal})
    } finally {
      progress.stop()
      await to?.close()
      await from.close()
    }
  }

  protected override human(report: RepoCopyReport): void {
    const verb = report.dry_run ? 'would copy' : 'copied'
    const pieces = report.backups_copied.reduce((sum, backup) => sum + backup.pieces_copied, 0)
    this.say(`${report.from} → ${report.to} (node ${report.node}): ${verb} ${report.backups_copied.length} base backup(s)${pieces > 0 ? ` (${pieces} piece(s) the target lacked)` : ''} and ${report.wal_segments_copied} WAL segment(s), ${report.objects_copied} object(s), ${formatBytes(report.copied_bytes)}`)
    this.say(`already there: ${report.backups_present} base backup(s), ${report.wal_segments_present} WAL segment(s)${report.history_copied ? `; timeline history ${report.dry_run ? 'would be ' : ''}updated` : ''}`)
    for (const skip of report.skipped) this.say(`not copied ${skip.key}: ${skip.reason}`)
  }
}
