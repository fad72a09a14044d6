import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {EXIT_CODES} from '../../core/errors.js'
import type {Finding} from '../../core/findings.js'
import {verifyLayout, type VerifyReport} from '../../core/ops/layout/verify.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, maxRateFlag, progressFlag, requireDataPath} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderColumns, tableOf, type Column} from '../../ui/table.js'

/** The findings table: --output tsv lists every finding, notes too; the human table the problems, the notes as lines below. */
const FINDING_COLUMNS: Array<Column<Finding>> = [
  {header: 'path', value: (f) => f.path, priority: 1},
  {header: 'code', value: (f) => f.code, priority: 2},
  {header: 'severity', value: (f) => (f.severity === 'error' ? paint.red(f.severity) : paint.yellow(f.severity)), raw: (f) => f.severity, priority: 1},
  {header: 'problem', value: (f) => f.message, key: 'message', priority: 1},
]

export default class LayoutVerify extends RedreplCommand<VerifyReport> {
  static override summary = 'Check every artifact of a node\'s layout (for monitoring).'
  static override description = `Decodes every artifact under the node's layout — the timeline history, every timeline's WAL segments, slot catalog, base backups (every chunk read against its CRC and the snapshot's), relay manifests and segments — and the files beside the data path (the data file itself, the legacy slot store, a rebootstrap marker and its pending database; both databases are opened by RedDB 1.23's rules when either has a superblock stored in layout 2, else by RedDB 1.12's), and cross-checks them: manifests against their chunks and segments, WAL file names against headers, catalogs and manifests against their timeline directory, the history against the timeline directories present. It also reports what RedDB tolerates but should never happen: relay segments that overlap or run backwards, WAL segment headers that disagree on the segment size (wal.segment-size), segments missing between the oldest and the newest (wal.gap: the files cannot tell unwritten LSNs from lost WAL). On the current timeline it reports a retention that can never prune (wal.retention-stalled: segments below the head's are held while there is no slot catalog, the catalog names another timeline, or no slot is active, judged with RedDB's default keep-until-replicas-ack; on a node where no replica has ever registered — no slot catalog or relay log on any timeline and no legacy slot store, as on a node just restored from a repository — the missing catalog is a note, data.no_replica_yet true, since RedDB creates it when the first replica registers) and every active slot, of the catalog or the legacy store, that restarts below the oldest WAL left (slot.behind-wal: its replica cannot resume from WAL), and every inactive slot, not invalidated, whose retention floor lies there (slot.lost, a warning: a correct prune stranded it, since RedDB's retention holds WAL for active slots only; "check" makes it CRITICAL when no usable base backup can catch the replica up either).

Every finding has a stable code (--json: findings[].code) and a severity. Exit 0 when no finding is an error or a warning, 3 otherwise. For the databases: rdb.version-1-under-1-23 (note) for a format-1 database, which RedDB 1.23.2 wrecks if it checkpoints it in place; rdb.refused-by-1-23 (warning) for one only RedDB 1.12's manifest fallback opens; rdb.versions-differ (note) when the data file and the pending database are of different formats. Notes do not fail the check: what RedDB 1.12 does by design (timeline-1 slot catalogs and relay logs under a later timeline after a failover) and leftovers of interrupted runs (temporary files, staging directories), which RedDB ignores. Symbolic links: layout.linked-dir (note) for the links an operator may make, of the layout root or a whole wal/ or basebackup/ directory (naming where each leads; commands that remove files enter them and stay inside); layout.symlink (warning) for a link where the layout holds a real directory (a timeline directory, relay/ or a replica's relay directory), which every command that writes or removes files in the layout refuses. Reads only.`

  static override examples = ['<%= config.bin %> layout verify --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> layout verify --quiet || alert "reddb layout damaged"']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    progress: progressFlag,
    quiet: Flags.boolean({char: 'q', description: 'Print nothing when the layout is sound.'}),
    'max-rate': maxRateFlag,
  }

  /** --quiet: nothing printed when the layout is sound. */
  private quiet = false

  async run(): Promise<VerifyReport> {
    const {flags} = await this.parse(LayoutVerify)
    this.quiet = flags.quiet
    const progress = await this.showProgress('layout verify', this.stopOnInterrupt('exit'))
    return verifyLayout(requireDataPath(flags['data-path']), nowMs(), {onProgress: (done) => progress.update(done, null), maxRate: flags['max-rate']}).finally(() => progress.stop())
  }

  protected override human(report: VerifyReport): void {
    if (report.ok && this.quiet) return
    const problems = report.findings.filter((f) => f.severity !== 'note')
    if (report.ok) this.say(`${report.root_path}: ${report.artifacts_checked} artifact(s) checked, no problem`)
    else {
      this.say(renderColumns(tableOf(FINDING_COLUMNS, problems)))
      this.say(`${report.root_path}: ${problems.length} problem(s) in ${report.artifacts_checked} artifact(s)`)
    }
    for (const note of report.findings.filter((f) => f.severity === 'note')) this.say(paint.dim(`note: ${note.path}: ${note.message} [${note.code}]`))
  }

  protected override mainTable(report: VerifyReport) {
    return tableOf(FINDING_COLUMNS, report.findings)
  }

  /** The report is out; the exit code tells monitoring. */
  protected override exitCodeOf(report: VerifyReport): number {
    return report.ok ? 0 : EXIT_CODES.corrupt
  }
}
