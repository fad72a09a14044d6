import {Args, Flags} from '../ui/oclif.js'

import {nowMs} from '../core/clock.js'
import {ARTIFACT_KINDS} from '../core/format/registry.js'
import {inspectFile} from '../core/ops/inspect.js'
import {RedreplCommand} from '../ui/base-command.js'
import {renderDocument} from '../ui/document.js'
import {jsonFlag} from '../ui/flags.js'

export default class Inspect extends RedreplCommand {
  static override summary = 'Decode any RedDB replication artifact and show it.'
  static override description = `Detects the kind from the file's magic (and from the name for .rebootstrap.ready and .logical.slots.json files), checks every rule of the format, and prints a summary. With --json it prints exactly the canonical JSON model of the artifact: u64 values as exact integers, byte strings as lowercase hex.

A file that breaks a rule is reported as one line naming the file and the problem (exit 3). A database over 256 MiB is opened from disk with its snapshot checked by streaming; its JSON model (snapshot as hex) is too large to print, so --json refuses it (exit 4).`

  static override examples = [
    '<%= config.bin %> inspect /var/lib/reddb/data.primary-replica/timeline-history.redtimeline',
    '<%= config.bin %> inspect --json data.primary-replica/timeline-00000000000000000001/replication-slots.redslots',
    '<%= config.bin %> inspect --kind relay-segment relay-00000000000000000001-00000000000000000020.redwal',
  ]

  static override args = {
    file: Args.string({description: 'The artifact file to decode.', required: true}),
  }

  static override flags = {
    json: jsonFlag,
    kind: Flags.string({description: 'Decode as this kind instead of detecting it.', options: ARTIFACT_KINDS}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Inspect)
    this.json = flags.json
    const inspection = await inspectFile(args.file, {kind: flags.kind, nowMs: nowMs(), summaryOnly: !flags.json})
    await this.emit(inspection.json, () => {
      this.say(renderDocument(inspection.json as Record<string, unknown>, `${inspection.path}: ${inspection.kind}`))
    })
  }
}
