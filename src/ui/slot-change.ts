import {Args} from './oclif.js'

import {nowMs} from '../core/clock.js'
import {withWriteGuard} from '../core/ops/node/guard.js'
import {openLayout} from '../core/ops/node/open-layout.js'
import {changeSlot, type SlotChange, type SlotChangeReport} from '../core/ops/slots/change.js'
import {RedreplCommand} from './base-command.js'
import {confirmOnTerminal, isInteractive, yesFlag} from './confirm.js'
import {requireDataPath, waitFlag} from './flags.js'
import {dryRunFlag} from './planned-command.js'
import {formatBytes} from './numbers.js'
import {formatDuration} from '../core/units.js'
import {walPlanFlags, walPlanOptions} from './wal-flags.js'

/** What `slots drop` and `slots invalidate` share: the replica argument, flags and the report's lines. */

export const slotChangeArgs = {
  replica: Args.string({description: 'The replica whose slot to change.', required: true}),
}

/** The retention flags are `wal prune`'s, so the effect shown is what the same prune would do. */
export const slotChangeFlags = {
  ...walPlanFlags,
  'dry-run': dryRunFlag,
  wait: waitFlag,
  yes: yesFlag,
}

export function describeRetention(report: SlotChangeReport): string {
  if (report.retention === null) return `WAL retention: ${report.findings.map((f) => f.message).join('; ')}`
  const {released_segments, released_bytes} = report.retention
  return released_segments === 0
    ? 'WAL retention: releases no segment now (another slot or the window still holds the WAL)'
    : `WAL retention: ${report.dry_run ? 'would release' : 'releases'} ${released_segments} segment(s), ${formatBytes(released_bytes)} (the next wal prune removes them)`
}

const PAST: Record<SlotChangeReport['action'], string> = {drop: 'dropped', invalidate: 'invalidated'}

/** The plan shown before asking (`planned`), and the summary printed after. */
export function slotChangeLines(report: SlotChangeReport, planned = false): string[] {
  const slot = report.slot_before
  if (slot === null) return [`slot ${report.replica_id} is already gone on timeline ${report.timeline}; nothing to change`]
  const reason = report.action === 'invalidate' ? ` (reason ${report.slot_after?.invalidation_reason})` : ''
  const head = !report.changed
    ? `slot ${report.replica_id} is already invalidated${reason}; nothing to change`
    : report.dry_run || planned
      ? `${report.dry_run ? 'would' : 'will'} ${report.action} slot ${report.replica_id}${reason}`
      : `${PAST[report.action]} slot ${report.replica_id}${reason}`
  return [
    `${head} in the ${report.store === 'catalog' ? 'slot catalog' : 'legacy slot store'} ${report.store_path}`,
    `  timeline ${report.timeline}, ${slot.active ? 'active' : `inactive${slot.invalidation_reason ? ` (${slot.invalidation_reason})` : ''}`}, restart ${slot.restart_lsn}, write ${slot.confirmed_write_lsn}, flush ${slot.confirmed_flush_lsn}, apply ${slot.confirmed_apply_lsn}`,
    `  ${describeRetention(report)}`,
  ]
}

/** Seen this recently, a slot's replica may still be running. */
const RECENT_MS = 5n * 60_000n

/** A warning when the slot's replica was seen within RECENT_MS, else null. */
function recentlySeen(report: SlotChangeReport, nowMs: bigint): string | null {
  const seenAt = report.slot_before?.last_seen_at_unix_ms ?? 0n
  if (seenAt === 0n || nowMs - seenAt >= RECENT_MS) return null
  const ago = nowMs > seenAt ? nowMs - seenAt : 0n
  return `replica ${report.replica_id} was seen ${formatDuration(ago)} ago: it may still be running and would lose its slot under it`
}

type SlotChangeFlags = Parameters<typeof walPlanOptions>[0] & {'data-path'?: string; json: boolean; 'dry-run': boolean; wait: number; yes: boolean}

/**
 * `slots drop` and `slots invalidate`: parse, decide, confirm on a terminal, write under the guard, report.
 * `R` is the report of the one change the command's changeFrom() asks for.
 */
export abstract class SlotChangeCommand<R extends SlotChangeReport> extends RedreplCommand<R> {
  protected abstract readonly verb: string
  protected abstract changeFrom(flags: Record<string, unknown>): SlotChange & {kind: R['action']}

  async run(): Promise<R> {
    const {args, flags} = (await this.parse(this.constructor as typeof SlotChangeCommand)) as unknown as {args: {replica: string}; flags: SlotChangeFlags}
    const dataPath = requireDataPath(flags['data-path'])
    const now = nowMs()
    const options = {
      dataPath,
      replicaId: args.replica,
      change: this.changeFrom(flags),
      dryRun: flags['dry-run'],
      nowMs: now,
      wal: walPlanOptions(flags),
      confirm: async (plan: SlotChangeReport) => {
        const seen = recentlySeen(plan, now)
        // A replica seen minutes ago may still be connected, so --yes does not answer for it on a terminal; a script is told on stderr.
        if (seen !== null && !isInteractive()) process.stderr.write(`redrepl: warning: ${seen}\n`)
        await confirmOnTerminal(`${this.verb[0].toUpperCase()}${this.verb.slice(1)} this slot?`, [...slotChangeLines(plan, true), ...(seen === null ? [] : [`  ${seen}`])], flags.yes && seen === null)
      },
    }
    const report = flags['dry-run']
      ? await changeSlot(await openLayout(dataPath), options)
      : await withWriteGuard({dataPath, command: `slots ${this.verb}`, waitMs: flags.wait * 1000}, (layout) => changeSlot(layout, options))
    // changeSlot reports the action it was given, which changeFrom() typed as R's.
    return report as R
  }

  protected override human(report: R): void {
    for (const line of slotChangeLines(report)) this.say(line)
  }
}
