import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {markerPendingPath, materializeBasebackup, type Destination, type ManifestChoice, type MaterializeReport} from '../../core/ops/basebackup/materialize.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, maxRateFlag, overwriteLiveFlag, progressFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {noteOnStderr} from '../../ui/findings.js'
import {formatBytes} from '../../ui/numbers.js'

export default class BasebackupMaterialize extends RedreplCommand<MaterializeReport> {
  static override summary = 'Rebuild a database from a base backup (standalone, or staged for a rebootstrap).'
  static override description = `Picks the base backup by --manifest, or by --checkpoint-lsn, or the latest usable one on the current timeline (its checkpoint still covered by the WAL kept, so the node can catch up; exit 6 otherwise); reads its chunks in order, verifying each chunk's size and CRC and the whole snapshot's CRC, and writes an embedded .rdb database holding that snapshot. The snapshot is moved verbatim: a RedDB replica additionally rewrites its replication settings inside it, which the node does itself when it starts.

The database is written in the format the node's RedDB writes (format.md §9): format 2 when the data file at --data-path was written by RedDB 1.23 (a superblock in layout 2), format 1 (RedDB 1.12's, which 1.23 also reads) when it has only layout-1 superblocks. --rdb-version 1|2 says it instead; with no database at --data-path it is required (exit 2). --rebootstrap refuses --rdb-version 1 for a node whose data file shows RedDB 1.23 (exit 4): RedDB 1.23.2 wrecks a format-1 database at its first checkpoint. The output says which format was written and which RedDB releases open it (--json: rdb_version, rdb_version_source, read_by). The bytes are those RedDB of that release writes when it creates a database with this snapshot (created_at = now).

--to PATH writes a standalone database (refusing to replace an existing file unless --force). --rebootstrap stages it the way a RedDB replica does: it writes D's rebootstrap pending database (D with its extension replaced by rebootstrap.pending.rdb) and then the ready marker {pending_path, checkpoint_lsn, timeline}, so the node swaps it in at its next start. The marker's pending_path is always absolute: RedDB accepts a marker only when pending_path is the path it derives from its own data path, compared component by component, and a node runs with an absolute data path, so a relative --data-path (rc1/data.rdb) is completed with the working directory as the shell names it ($PWD when that is this directory; symlinks are not resolved, as RedDB does not resolve them). Run it where the relative path means what the node's configuration says, or pass the absolute path the node is configured with.

Whichever way it is picked, the backup must lie on the path of the current timeline: its timeline is the current one or an ancestor in the history, and its checkpoint is at or below the fork LSN where the history leaves that timeline. A backup past that fork holds writes the current timeline never saw and is refused (exit 4); --force restores it anyway, with a warning on stderr. The history consulted is that of the layout the manifest lies in (timeline-N/basebackup/ under a layout root), else that of --data-path's layout. Two backups at the same checkpoint (different start LSNs) are told apart by start LSN: the higher one is restored and the report names the other (passed_over_same_checkpoint); --manifest picks another.

Streams with bounded memory and shows progress on a terminal; the database is written to a temp file and renamed into place, so nothing half-written ever carries the final name. Ctrl-C or SIGTERM stops it at its next piece of the stream, removing the temp file and leaving the destination as it was (shell status 130/143). Refuses while a RedDB process holds a data file of the layout unless --force, which then warns on stderr. A --to file that a running RedDB holds (a node's data file) is never replaced by --force alone: that takes --overwrite-live, and a warning (exit 4 without it, the file left as it was).`

  static override examples = [
    '<%= config.bin %> basebackup materialize --data-path /var/lib/reddb/data.rdb --to /tmp/restored.rdb',
    '<%= config.bin %> basebackup materialize --data-path /var/lib/reddb/data.rdb --checkpoint-lsn 5242882 --rebootstrap',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    progress: progressFlag,
    manifest: Flags.string({description: 'The base backup manifest (.redbase) to restore.', exclusive: ['checkpoint-lsn'], helpValue: 'FILE'}),
    'checkpoint-lsn': u64Flag({description: 'Restore the base backup with this checkpoint LSN on the current timeline.'}),
    to: Flags.string({description: 'Write a standalone database here.', exclusive: ['rebootstrap'], helpValue: 'PATH'}),
    rebootstrap: Flags.boolean({description: 'Stage the database and the ready marker for the node at --data-path to swap in at its next start.'}),
    force: Flags.boolean({description: 'Replace an existing --to file (not one a running RedDB holds: see --overwrite-live), restore a backup off the current timeline\'s path, or act although a RedDB process holds the data file; each override is warned on stderr. Never taken from a config file.'}),
    'overwrite-live': overwriteLiveFlag,
    'rdb-version': Flags.string({description: 'Write this embedded database format: 1 (RedDB 1.12) or 2 (RedDB 1.23). Default: the format of the data file at --data-path.', options: ['1', '2']}),
    'max-rate': maxRateFlag,
  }

  /** The data path as given, which the ready marker's line names. */
  private dataPath = ''

  async run(): Promise<MaterializeReport> {
    const {flags} = await this.parse(BasebackupMaterialize)
    const dataPath = requireDataPath(flags['data-path'])
    this.dataPath = dataPath
    const rdbVersion = flags['rdb-version'] === undefined ? undefined : flags['rdb-version'] === '2' ? 2 : 1
    let destination: Destination
    if (flags.to !== undefined) destination = {kind: 'file', path: flags.to, overwrite: flags.force || flags['overwrite-live'], overwriteLive: flags['overwrite-live'], dataPath, rdbVersion}
    else if (flags.rebootstrap) destination = {kind: 'rebootstrap', dataPath, rdbVersion}
    else throw usageError('say where to: --to PATH or --rebootstrap')
    const choice: ManifestChoice =
      flags.manifest !== undefined ? {manifestPath: flags.manifest} : flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : {latest: true}
    const signal = this.stopOnInterrupt('clean-up')
    const progress = await this.showProgress('basebackup materialize', signal)
    const report = await withWriteGuard({dataPath, command: 'basebackup materialize', force: flags.force, waitMs: flags.wait * 1000, createLayout: flags.manifest !== undefined, signal}, (layout) =>
      materializeBasebackup(layout, choice, destination, nowMs(), flags.force, (done, total) => progress.update(done, total), signal, flags['max-rate']),
    ).finally(() => progress.stop())
    noteOnStderr(report.findings)
    return report
  }

  protected override human(report: MaterializeReport): void {
    this.say(`materialized checkpoint ${report.checkpoint_lsn} (timeline ${report.timeline}, ${formatBytes(report.snapshot_bytes)}) into ${report.destination_path}`)
    if (report.passed_over_same_checkpoint.length > 0) this.say(`also at checkpoint ${report.checkpoint_lsn}, not chosen (lower start LSN): ${report.passed_over_same_checkpoint.join(', ')}; name one with --manifest`)
    this.say(`database format ${report.rdb_version} (${report.rdb_version_source === 'flag' ? 'as asked' : "the data file's"}), opened by ${report.read_by.join(' and ')}`)
    if (report.marker_path) this.say(`ready marker: ${report.marker_path}, naming ${markerPendingPath(this.dataPath)} — the node swaps the database in at its next start`)
  }
}
