import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import type {Destination} from '../../core/ops/basebackup-materialize.js'
import {withWriteGuard} from '../../core/ops/guard.js'
import {restoreFromRepository, type RepoBackupChoice} from '../../core/ops/repo-restore.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, forceFlag, progressFlag, u64Flag, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'
import {repoFlags, resolveNode, transferFlags, withRepository} from '../../ui/repo-flags.js'

export default class RepoRestore extends RedreplCommand {
  static override summary = 'Rebuild a database from a base backup in the repository (standalone, or staged for a rebootstrap).'
  static override description = `Picks the node's base backup in the repository by --checkpoint-lsn, or the newest complete one (its manifest reads and every chunk is listed with its size: a newer backup with an object gone is passed over), and writes the embedded .rdb database it holds, exactly as "basebackup materialize" does from local chunks: every chunk is checked against its manifest's size and CRC as it streams in, and the whole snapshot against its CRC; a corrupt or missing object aborts the restore (exit 3) naming it, and nothing half-written ever carries the final name.

--to PATH writes a standalone database (refusing to replace a file unless --force); no node is needed, so it works after the node's disk is gone. --rebootstrap stages it for the node at --data-path (pending database, then the ready marker), creating the layout root if it is gone; it refuses while RedDB holds the data file unless --force. Follow with "repo fetch-wal" to bring the WAL from the checkpoint on.`

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
    force: forceFlag,
    'rdb-version': Flags.string({description: 'Write this embedded database format: 1 (RedDB 1.12) or 2 (RedDB 1.23). Default: the format of the data file at --data-path; required without one.', options: ['1', '2']}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(RepoRestore)
    this.json = flags.json
    const {node} = resolveNode(flags.node)
    const rdbVersion = flags['rdb-version'] === undefined ? undefined : flags['rdb-version'] === '2' ? 2 : 1
    const choice: RepoBackupChoice = flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : {latest: true}
    const progress = await this.showProgress('repo restore')
    const restore = (destination: Destination) =>
      withRepository(flags, (backend) => restoreFromRepository(backend, {node, choice, destination, nowMs: nowMs(), onProgress: (done, total) => progress.update(done, total)}))
    let report
    try {
      if (flags.to !== undefined) report = await restore({kind: 'file', path: flags.to, overwrite: flags.force, dataPath: flags['data-path'] ?? '', rdbVersion})
      else if (flags.rebootstrap) {
        const dataPath = flags['data-path']
        if (dataPath === undefined || dataPath === '') throw usageError('--rebootstrap needs the node: pass --data-path D or set REDDB_DATA_PATH')
        report = await withWriteGuard({dataPath, command: 'repo restore', force: flags.force, waitMs: flags.wait * 1000, createLayout: true}, () => restore({kind: 'rebootstrap', dataPath, rdbVersion}))
      } else throw usageError('say where to: --to PATH or --rebootstrap')
    } finally {
      progress.stop()
    }
    const done = report
    await this.emit(done, () => {
      this.say(`restored checkpoint ${done.checkpoint_lsn} (timeline ${done.timeline}, ${formatBytes(done.snapshot_bytes)}) from ${done.manifest_key} into ${done.destination_path}`)
      if (done.marker_path) this.say(`ready marker: ${done.marker_path} — the node swaps the database in at its next start`)
    })
  }
}
