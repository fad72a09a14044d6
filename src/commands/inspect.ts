import {Args, Flags} from '../ui/oclif.js'

import {nowMs} from '../core/clock.js'
import {ARTIFACT_KINDS, inspectFile, RULES_SOURCE_TEXT, rulesLabel, type InspectModel, type Inspection} from '../core/ops/layout/inspect.js'
import {RedreplCommand} from '../ui/base-command.js'
import {renderDocument} from '../ui/document.js'
import {jsonFlag} from '../ui/flags.js'

export default class Inspect extends RedreplCommand<InspectModel> {
  static override summary = 'Decode any RedDB replication artifact and show it.'
  static override description = `Detects the kind from the file's magic (and from the name for .rebootstrap.ready and .logical.slots.json files), checks every rule of the format, and prints a summary. With --json it prints exactly the canonical JSON model of the artifact: u64 values as exact integers, byte strings as lowercase hex.

Embedded databases (.rdb) come in two formats, and inspect knows both: format 1, written by RedDB 1.12 and read by RedDB 1.12 and 1.23; format 2, written and read by RedDB 1.23 only. A file is opened by the rules of the RedDB it shows: a superblock stored in layout 2 means RedDB 1.23 wrote it; otherwise RedDB 1.12's rules apply (which fall back to a superblock's own fields when its manifest is bad). --reddb 1.12|1.23 opens it by one release's rules instead; only 1.23's JSON model has wal_live_bytes. Without --json the output names the format, the releases that open it, the rules used and notes: a format-1 database gets rdb.version-1-under-1-23 (RedDB 1.23.2 wrecks it if it checkpoints it in place), and one only 1.12's fallback opens gets rdb.refused-by-1-23.

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
    reddb: Flags.string({description: "Open an embedded database by this RedDB release's rules instead of the ones the file shows.", options: ['1.12', '1.23']}),
  }

  /** The file, its kind and a database's facts, which the human output names beside the model. */
  private inspection?: Inspection

  async run(): Promise<InspectModel> {
    const {args, flags} = await this.parse(Inspect)
    const reddb = flags.reddb === undefined ? undefined : flags.reddb === '1.23' ? 'reddb-1.23' : 'reddb-1.12'
    this.inspection = await inspectFile(args.file, {kind: flags.kind, nowMs: nowMs(), summaryOnly: !flags.json, reddb})
    return this.inspection.json
  }

  protected override human(model: InspectModel): void {
    const inspection = this.inspection!
    this.say(renderDocument(model as Record<string, unknown>, `${inspection.path}: ${inspection.kind}`, this.output === 'wide'))
    const database = inspection.database
    if (database === undefined) return
    this.say(`format ${database.rdb_format}, opened by ${database.read_by.join(' and ')}; read by ${rulesLabel(database.rules)}'s rules (${RULES_SOURCE_TEXT[database.rules_source]})`)
    for (const finding of database.findings) this.say(`${finding.severity}: ${finding.message} [${finding.code}]`)
  }
}
