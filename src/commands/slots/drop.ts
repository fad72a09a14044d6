import type {SlotDropReport} from '../../core/ops/slots/change.js'
import {SlotChangeCommand, slotChangeArgs, slotChangeFlags} from '../../ui/slot-change.js'

export default class SlotsDrop extends SlotChangeCommand<SlotDropReport> {
  static override summary = 'Drop the replication slot of a replica that is gone.'
  static override description = `Removes REPLICA's slot from the slot catalog of the current timeline (or from the legacy JSON store beside the data file, where the slot lives there), written exactly as RedDB writes the catalog. An active slot holds WAL back until its replica acknowledges it; a replica that is gone pins WAL forever — the most common cause of WAL piling up. Prefer "slots invalidate" to keep a record of what the replica had acknowledged.

The node must be stopped: a running RedDB rewrites its catalog from memory, so the change would be lost (exit 4 while a RedDB process holds the data file; there is no --force). --dry-run shows the slot and what WAL retention would release; on a terminal the same is shown and confirmed first (--yes skips the question; scripts are never asked). A slot whose replica was seen in the last 5 minutes may belong to a replica still running: on a terminal the question is asked even with --yes, and a script gets a warning on stderr.

Exit 0 when dropped, and when the replica has no slot on the current timeline any more ("already gone", --json: changed false, slot_before null), so a script can run it again; 4 when refused, 5 when another redrepl run holds the layout.`

  static override examples = [
    '<%= config.bin %> slots drop replica-c --data-path /var/lib/reddb/data.rdb --dry-run',
    '<%= config.bin %> slots drop replica-c --yes --json',
  ]

  static override args = slotChangeArgs
  static override flags = slotChangeFlags

  protected readonly verb = 'drop'

  protected changeFrom(): {kind: 'drop'} {
    return {kind: 'drop'}
  }
}
