import {Flags} from '../../ui/oclif.js'

import {EXIT_CODES} from '../../core/errors.js'
import {verifyRepository} from '../../core/ops/repo-verify.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {DEFAULT_TIMEOUT_MS, jobsFlag, repoFlags, resolveNode, timeoutFlag, withRepository} from '../../ui/repo-flags.js'
import {renderTable} from '../../ui/table.js'

export default class RepoVerify extends RedreplCommand {
  static override summary = 'Check every object of the node in the repository against its CRC.'
  static override description = `Downloads every manifest (checking its CRC and that it decodes and matches its name), checks that every chunk it names is listed with its size, and downloads every chunk, WAL segment and the timeline history, checking each against the CRC RedDB recorded for it. --quick stops at manifests, sizes and listings. A WAL segment or history listed larger than any RedDB writes (1 GiB, 16 MiB) is damaged either way, and never downloaded; every body is held to its listed size.

Reports every problem, each naming the object. Exit 0 when there is none, 3 otherwise. Reads only.`

  static override examples = ['<%= config.bin %> repo verify --repo s3://backups/reddb --node db1', '<%= config.bin %> repo verify --repo /mnt/backups/redrepl --quick']

  static override flags = {...repoFlags, timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.transfer), jobs: jobsFlag, quick: Flags.boolean({description: 'Check manifests, sizes and listings only; download no chunk or segment.'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(RepoVerify)
    this.json = flags.json
    const {node} = resolveNode(flags.node)
    const report = await withRepository(flags, (backend) => verifyRepository(backend, {node, quick: flags.quick, jobs: flags.jobs ?? backend.defaultJobs}))
    await this.emit(report, () => {
      if (report.findings.length > 0) this.say(renderTable(['object', 'problem'], report.findings.map((f) => [f.path, f.message])))
      this.say(`${report.repository} (node ${report.node}): ${report.backups} base backup(s), ${report.wal_segments} WAL segment(s); ${report.objects_read} object(s) read, ${formatBytes(report.read_bytes)}; ${report.ok ? 'no problem' : `${report.findings.length} problem(s)`}`)
    })
    if (!report.ok) process.exitCode = EXIT_CODES.corrupt
  }
}
