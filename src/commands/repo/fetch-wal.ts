import {withWriteGuard} from '../../core/ops/node/guard.js'
import {fetchWal, type FetchWalReport} from '../../core/ops/repo/restore.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, forceFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {repoFlags, resolveNode, segmentBytesFlag, transferFlags, withRepository} from '../../ui/repo-flags.js'

export default class RepoFetchWal extends RedreplCommand<FetchWalReport> {
  static override summary = 'Bring archived WAL segments from the repository into the node\'s WAL directory.'
  static override description = `Downloads exactly the WAL a node restored at --from-lsn (a restored backup's checkpoint) replays, into the node's WAL directories: on the timeline of the replica set's history that holds --from-lsn, from its segment to the segment of the fork out of it, then on each later timeline from its fork's segment, up to the newest archived segment of the current timeline. LSNs map to segments by the segment size the repository recorded at push (--segment-bytes is not needed, and is refused when it contradicts it). Each segment streams into a temp file through the checks of a full decode (its header must name its timeline, its index and the start LSN index × segment size; every record's CRCs, order and sequence; the totals) and its CRC, before it is renamed into place; a listed size past the largest WAL segment (1 GiB), or a body longer than its listed size, is refused naming the object (exit 3), and no whole segment is ever held in memory; a local segment is never replaced (one with another size is listed as kept). When the node has no timeline history, the repository's is written first. Creates the layout root if it is gone.

Refuses (exit 6) before writing a segment when any segment of that run is missing from the repository, naming the first. Refuses while RedDB holds the data file unless --force.

Ctrl-C or SIGTERM stops it in the segment it is fetching: that segment's temp file is removed (the segments fetched before are whole), one line says so, and the run ends by the signal (130/143); a re-run fetches the rest.`

  static override examples = ['<%= config.bin %> repo fetch-wal --repo s3://backups/reddb --node db1 --data-path /var/lib/reddb/data.rdb --from-lsn 5242882']

  static override flags = {
    ...repoFlags,
    ...transferFlags,
    'data-path': dataPathFlag,
    wait: waitFlag,
    'from-lsn': u64Flag({description: 'Fetch from the segment holding this LSN (a restored backup\'s checkpoint).', required: true}),
    'segment-bytes': segmentBytesFlag,
    force: forceFlag,
  }

  async run(): Promise<FetchWalReport> {
    const {flags} = await this.parse(RepoFetchWal)
    const dataPath = requireDataPath(flags['data-path'])
    const {node} = resolveNode(flags.node)
    const signal = this.stopOnInterrupt('clean-up')
    return withWriteGuard({dataPath, command: 'repo fetch-wal', force: flags.force, waitMs: flags.wait * 1000, createLayout: true, signal}, (layout) =>
      withRepository(flags, (backend) => fetchWal(layout, backend, {node, fromLsn: flags['from-lsn'], segmentBytes: flags['segment-bytes'], signal}), signal),
    )
  }

  protected override human(report: FetchWalReport): void {
    const bytes = report.fetched.reduce((sum, s) => sum + s.bytes, 0n)
    const runs = report.stretches.map((s) => `timeline ${s.timeline} from segment ${s.first_index}${s.last_index === null ? '' : ` to ${s.last_index}`}`).join(', then ')
    this.say(`fetched ${report.fetched.length} WAL segment(s) (${formatBytes(bytes)}): ${runs}; ${report.already_present} already present${report.history_written ? '; timeline history written' : ''}`)
    for (const kept of report.kept_local) this.say(`kept the local segment ${kept.index} of timeline ${kept.timeline} (its size differs from the archived one): ${kept.path}`)
  }
}
