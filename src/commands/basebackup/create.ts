import {Flags} from '../../ui/oclif.js'

import {usageError} from '../../core/errors.js'
import {createBasebackup, type CreateReport, type SnapshotSource} from '../../core/ops/basebackup/create.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {byteSizeFlag, dataPathFlag, jsonFlag, maxRateFlag, progressFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {formatBytes} from '../../ui/numbers.js'

export default class BasebackupCreate extends RedreplCommand<CreateReport> {
  static override summary = 'Take a chunked base backup of a snapshot (like pg_basebackup).'
  static override description = `Writes base-{start}-{checkpoint}.redbase and its .redbase.parts/ chunk files into the current timeline's basebackup/ directory, exactly as RedDB writes them. The snapshot comes out of an embedded .rdb database (--from, typically the node's own data file, in either format: opened by RedDB 1.23's rules when a superblock is stored in layout 2, else by RedDB 1.12's; its snapshot is verified against its CRC) or as raw bytes (--snapshot FILE, or - for stdin with --snapshot-bytes N, its exact size: a pipe cut short or running long is refused, exit 3, and nothing is written).

A snapshot RedDB would not open is refused before any backup is written (exit 3): one of 4 bytes or more must start with RDST, as RedDB requires of the snapshot of every database it opens, so a backup that exists is one "basebackup materialize" can restore.

Streams: memory stays bounded whatever the snapshot size; progress (bytes, rate, ETA) is shown on a terminal, and with --progress as plain lines on stderr elsewhere. Chunks are written into a staging directory that is renamed into place before the manifest is written, so a crash leaves either no backup or a complete one. Re-running with the same inputs reuses the parts already there; parts that do not match and have no manifest are replaced. When a backup at the same start and checkpoint LSNs already exists: with the same snapshot bytes (size and CRC, whatever its chunk size) it is kept as it is and the run succeeds with already_existed: true (exit 0); with other bytes the run is refused (exit 4) saying how they differ, and the existing backup is left alone: the database moved on since it was taken, so give the new snapshot its own --checkpoint-lsn.

Ctrl-C or SIGTERM stops it at its next piece of the stream: the staging directory is removed, no backup written, and it ends by the signal (shell status 130/143); a second signal ends it at once, leaving at most the staging directory, which RedDB ignores and a re-run removes.

--checkpoint-lsn defaults to the WAL head of the current timeline (RedDB itself takes max(WAL head, CDC head)), or, on a timeline without a WAL record yet (just promoted), the fork LSN it began at; checkpoint_source says which; --start-lsn defaults to 0. Safe next to a live node: it only adds files.`

  static override examples = [
    '<%= config.bin %> basebackup create --data-path /var/lib/reddb/data.rdb --from /var/lib/reddb/data.rdb',
    'cat snapshot.bin | <%= config.bin %> basebackup create --snapshot - --snapshot-bytes "$(stat -c %s snapshot.bin)" --checkpoint-lsn 5242882 --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    progress: progressFlag,
    from: Flags.string({description: 'Read the snapshot out of this embedded .rdb database.', exclusive: ['snapshot'], helpValue: 'PATH'}),
    snapshot: Flags.string({description: 'Read raw snapshot bytes from this file, or - for stdin (then --snapshot-bytes is required).', exclusive: ['from'], helpValue: 'FILE|-'}),
    'snapshot-bytes': u64Flag({description: 'With --snapshot -: the exact size of the snapshot on stdin; a stream that ends short or runs long is refused and nothing is written.'}),
    'checkpoint-lsn': u64Flag({description: 'The backup\'s checkpoint LSN (default: the WAL head).'}),
    'start-lsn': u64Flag({description: 'The backup\'s start LSN.', default: 0n}),
    'chunk-size': byteSizeFlag({description: 'Bytes per chunk file.', default: 4_194_304n}),
    'max-rate': maxRateFlag,
  }

  async run(): Promise<CreateReport> {
    const {flags} = await this.parse(BasebackupCreate)
    const dataPath = requireDataPath(flags['data-path'])
    let source: SnapshotSource
    if (flags['snapshot-bytes'] !== undefined && flags.snapshot !== '-') throw usageError('--snapshot-bytes goes with --snapshot - only: a file or a database states its own size')
    if (flags.from !== undefined) source = {kind: 'rdb', path: flags.from}
    else if (flags.snapshot === '-') {
      if (flags['snapshot-bytes'] === undefined) throw usageError('--snapshot - needs --snapshot-bytes N: a pipe cut short ends like a complete one, and only the size tells them apart')
      source = {kind: 'stream', stream: process.stdin, name: 'stdin', bytes: flags['snapshot-bytes']}
    } else if (flags.snapshot !== undefined) source = {kind: 'file', path: flags.snapshot}
    else throw usageError('name the snapshot: --from PATH (an embedded .rdb) or --snapshot FILE|-')
    const signal = this.stopOnInterrupt('clean-up')
    const progress = await this.showProgress('basebackup create', signal)
    return withWriteGuard({dataPath, command: 'basebackup create', safeNextToLiveNode: true, waitMs: flags.wait * 1000, signal}, (layout) =>
      createBasebackup(layout, {
        source,
        checkpointLsn: flags['checkpoint-lsn'],
        startLsn: flags['start-lsn'],
        chunkSize: flags['chunk-size'],
        onProgress: (done, total) => progress.update(done, total),
        signal,
        maxRate: flags['max-rate'],
      }),
    ).finally(() => progress.stop())
  }

  protected override human(report: CreateReport): void {
    if (report.already_existed) {
      this.say(`base backup at checkpoint ${report.manifest.checkpoint_lsn} already exists with exactly these ${formatBytes(report.snapshot_bytes)}: kept as it is, nothing written`)
      this.say(report.manifest_path)
      return
    }
    const how = report.reused_parts ? ' (parts already there, reused)' : report.replaced_parts ? ' (mismatched parts replaced)' : ''
    this.say(`base backup at checkpoint ${report.manifest.checkpoint_lsn}: ${formatBytes(report.snapshot_bytes)} in ${report.manifest.chunks.length} chunk(s)${how}`)
    this.say(report.manifest_path)
  }
}
