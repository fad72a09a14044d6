import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {usageError} from '../../core/errors.js'
import {withWriteGuard} from '../../core/ops/node/guard.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {promote, type PromoteReport, type PromoteTarget} from '../../core/ops/timeline/promote.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {confirmOnTerminal, isInteractive, yesFlag} from '../../ui/confirm.js'
import {dataPathFlag, dryRunFlag, jsonFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {loadStyle, paint} from '../../ui/style.js'
import {renderTable} from '../../ui/table.js'
import {candidateLines} from '../../ui/candidates.js'
import {warnOverridden} from '../../ui/findings.js'
import {formatTimestamp} from '../../ui/time.js'

export default class TimelinePromote extends RedreplCommand<PromoteReport> {
  static override summary = 'Record a failover: append a promotion to the timeline history.'
  static override description = `Appends {timeline: current + 1, parent: current, fork_lsn: the promoted replica's applied LSN, created_at: now, reason: "promote <replica>"} to timeline-history.redtimeline, exactly as a promoted RedDB replica records it. A missing history file first becomes its initial entry.

Name the replica with --replica, or let --auto choose it the way RedDB does: among the acks on the current timeline (the replicas' relay manifests, the slot catalog and the legacy JSON slot store), the highest (applied, flushed, received) wins, ties going to the smaller replica id. A replica whose slot is invalidated is not eligible. The fork LSN defaults to the replica's acknowledged applied LSN (the JSON says where it came from in applied_lsn_source); --applied-lsn overrides it.

Checked against the files first, refused (exit 4) unless --force: a replica the layout does not know (no slot, relay log or legacy slot entry on the current timeline), a replica whose slot is invalidated, and an --applied-lsn past what the replica acknowledged applying or past the end of the current timeline's WAL. Also refused (exit 4) unless --max-lag-lsn allows it or --force is given: a promotion that throws away acknowledged writes, because another eligible replica acknowledged applying past the fork LSN (the best known position, in best_known_lsn); the message names that replica and the LSNs lost (lost_lsn in the JSON). --auto never chooses a replica behind another eligible one. Never done, even with --force: repeating the last fork (the same replica at the same LSN).

After a failover RedDB 1.12 writes its slot catalog and relay manifests stamped with timeline 1 under the new timeline's directory, so RedDB's own selection finds no candidate there and --auto refuses (exit 4) saying so; --adopt-catalog-timeline chooses among those acks as the current timeline's (their LSNs carry over).

--expect-timeline T refuses (exit 4) unless the current timeline is T, so a runbook that is re-run does not fork twice. Without it, on a terminal, the plan and the candidate table are shown and the promotion is asked for (--yes skips the question; scripts are never asked). --dry-run shows the candidates (one row per replica, with the source of its positions, and which one --auto picks and why) and the new history without writing. The node must not be running (exit 4 while a RedDB process holds any data file of the layout) unless --force is given.`

  static override examples = [
    '<%= config.bin %> timeline promote --data-path /var/lib/reddb/data.rdb --replica replica-a --expect-timeline 1',
    '<%= config.bin %> timeline promote --data-path /var/lib/reddb/data.rdb --replica replica-a --applied-lsn 25 --expect-timeline 1',
    '<%= config.bin %> timeline promote --auto --dry-run',
    '<%= config.bin %> timeline promote --replica replica-b --max-lag-lsn 1000 --expect-timeline 1',
    '<%= config.bin %> timeline promote --auto --adopt-catalog-timeline --expect-timeline 2 --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    replica: Flags.string({description: 'The replica being promoted.', exclusive: ['auto'], helpValue: 'ID'}),
    'applied-lsn': u64Flag({description: 'Where the new timeline forks (default: the replica\'s acknowledged applied LSN).', dependsOn: ['replica']}),
    auto: Flags.boolean({description: 'Choose the replica as RedDB does, from the acks on disk.'}),
    'adopt-catalog-timeline': Flags.boolean({description: 'Count acks stamped with another timeline under the current timeline\'s directory as its own (after a failover RedDB 1.12 stamps them with timeline 1).'}),
    'expect-timeline': u64Flag({description: 'Refuse unless the current timeline is this one.'}),
    'max-lag-lsn': u64Flag({description: 'Allow the promotion to throw away up to N LSNs another replica acknowledged applying (default 0).', helpValue: 'N'}),
    'dry-run': dryRunFlag,
    force: Flags.boolean({description: 'Promote although the files contradict it (unknown replica, invalidated slot, LSN past its acks or the WAL, another replica ahead) or a RedDB process holds the data file.'}),
    yes: yesFlag,
  }

  async run(): Promise<PromoteReport> {
    const {flags} = await this.parse(TimelinePromote)
    if (!flags.auto && flags.replica === undefined) throw usageError('name the replica with --replica ID, or pass --auto')
    const dataPath = requireDataPath(flags['data-path'])
    const target: PromoteTarget = flags.auto ? {kind: 'auto'} : {kind: 'replica', replicaId: flags.replica!, appliedLsn: flags['applied-lsn']}
    const options = {
      target,
      dataPath,
      expectTimeline: flags['expect-timeline'],
      adoptCatalogTimeline: flags['adopt-catalog-timeline'],
      force: flags.force,
      maxLagLsn: flags['max-lag-lsn'],
      dryRun: flags['dry-run'],
      nowMs: nowMs(),
      // Like patronictl failover: a person at a terminal who did not pin the timeline sees the plan first.
      confirm:
        flags['expect-timeline'] === undefined
          ? async (plan: PromoteReport) => {
              if (flags.yes || !isInteractive()) return
              await loadStyle()
              await confirmOnTerminal(`Promote ${plan.replica_id} to timeline ${plan.new_timeline} at LSN ${plan.fork_lsn}?`, planLines(plan), flags.yes)
            }
          : undefined,
    }
    const report = flags['dry-run']
      ? await promote(await openLayout(dataPath), options)
      : await withWriteGuard({dataPath, command: 'timeline promote', force: flags.force, waitMs: flags.wait * 1000}, (layout) => promote(layout, options))
    warnOverridden(report.findings)
    return report
  }

  protected override human(report: PromoteReport): void {
    if (report.dry_run) for (const line of candidateLines(report, report.previous_timeline)) this.say(line)
    this.say(headline(report))
    this.say(
      renderTable(
        ['timeline', 'parent', 'fork lsn', 'created', 'reason'],
        report.history.entries.map((entry) => [entry.timeline, entry.parent_timeline, entry.parent_timeline === null ? null : entry.fork_lsn, formatTimestamp(entry.created_at_unix_ms), entry.reason]),
      ),
    )
    if (report.dry_run) this.say('dry run: nothing written')
  }
}

function headline(report: PromoteReport): string {
  const verb = report.dry_run ? 'would promote' : 'promoted'
  const from = report.applied_lsn_source === 'flag' ? '--applied-lsn' : `its ${report.applied_lsn_source}`
  const lost = report.lost_lsn > 0n ? `; ${report.lost_lsn} LSNs acknowledged by ${report.best_known_replica_id} are left out` : ''
  return `${verb} ${paint.bold(report.replica_id)}: timeline ${report.previous_timeline} → ${paint.bold(String(report.new_timeline))} at LSN ${report.fork_lsn} (from ${from})${lost}`
}

function planLines(report: PromoteReport): string[] {
  return [...candidateLines(report, report.previous_timeline), `${headline({...report, dry_run: true})}; history: ${report.history_path}`]
}
