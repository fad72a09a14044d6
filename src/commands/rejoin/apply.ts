import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {planRejoinApply, stageRejoinReclone, type RejoinApplyReport} from '../../core/ops/timeline/rejoin-apply.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {confirmOnTerminal, yesFlag} from '../../ui/confirm.js'
import {dataPathFlag, dryRunFlag, jsonFlag, progressFlag, requireDataPath, u64Flag, waitFlag} from '../../ui/flags.js'
import {warnOverridden} from '../../ui/findings.js'
import {renderNextSteps} from '../../ui/next-steps.js'
import {formatBytes} from '../../ui/numbers.js'
import {paint} from '../../ui/style.js'

export default class RejoinApply extends RedreplCommand<RejoinApplyReport> {
  static override summary = 'Carry out the rejoin decision on disk: stage a reclone of the old node as a rebootstrap.'
  static override description = `Makes the decision "rejoin plan" makes, for the old node at --node-data-path (its timeline and flushed LSN read from its files) against the new primary at --data-path, and carries out what redrepl can carry out on disk:

reclone: stages a rebootstrap of the old node from the newest usable base backup of the current timeline (its checkpoint still covered by the WAL kept), exactly as "basebackup materialize --data-path NODE --manifest M --rebootstrap" does, with its checks: refused while a RedDB process holds the node's data file unless --force (exit 4), a backup off the current timeline's path is refused (exit 4), the node's layout lock is taken (exit 5 when another run holds it). The ready marker names the pending database by its absolute path (a relative --node-data-path is completed with the working directory), as the node derives it from its configured data path. The node swaps the database in at its next start. Without a usable backup it exits 6 and names the command that takes one.

already_current: nothing to do; exits 0 without writing (--json: action "none").

follow_new_timeline and rewind: not steps redrepl carries out on disk (RedDB follows the new timeline itself when the node starts as a replica), so nothing is written and the command exits 4 (code rejoin.not-on-disk); "rejoin plan" lists the next steps and what must be true first.

--dry-run shows what would be staged. On a terminal it asks before writing, unless --yes; without a terminal it never asks.`

  static override examples = [
    '<%= config.bin %> rejoin apply --data-path /new/primary/data.rdb --node-data-path /old/primary/data.rdb --dry-run',
    '<%= config.bin %> rejoin apply --data-path /new/primary/data.rdb --node-data-path /old/primary/data.rdb --yes --json',
  ]

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    wait: waitFlag,
    progress: progressFlag,
    'node-data-path': Flags.string({description: 'The old node\'s data path: its position is read from it, and the rebootstrap is staged beside it.', helpValue: 'D', required: true}),
    'available-from-lsn': u64Flag({description: 'The oldest LSN this primary still has in WAL (default: from its WAL on disk).'}),
    'rdb-version': Flags.string({description: 'Write this embedded database format: 1 (RedDB 1.12) or 2 (RedDB 1.23). Default: the format of the node\'s data file.', options: ['1', '2']}),
    'dry-run': dryRunFlag,
    force: Flags.boolean({description: 'Act although a RedDB process holds the node\'s data file.'}),
    yes: yesFlag,
  }

  async run(): Promise<RejoinApplyReport> {
    const {flags} = await this.parse(RejoinApply)
    const primaryDataPath = requireDataPath(flags['data-path'])
    const nodeDataPath = flags['node-data-path']
    const plan = await planRejoinApply(await openLayout(primaryDataPath), primaryDataPath, nodeDataPath, flags['available-from-lsn'])
    const backup = plan.reclone_basebackup
    let report = plan
    if (!flags['dry-run'] && plan.action === 'stage-rebootstrap' && backup !== null) {
      await confirmOnTerminal(
        `Stage a rebootstrap of ${nodeDataPath}?`,
        [`reclone: the node swaps in base backup ${backup.manifest_path} (checkpoint LSN ${backup.checkpoint_lsn}, timeline ${backup.timeline}) at its next start`, `writes ${plan.pending_path} and ${plan.marker_path}`],
        flags.yes,
      )
      const signal = this.stopOnInterrupt('clean-up')
      const progress = await this.showProgress('rejoin apply', signal)
      const rdbVersion = flags['rdb-version'] === undefined ? undefined : flags['rdb-version'] === '2' ? 2 : 1
      report = await stageRejoinReclone(plan, {nowMs: nowMs(), force: flags.force, waitMs: flags.wait * 1000, rdbVersion, signal, onProgress: (done, total) => progress.update(done, total)}).finally(() => progress.stop())
    } else if (!flags['dry-run']) report = {...plan, dry_run: false}
    warnOverridden(report.rebootstrap?.findings ?? [])
    return report
  }

  protected override human(report: RejoinApplyReport): void {
    this.say(`${paint.bold(report.decision)}: node timeline ${report.rejoin_node_timeline}, flushed LSN ${report.rejoin_node_flushed_lsn}; primary timeline ${report.timeline}`)
    if (report.action === 'none') this.say('nothing to write: the node is on the current timeline')
    else if (report.rebootstrap === null) this.say(`dry run: would stage ${report.reclone_basebackup!.manifest_path} (checkpoint LSN ${report.reclone_basebackup!.checkpoint_lsn}) into ${report.pending_path}, then ${report.marker_path}`)
    else {
      const staged = report.rebootstrap
      this.say(`staged checkpoint ${staged.checkpoint_lsn} (timeline ${staged.timeline}, ${formatBytes(staged.snapshot_bytes)}) into ${staged.destination_path}, database format ${staged.rdb_version}`)
      this.say(`ready marker: ${staged.marker_path} — the node swaps the database in at its next start`)
    }
    for (const line of renderNextSteps(report.next_steps)) this.say(line)
  }
}
