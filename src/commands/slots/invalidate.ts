import {Flags} from '../../ui/oclif.js'

import type {InvalidationReason} from '../../core/model.js'
import {INVALIDATION_REASONS, type SlotChange, type SlotInvalidateReport} from '../../core/ops/slots/change.js'
import {SlotChangeCommand, slotChangeArgs, slotChangeFlags} from '../../ui/slot-change.js'

export default class SlotsInvalidate extends SlotChangeCommand<SlotInvalidateReport> {
  static override summary = 'Invalidate the replication slot of a replica that is gone, keeping its record.'
  static override description = `Marks REPLICA's slot in the slot catalog of the current timeline (or the legacy JSON store, where the slot lives there) as RedDB invalidates one: inactive, with --reason and the time (REDREPL_NOW_MS pins it). Its positions stay, so "slots show" still tells what the replica had acknowledged, but it no longer holds WAL back. The catalog is written exactly as RedDB writes it. RedDB knows three reasons: wal-removed, horizon, idle-timeout.

The node must be stopped: a running RedDB rewrites its catalog from memory (exit 4 while a RedDB process holds the data file). --dry-run shows the slot and what WAL retention would release; on a terminal the same is shown and confirmed first (--yes skips the question; scripts are never asked). Invalidating a slot already invalidated for the same reason changes nothing and exits 0.

Exit 0 when invalidated (or already so), 6 when the replica has no slot on the current timeline, 4 when refused, 5 when another redrepl run holds the layout.`

  static override examples = [
    '<%= config.bin %> slots invalidate replica-c --reason idle-timeout --dry-run',
    '<%= config.bin %> slots invalidate replica-c --reason horizon --yes',
  ]

  static override args = slotChangeArgs
  static override flags = {
    ...slotChangeFlags,
    reason: Flags.string({description: 'Why the slot is invalidated, as RedDB records it.', options: [...INVALIDATION_REASONS], required: true}),
  }

  protected readonly verb = 'invalidate'

  protected changeFrom(flags: Record<string, unknown>): SlotChange & {kind: 'invalidate'} {
    return {kind: 'invalidate', reason: flags.reason as InvalidationReason}
  }
}
