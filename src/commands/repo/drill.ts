import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {EXIT_CODES} from '../../core/errors.js'
import {drillRepository, type RepoDrillReport} from '../../core/ops/repo/drill.js'
import type {RepoBackupChoice} from '../../core/ops/repo/restore.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {u64Flag} from '../../ui/flags.js'
import {repoFlags, resolveNode, segmentBytesFlag, withRepository} from '../../ui/repo-flags.js'
import {renderTable} from '../../ui/table.js'

export default class RepoDrill extends RedreplCommand<RepoDrillReport> {
  static override summary = 'Prove that the repository alone rebuilds the node: restore, fetch WAL, verify, clean up, record.'
  static override description = `A restore rehearsal, as a cron job can run it: restores the node's newest complete base backup in the repository (or the one --checkpoint-lsn names) into a scratch directory, exactly as "repo restore --to" does, fetches its WAL from the checkpoint on as "repo fetch-wal" does, and verifies the result by "layout verify"'s rules (a node restored this way has no slot catalog yet, which is a note). Then it removes what it restored and records the outcome and its time in the repository, as one small object (<node>/drill.json, replaced whole) holding whether it passed, when it finished, when a drill last passed, the backup and the problem, for monitoring to alert when the last successful drill is too old.

--scratch DIR names where to rebuild: a directory that does not exist (created, then removed) or an empty one (emptied again afterwards); one holding anything is refused (exit 4) before anything is written. By default a fresh directory under the system temp dir. --rdb-version picks the database format written (default 2, RedDB 1.23's).

Exit 0 when the restored node verifies clean; 3 when it does not or an object of the repository is damaged (the drill is recorded as failed either way, with the reason); 6 when the repository holds no backup or not the WAL from its checkpoint. Writes only to the scratch directory and the record.`

  static override examples = [
    '<%= config.bin %> repo drill --repo s3://backups/reddb --node db1',
    '<%= config.bin %> repo drill --repo /mnt/backups/redrepl --node db1 --scratch /srv/drill --segment-bytes 64MiB --json',
  ]

  static override flags = {
    ...repoFlags,
    'checkpoint-lsn': u64Flag({description: 'Drill the base backup with this checkpoint LSN (default: the newest complete one).'}),
    scratch: Flags.string({description: 'Rebuild the node here: a new or empty directory (default: a fresh one under the system temp dir).', helpValue: 'DIR'}),
    'segment-bytes': segmentBytesFlag,
    'rdb-version': Flags.string({description: 'The embedded database format to restore: 1 (RedDB 1.12) or 2 (RedDB 1.23).', options: ['1', '2'], default: '2'}),
  }

  async run(): Promise<RepoDrillReport> {
    const {flags} = await this.parse(RepoDrill)
    const {node} = resolveNode(flags.node)
    const choice: RepoBackupChoice = flags['checkpoint-lsn'] !== undefined ? {checkpointLsn: flags['checkpoint-lsn']} : {latest: true}
    return withRepository(flags, (backend) =>
      drillRepository(backend, {node, choice, scratch: flags.scratch, segmentBytes: flags['segment-bytes'], rdbVersion: flags['rdb-version'] === '1' ? 1 : 2, nowMs}),
    )
  }

  protected override human(report: RepoDrillReport): void {
    if (report.findings.length > 0) this.say(renderTable(['severity', 'code', 'problem'], report.findings.map((f) => [f.severity, f.code, f.message])))
    const what = `checkpoint ${report.checkpoint_lsn} (${report.manifest_key}), ${report.wal_segments_fetched} WAL segment(s), ${report.duration_ms} ms`
    this.say(report.ok ? `drill passed: ${what}; recorded in ${report.record_key}` : `drill FAILED: ${report.problem}; recorded in ${report.record_key}`)
  }

  protected override exitCodeOf(report: RepoDrillReport): number {
    return report.ok ? 0 : EXIT_CODES.corrupt
  }
}
