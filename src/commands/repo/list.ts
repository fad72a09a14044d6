import {listRepository, type RepoBackupRow, type RepoListReport} from '../../core/ops/repo/list.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {formatBytes} from '../../ui/numbers.js'
import {repoFlags, resolveNode, segmentBytesFlag, withRepository} from '../../ui/repo-flags.js'
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

export default class RepoList extends RedreplCommand<RepoListReport> {
  static override summary = 'List the node\'s base backups and WAL in the repository.'
  static override description = `The replica set's facts (current timeline, segment size, RedDB release) and the archive's health: when "repo push" last succeeded, and when it last failed and why. Then every base backup of the replica set's namespace (--cluster/--node) in the repository: timeline, checkpoint, size, when it was pushed, the bytes it added to the repository (a backup is stored as content-addressed pieces shared with the namespace's other backups: the pieces no backup pushed before it names; all of its bytes for one an older redrepl stored as whole chunks; --json: added_bytes, storage), whether it is complete (its manifest reads and is sane for its size, and every piece its index names, or every chunk, is listed with its size; --json's damage says why not), and whether the archive holds every WAL segment a node restored from it replays up to the archive's head (from its checkpoint's segment on, across each fork of the timeline history), naming the first missing one. Then the WAL per timeline: its segment runs and the gaps between them.

LSNs map to segments by the segment size the repository recorded at push from the segment headers (its facts object; for a namespace an older redrepl wrote, the header of one archived segment). --segment-bytes is not needed, and is refused (exit 4) when it contradicts the repository. Reads only; downloads the manifests and piece indexes (small), never the pieces or chunks. A manifest that vanished or is damaged since the listing is reported on its backup's row (complete false, damage saying why, snapshot_bytes and chunks 0) and the listing goes on: exit 0 whatever the backups' state; "repo verify" is the check that fails on damage.`

  static override examples = ['<%= config.bin %> repo list --repo s3://backups/reddb --node db1', '<%= config.bin %> repo list --repo /mnt/backups/redrepl --json']

  static override flags = {...repoFlags, 'segment-bytes': segmentBytesFlag}

  async run(): Promise<RepoListReport> {
    const {flags} = await this.parse(RepoList)
    const {node} = resolveNode(flags.node)
    return withRepository(flags, (backend) => listRepository(backend, {node, segmentBytes: flags['segment-bytes']}))
  }

  protected override human(report: RepoListReport): void {
    const size = report.segment_bytes === null ? 'segment size not known yet (only segment 0 archived)' : `${formatBytes(report.segment_bytes)} WAL segments`
    this.say(`${report.repository} (${report.node}): timeline ${report.current_timeline}, ${size}${report.rdb_release ? `, ${report.rdb_release}` : ''}`)
    const health = report.archive_health
    const at = (ms: bigint) => new Date(Number(ms)).toISOString()
    const success = health.last_success_unix_ms === null ? 'no push recorded' : `last push ${at(health.last_success_unix_ms)} from ${health.last_success_host}`
    const failure = health.last_failure_unix_ms === null ? '' : `; ${health.failing ? 'FAILING since' : 'last failure'} ${at(health.last_failure_unix_ms)} from ${health.last_failure_host}: ${health.last_failure_reason}`
    this.say(`archive: ${success}${failure}`)
    if (report.backups.length === 0) this.say(`${report.repository}: no base backup for node ${report.node}`)
    else {
      this.say(renderColumns(this.mainTable(report)))
      for (const b of report.backups) if (b.damage !== null) this.say(`damaged: ${b.damage}`)
    }
    for (const wal of report.wal) {
      const runs = wal.runs.map((r) => (r.first_index === r.last_index ? `${r.first_index}` : `${r.first_index}-${r.last_index}`)).join(', ')
      const gaps = wal.gaps.length === 0 ? 'no gap' : `gaps: ${wal.gaps.map((g) => `${g.first_index}-${g.last_index}`).join(', ')}`
      this.say(`timeline ${wal.timeline}: ${wal.segments} WAL segment(s) [${runs}], LSN ${wal.from_lsn}..${wal.to_lsn ?? '?'}, ${gaps}`)
    }
  }

  protected override mainTable(report: RepoListReport) {
    return tableOf(BACKUP_COLUMNS, report.backups)
  }
}
