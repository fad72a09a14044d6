import {Flags} from '../../ui/oclif.js'

import {EXIT_CODES} from '../../core/errors.js'
import {verifyRepository, type RepoVerifyReport} from '../../core/ops/repo/verify.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {DEFAULT_TIMEOUT_MS, jobsFlag, repoFlags, resolveNode, segmentBytesFlag, timeoutFlag, withRepository} from '../../ui/repo-flags.js'
import {renderTable} from '../../ui/table.js'

export default class RepoVerify extends RedreplCommand<RepoVerifyReport> {
  static override summary = 'Prove that every backup of the node in the repository restores and catches up.'
  static override description = `Downloads every manifest (checking its CRC, that it decodes and matches its name, and that it is sane for its size: a snapshot a database file can hold, chunks cut as every writer cuts them, chunk CRCs that combine to the snapshot's), checks that its piece index reads and every piece it names is listed with its size (for a backup an older redrepl stored as whole chunks, every chunk) and that the archived WAL runs without a gap from the segment of its checkpoint to the newest archived one (the segment size is read from the archived segments' headers as they are downloaded; --segment-bytes gives it for --quick, which downloads none), and downloads every piece once, however many backups share it, checking it against its SHA-256 address, and every chunk (older backups), WAL segment and the timeline history, checking each against the CRC RedDB recorded for it and each reassembled snapshot by RedDB's open rules (RDST), as it streams past. --quick stops at manifests, sizes and listings. A WAL segment or history listed larger than any RedDB writes (1 GiB, 16 MiB) is damaged either way, and never downloaded; every body is held to its listed size.

Reports every problem, each naming the object: repo.object-damaged for an object missing (even one that vanished after the listing), of the wrong size or failing its check (a piece once, naming every backup that needs it); repo.backup-unusable for a backup whose objects check out but that would not restore or not catch up. One damaged backup never stops the run. Exit 0 when there is no problem, 3 otherwise. Reads only.`

  static override examples = ['<%= config.bin %> repo verify --repo s3://backups/reddb --node db1', '<%= config.bin %> repo verify --repo /mnt/backups/redrepl --quick']

  static override flags = {...repoFlags, timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.transfer), jobs: jobsFlag, 'segment-bytes': segmentBytesFlag, quick: Flags.boolean({description: 'Check manifests, sizes and listings only; download no piece, chunk or segment.'})}

  async run(): Promise<RepoVerifyReport> {
    const {flags} = await this.parse(RepoVerify)
    const {node} = resolveNode(flags.node)
    return withRepository(flags, (backend) => verifyRepository(backend, {node, quick: flags.quick, jobs: flags.jobs ?? backend.defaultJobs, segmentBytes: flags['segment-bytes']}))
  }

  protected override human(report: RepoVerifyReport): void {
    if (report.findings.length > 0) this.say(renderTable(['object', 'problem'], report.findings.map((f) => [f.path, f.message])))
    this.say(`${report.repository} (node ${report.node}): ${report.backups} base backup(s), ${report.wal_segments} WAL segment(s); ${report.objects_read} object(s) read, ${formatBytes(report.read_bytes)}; ${report.ok ? 'no problem' : `${report.findings.length} problem(s)`}`)
  }

  protected override exitCodeOf(report: RepoVerifyReport): number {
    return report.ok ? 0 : EXIT_CODES.corrupt
  }
}
