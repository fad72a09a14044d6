import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {markerPendingPath, type Destination} from '../../core/ops/basebackup/materialize.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {restoreFromRepository, type RepoBackupChoice, type RepoRestoreReport} from '../../core/ops/repo/restore.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, overwriteLiveFlag, progressFlag, u64Flag, waitFlag} from '../../ui/flags.js'
import {noteOnStderr} from '../../ui/findings.js'
import {formatBytes} from '../../ui/numbers.js'
import {repoFlags, resolveNode, transferFlags, withRepository} from '../../ui/repo-flags.js'

export default class RepoRestore extends RedreplCommand<RepoRestoreReport> {
  static override summary = 'Rebuild a database from a base backup in the repository (standalone, or staged for a rebootstrap).'
  static override description = `Picks the base backup in the replica set's namespace by --checkpoint-lsn, or the newest complete one on the current timeline's path (its manifest and piece index read and every piece, or chunk, is listed with its size: a newer backup with an object gone is passed over), and writes the embedded .rdb database it holds, exactly as "basebackup materialize" does from local chunks: every chunk is checked against its manifest's size and CRC as it streams in, and the whole snapshot against its CRC; a corrupt or missing object aborts the restore (exit 3) naming it, and nothing half-written ever carries the final name.

--to PATH writes a standalone database (refusing to replace a file unless --force; a file a running RedDB holds, such as a live node's data file, only with --overwrite-live, which warns on stderr); no node is needed, so it works after the node's disk is gone. --rebootstrap stages it for the node at --data-path (pending database, then the ready marker, whose pending_path is absolute as in "basebackup materialize"), creating the layout root if it is gone; it refuses while RedDB holds the data file unless --force, which warns on stderr. Follow with "repo fetch-wal" to bring the WAL from the checkpoint on.

The guards of "basebackup materialize" hold, judged by what the repository records of the replica set: the backup must lie on the path of the current timeline of the set's history (its timeline is the current one or an ancestor, and its checkpoint at or below the fork LSN where the history leaves that timeline); a backup past that fork holds writes the current timeline never saw and is refused (exit 4), and --force restores it anyway with a warning on stderr. The database format is the one the replica set's RedDB writes, from the repository's facts (format 2 for a set that has run RedDB 1.23), or the data file at --data-path when it shows a newer release; --rdb-version 1 for a 1.23 set is refused (exit 4: RedDB 1.23.2 wrecks a format-1 file at its first checkpoint).

Ctrl-C or SIGTERM stops it at its next piece of the stream: the temp file is removed, the destination left as it was, one line says so, and the run ends by the signal (shell status 130/143). A temp file a killed restore left beside the --to target (TARGET.<pid>-<random>.tmp, its process gone) is removed by the next restore there and reported on stderr (--json: a leftover.temp-file finding).`

  static override examples = [
    '<%= config.bin %> repo restore --repo s3://backups/reddb --node db1 --to /var/lib/reddb/data.rdb',
    '<%= config.bin %> repo restore --repo /mnt/backups/redrepl --node db1 --data-path /var/lib/reddb/data.rdb --rebootstrap --checkpoint-lsn 5242882',
  ]

  static override flags = {
    ...repoFlags,
    ...transferFlags,
    'data-path': dataPathFlag,
    wait: waitFlag,
    progress: progressFlag,
    'checkpoint-lsn': u64Flag({description: 'Restore the base backup with this checkpoint LSN (default: the newest).'}),
    to: Flags.string({description: 'Write a standalone database here.', exclusive: ['rebootstrap'], helpValue: 'PATH'}),
    rebootstrap: Flags.boolean({description: 'Stage the database and the ready marker for the node at --data-path.'}),
    force: Flags.boolean({description: 'Replace an existing --to file, restore a backup off the current timeline\'s path, or act although a RedDB process holds the data file (each with a warning on stderr). Never taken from a config file.'}),
    'overwrite-live': overwriteLiveFlag,
    'rdb-version': Flags.string({
      description: 'Write this embedded database format: 1 (RedDB 1.12) or 2 (RedDB 1.23). Default: the replica set\'s, as the repository records it (or the data file at --data-path shows, when newer); required only when neither tells. 1 for a 1.23 set is refused.',
      options: ['1', '2'],
    }),
  }

  /** The node's data path, which the ready marker's line names. */
  private dataPath = ''

  async run(): Promise<RepoRestoreReport> {
    const {flags} = await this.parse(RepoRestore)
    this.dataPath = flags['data-path'] ?? ''
    const {node} = resolveNode(flags.node)
    const rdbVersion = flags['rdb-version'] === undefined ? undefined : flags['rdb-version'] === '2' ? 2 : 1
    const choice: RepoBackupChoice = flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : {latest: true}
    const signal = this.stopOnInterrupt('clean-up')
    const progress = await this.showProgress('repo restore', signal)
    const restore = (destination: Destination) =>
      withRepository(flags, (backend) => restoreFromRepository(backend, {node, choice, destination, nowMs: nowMs(), force: flags.force, onProgress: (done, total) => progress.update(done, total), signal}), signal)
    let report: RepoRestoreReport
    try {
      if (flags.to !== undefined) report = await restore({kind: 'file', path: flags.to, overwrite: flags.force || flags['overwrite-live'], overwriteLive: flags['overwrite-live'], dataPath: flags['data-path'] ?? '', rdbVersion})
      else if (flags.rebootstrap) {
        const dataPath = flags['data-path']
        if (dataPath === undefined || dataPath === '') throw usageError('--rebootstrap needs the node: pass --data-path D or set REDDB_DATA_PATH')
        report = await withWriteGuard({dataPath, command: 'repo restore', force: flags.force, waitMs: flags.wait * 1000, createLayout: true, signal}, () => restore({kind: 'rebootstrap', dataPath, rdbVersion}))
      } else throw usageError('say where to: --to PATH or --rebootstrap')
    } finally {
      progress.stop()
    }
    noteOnStderr(report.findings)
    return report
  }

  protected override human(report: RepoRestoreReport): void {
    this.say(`restored checkpoint ${report.checkpoint_lsn} (timeline ${report.timeline}, ${formatBytes(report.snapshot_bytes)}) from ${report.manifest_key} into ${report.destination_path}`)
    if (report.marker_path) this.say(`ready marker: ${report.marker_path}, naming ${markerPendingPath(this.dataPath)} — the node swaps the database in at its next start`)
  }
}
