import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {withWriteGuard} from '../../core/ops/guard.js'
import {openLayout} from '../../core/ops/open-layout.js'
import {promote} from '../../core/ops/promote.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, dryRunFlag, forceFlag, jsonFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {paint} from '../../ui/style.js'
import {renderTable} from '../../ui/table.js'
import {formatTimestamp} from '../../ui/time.js'

export default class TimelinePromote extends RedreplCommand {
  static override summary = 'Record a failover: append a promotion to the timeline history.'
  static override description = `Appends {timeline: current + 1, parent: current, fork_lsn: the promoted replica's applied LSN, created_at: now, reason: "promote <replica>"} to timeline-history.redtimeline, exactly as a promoted RedDB replica records it. A missing history file first becomes its initial entry.

Name the replica with --replica and --applied-lsn, or let --auto choose it the way RedDB does: among the acks on the current timeline (the replicas' relay manifests and the slot catalog), the highest (applied, flushed, received) wins, ties going to the smaller replica id.

--expect-timeline T refuses (exit 4) unless the current timeline is T, so a runbook that is re-run does not fork twice. --dry-run shows the new history without writing. The node must not be running (exit 4 while a RedDB process holds the data file) unless --force is given.`

  static override examples = [
    '<%= config.bin %> timeline promote --data-path /var/lib/reddb/data.rdb --replica replica-a --applied-lsn 25 --expect-timeline 1',
    '<%= config.bin %> timeline promote --auto --dry-run --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    replica: Flags.string({description: 'The replica being promoted.', exclusive: ['auto'], helpValue: 'ID'}),
    'applied-lsn': u64Flag({description: 'The promoted replica\'s applied LSN: where the new timeline forks.', dependsOn: ['replica']}),
    auto: Flags.boolean({description: 'Choose the replica as RedDB does, from the acks on disk.'}),
    'expect-timeline': u64Flag({description: 'Refuse unless the current timeline is this one.'}),
    'dry-run': dryRunFlag,
    force: forceFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(TimelinePromote)
    this.json = flags.json
    if (!flags.auto && (flags.replica === undefined || flags['applied-lsn'] === undefined)) {
      throw usageError('name the replica with --replica ID --applied-lsn N, or pass --auto')
    }
    const dataPath = requireDataPath(flags['data-path'])
    const options = {replicaId: flags.replica, appliedLsn: flags['applied-lsn'], expectTimeline: flags['expect-timeline'], dryRun: flags['dry-run'], nowMs: nowMs()}
    const report = flags['dry-run']
      ? await promote(await openLayout(dataPath), options)
      : await withWriteGuard({dataPath, command: 'timeline promote', force: flags.force, waitMs: flags.wait * 1000}, (layout) => promote(layout, options))
    await this.emit(report, () => {
      const verb = report.dry_run ? 'would promote' : 'promoted'
      this.say(`${verb} ${paint.bold(report.replica_id)}: timeline ${report.previous_timeline} → ${paint.bold(String(report.new_timeline))} at LSN ${report.fork_lsn}${report.candidate_source === 'flags' ? '' : ` (chosen from its ${report.candidate_source})`}`)
      this.say(
        renderTable(
          ['timeline', 'parent', 'fork lsn', 'created', 'reason'],
          report.history.entries.map((entry) => [entry.timeline, entry.parent_timeline, entry.parent_timeline === null ? null : entry.fork_lsn, formatTimestamp(entry.created_at_unix_ms), entry.reason]),
        ),
      )
      if (report.dry_run) this.say('dry run: nothing written')
    })
  }
}
