import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {pushToRepository} from '../../core/ops/repo/push.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, progressFlag, requireDataPath, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {compressFlag, compressLevelFlag, jobsFlag, repoFlags, resolveNode, transferFlags, withRepository} from '../../ui/repo-flags.js'
import {configuredWhenUnnamed, eachRepositoryLines, forEachRepository, worstExitCode, type ConfiguredRepo, type EachRepository} from '../../ui/repo-set.js'
import type {RepoPushDocument, RepoPushReport} from '../../core/ops/repo/push.js'

export default class RepoPush extends RedreplCommand<RepoPushDocument> {
  static override summary = 'Copy the node\'s base backups, timeline history and sealed WAL to the repository (cron-safe).'
  static override description = `Copies to the repository (--repo, a directory or s3://bucket/prefix) what it lacks of this node: every complete base backup, the timeline history, and every sealed WAL segment of every timeline (the highest segment of the current timeline, which RedDB still appends to, only with --include-current). Objects are named under the replica set's namespace (--cluster, the same flag as --node; default the host name) as docs/repository.md describes.

The repository records the replica set's facts at every push, in one object written after the objects it describes: the WAL segment size from the segment headers, the RedDB release the data file shows, and the timeline history. A node that contradicts them is refused (exit 4) before anything is uploaded, naming both sides: another segment size or a history that forks differently (another replica set, or a split brain), or a history the repository's has left behind (a former primary after a failover: rejoin it first). A node whose history extends the repository's (the new primary after a failover) carries on there.

A backup is stored incrementally: its snapshot (the chunk files in order, each checked against its CRC as it passes) is cut where its content says into pieces of 8 KiB to 128 KiB (about 37 KiB on average), each stored once per namespace: the pieces the namespace lacks are appended into pack objects of up to 16 MiB, each named by the SHA-256 of its bytes, and only those packs are uploaded, whichever backup, member or timeline stored them first (--json: pieces and pieces_uploaded per backup). The packs go first, then the backup's piece index (naming each piece's pack and offset), its manifest last, so a listing never shows a partial backup; just before the index, the pieces are listed again and any gone since (an expire running meanwhile) stored again. An object already there with the node's bytes (same size and CRC: S3 metadata, a directory object's sealed trailer) is skipped; one with other bytes is refused (exit 4) as another node's, except the copy of the live segment a push made with --include-current, which its grown self replaces, and a copy that fails its own CRC, which is stored again. The command is idempotent, and a run after a crash or a dropped connection picks up where the last one stopped. Every object is checked on its way out against the CRC RedDB recorded for it (the manifest's chunk CRCs, the sealed CRC of manifests, WAL segments and the history); a file that fails is never uploaded. Memory stays bounded whatever the sizes (objects stream); --jobs sets the transfers in flight.

--compress gzip or zstd stores new objects compressed (--compress-level: gzip 1-9, default 6; zstd 1-19, default 3), named <key>.<uncompressed size>.gz (or .zst), so a listing still tells each object's size. The CRC RedDB recorded is of the uncompressed bytes: it is checked before compression on the way out, and after decompression by "repo verify", "repo restore" and "repo fetch-wal"; every repo command reads both forms. An object already there is not rewritten in the other form. zstd objects are standard zstd frames of at most 4 MiB of input each (the zstd tool reads them): Node 22.15+ uses its own zlib, older Nodes the bundled @bokuweb/zstd-wasm, each reading what the other wrote.

An encrypted repository ("repo init --encrypt") needs one of its keys (--passphrase-file, --key-file or REDREPL_REPO_PASSPHRASE): each object is compressed, then sealed with AES-256-GCM before it leaves the host. Without a key, or with a wrong one, the push is refused (exit 4) before anything is written; a key given to an unencrypted repository is refused the same way.

A directory repository is checked to be what it claims first: the directory given is resolved once, and a repository that is, lies inside or holds a RedDB layout (a *.primary-replica directory) is refused (exit 4), as is a symbolic link anywhere below it (the node's directory, a timeline, wal/ or basebackup/ directory, a parts directory, an object): nothing is ever written through a link. Temp files that writers killed mid-copy left in the node's namespace are removed first (--json: dead_temps): at once when the temp's name shows it was written on this host by a process that is gone, otherwise once untouched for 24 hours (see docs/repository.md).

Several repositories: with neither --repo nor --repo-name (nor REDREPL_REPO, nor a repo setting in the config file), a push goes to each [repo.NAME] section of the config file in turn, each with its own options, under one layout lock. A repository that is unreachable or refuses does not stop the pushes to the others: the --json document lists one entry per repository (repository_name, repository, exit_code, error, report) and the run exits with the highest of their exit codes.

S3: credentials come from the AWS SDK's default chain (environment, shared config and credentials files with AWS_PROFILE, web identity from AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE as a Kubernetes service account sets them, container and instance roles). --s3-sse AES256|aws:kms (with --s3-kms-key-id) and --s3-storage-class go with every object written. Safe next to a live node; takes the layout lock, so two runs never overlap (a second exits 5).

Ctrl-C or SIGTERM stops every transfer in flight at its next piece, before its object takes its key (no temp file, no half-stored object), says so in one line and ends by the signal (130/143); the next push carries on.`

