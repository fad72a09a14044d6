import {Args} from '../ui/oclif.js'
import {execa} from 'execa'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {nowMs} from '../core/clock.js'
import {makeReplicaDir, prepareSampleDir, writeSampleLayout} from '../core/ops/sample-layout.js'
import {RedreplCommand} from '../ui/base-command.js'
import {jsonFlag} from '../ui/flags.js'
import {tableWidth} from '../ui/output.js'
import {shellCommand} from '../ui/shell-quote.js'
import {loadStyle, paint} from '../ui/style.js'

const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))
/** Wide enough that no step hides a column under --output wide. */
const WIDE_COLUMNS = 10_000

export default class Demo extends RedreplCommand {
  static override summary = 'Build a sample node layout and run a narrated failover runbook on it.'
  static override description = `Writes a realistic primary (an embedded database with a snapshot, WAL across six segments, three replicas' slots, relay logs) into DIR or a new temporary directory, then runs a failover runbook with the real commands, printing each command line and its output: slots show → wal plan --out (the plan saved) → wal prune --plan (exactly that plan applied) → basebackup create → timeline candidates → timeline promote → rejoin plan for the old primary, with its next steps → basebackup materialize --rebootstrap for a rebuilt replica (refusing the pre-failover backup, whose checkpoint lies past the fork, then using a fresh backup taken on the new timeline) → layout verify. The files stay behind for you to explore.`

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo /tmp/redrepl-demo']

  static override args = {dir: Args.string({description: 'Where to build the sample (default: a new temporary directory).'})}

  static override flags = {json: jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Demo)
    this.json = flags.json
    await loadStyle()
    const steps: Array<{story: string; command: string; exit_code: number; output: string}> = []
    // The narration is for a person; --json and --output tsv print only the document.
    const narrate = (line: string) => {
      if (!this.json && (this.output === 'human' || this.output === 'wide')) this.say(line)
    }
    const columns = this.output === 'wide' ? WIDE_COLUMNS : tableWidth(process.env, process.stdout)
    const dir = await prepareSampleDir(args.dir)
    const sample = await writeSampleLayout(dir, nowMs())
    const data = sample.dataPath
    const rebuilt = path.join(dir, 'replica-c', 'data.rdb')
    await makeReplicaDir(path.dirname(rebuilt))
    const backupOf = (timeline: number, checkpoint: bigint) =>
      path.join(path.dirname(data), 'data.primary-replica', `timeline-${String(timeline).padStart(20, '0')}`, 'basebackup', `base-${'0'.repeat(20)}-${String(checkpoint).padStart(20, '0')}.redbase`)

    narrate(paint.bold(`A RedDB primary at ${data}: timeline 1, WAL head ${sample.walHead}, three replicas.`))
    const step = async (story: string, argv: string[], expectFailure = false) => {
      const command = shellCommand(['redrepl', ...argv])
      narrate(`\n${paint.cyan(`# ${story}`)}`)
      narrate(paint.bold(`$ ${command}`))
      // The steps print into a pipe: their tables fit the width this run fits.
      const result = await execa(process.execPath, [BIN, ...argv], {env: {REDDB_DATA_PATH: data, COLUMNS: String(columns)}, reject: false, all: true})
      const output = String(result.all ?? '').trimEnd()
      narrate(output)
      steps.push({story, command, exit_code: result.exitCode ?? -1, output})
      if ((result.exitCode !== 0) !== expectFailure) this.error(`the runbook step failed (exit ${result.exitCode})`, {exit: 1})
    }

    await step('Who is replicating, and which slot holds back WAL removal?', ['slots', 'show'])
    const prunePlan = path.join(dir, 'prune.plan')
    await step('What would retention remove with a 2-segment window? Save the plan to review it.', ['wal', 'plan', '--segment-bytes', '1MiB', '--min-segments', '2', '--out', prunePlan])
    await step('Apply exactly the plan reviewed: it removes nothing if the layout changed since.', ['wal', 'prune', '--plan', prunePlan])
    await step('Take a base backup of the primary\'s database before touching anything.', ['basebackup', 'create', '--from', data, '--chunk-size', '64KiB'])
    await step('The primary is lost. Which replicas could take over, and which would RedDB choose?', ['timeline', 'candidates'])
    await step('Promote the replica RedDB would choose, once.', ['timeline', 'promote', '--auto', '--expect-timeline', '1'])
    await step('A re-run of the runbook must not fork twice: it is refused.', ['timeline', 'promote', '--auto', '--expect-timeline', '1'], true)
    await step('How does the old primary (timeline 1, flushed up to its WAL head) rejoin, and what comes next?', ['rejoin', 'plan', '--node-timeline', '1', '--node-flushed-lsn', String(sample.walHead)])
    const rebuild = (manifest: string) => ['basebackup', 'materialize', '--manifest', manifest, '--data-path', rebuilt, '--rebootstrap', '--rdb-version', '1']
    await step(
      'replica-c lost its slot (WAL removed) and must be rebuilt. The backup taken before the failover holds writes past the fork, which timeline 2 never saw: it is refused.',
      rebuild(backupOf(1, sample.walHead)),
      true,
    )
    await step('Take a fresh base backup on the new timeline (its checkpoint: the fork LSN, as timeline 2 has no WAL yet).', ['basebackup', 'create', '--from', data, '--chunk-size', '64KiB'])
    await step('Stage replica-c\'s rebuild from it, in the format its RedDB (1.12 here) writes; the node swaps it in at its next start.', rebuild(backupOf(2, sample.autoForkLsn)))
    await step('Finally, check every file of the layout.', ['layout', 'verify'])
    await this.emit({dir_path: dir, data_path: data, steps}, () => this.say(`\n${paint.green('Runbook complete.')} The files are in ${dir}`))
  }
}