  static override examples = [
    '<%= config.bin %> repo push --data-path /var/lib/reddb/data.rdb --repo /mnt/backups/redrepl',
    '*/15 * * * * REDDB_DATA_PATH=/var/lib/reddb/data.rdb REDREPL_REPO=s3://backups/reddb <%= config.bin %> repo push --json >/dev/null',
    '<%= config.bin %> repo push --data-path /var/lib/reddb/data.rdb --repo s3://backups/reddb --s3-endpoint http://minio:9000 --s3-force-path-style --jobs 8',
    '<%= config.bin %> repo push --data-path /var/lib/reddb/data.rdb --repo /mnt/backups/redrepl --compress gzip',
    '<%= config.bin %> repo push --config /etc/redrepl/redrepl.conf --node primary --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    ...repoFlags,
    ...transferFlags,
    wait: waitFlag,
    progress: progressFlag,
    jobs: jobsFlag,
    compress: compressFlag,
    'compress-level': compressLevelFlag,
    'include-current': Flags.boolean({description: 'Also push the current timeline\'s highest WAL segment, which RedDB may still append to (pushed again once it grows).'}),
  }

  async run(): Promise<RepoPushDocument> {
    // As typed: parsing replaces this.argv with the config file's flags added.
    const typed = [...this.argv]
    const {flags} = await this.parse(RepoPush)
    const repos = await configuredWhenUnnamed(flags)
    if (repos.length > 0) return this.pushToEach(repos, typed)
    const dataPath = requireDataPath(flags['data-path'])
    const {node} = resolveNode(flags.node)
    const signal = this.stopOnInterrupt('clean-up')
    const progress = await this.showProgress('repo push', signal)
    return withWriteGuard({dataPath, command: 'repo push', safeNextToLiveNode: true, waitMs: flags.wait * 1000, signal}, (layout) =>
      withRepository(flags, (backend) => pushToRepository(layout, backend, {node, dataPath, nowMs: nowMs(), jobs: flags.jobs ?? backend.defaultJobs, includeCurrent: flags['include-current'], onProgress: (bytes) => progress.update(bytes, null), signal}), signal),
    ).finally(() => progress.stop())
  }

  protected override human(report: RepoPushDocument): void {
    if ('repositories' in report) {
      for (const line of eachRepositoryLines(report, (pushed, outcome) => `${outcome.repository_name} (${pushed.repository}, node ${pushed.node}): ${pushedLine(pushed)}`)) this.say(line)
      return
    }
    this.say(`${report.repository} (node ${report.node}): ${pushedLine(report)}`)
    this.say(`already there: ${report.backups_present} base backup(s), ${report.wal_segments_present} WAL segment(s)${report.history_pushed ? '; timeline history updated' : ''}`)
    for (const skip of report.skipped) this.say(`skipped ${skip.path}: ${skip.reason}`)
    if (report.dead_temps.count > 0) this.say(`removed ${report.dead_temps.count} temp file(s) of dead writers, ${formatBytes(report.dead_temps.bytes)}`)
  }

  /** One repository failing fails the run, with the worst exit code of them. */
  protected override exitCodeOf(report: RepoPushDocument): number {
    return 'repositories' in report ? worstExitCode(report.repositories) : 0
  }

  /** One push per configured repository, each parsed with its own section as if --repo-name had been typed. */
  private async pushToEach(repos: ConfiguredRepo[], typed: string[]): Promise<EachRepository<RepoPushReport>> {
    const {flags} = await this.parse(RepoPush, typed)
    const dataPath = requireDataPath(flags['data-path'])
    const {node} = resolveNode(flags.node)
    const signal = this.stopOnInterrupt('clean-up')
    const outcomes = await withWriteGuard({dataPath, command: 'repo push', safeNextToLiveNode: true, waitMs: flags.wait * 1000, signal}, (layout) =>
      forEachRepository<RepoPushReport>(repos, async (name) => {
        const {flags: own} = await this.parse(RepoPush, ['--repo-name', name, ...typed])
        return withRepository(own, (backend) => pushToRepository(layout, backend, {node, dataPath, nowMs: nowMs(), jobs: own.jobs ?? backend.defaultJobs, includeCurrent: own['include-current'], signal}), signal)
      }),
    )
    return {repositories: outcomes}
  }
}

const pushedLine = (report: RepoPushReport) =>
  `pushed ${report.backups_pushed.length} base backup(s) and ${report.wal_segments_pushed} WAL segment(s), ${report.objects_uploaded} object(s), ${formatBytes(report.uploaded_bytes)}`
