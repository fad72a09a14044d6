import {Args} from '../ui/oclif.js'
import {execa} from 'execa'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {nowMs} from '../core/clock.js'
import {makeReplicaDir, prepareSampleDir, writeSampleCluster, writeSampleInventory} from '../core/ops/node/sample-layout.js'
import {RedreplCommand} from '../ui/base-command.js'
import {jsonFlag} from '../ui/flags.js'
import {tableWidth} from '../ui/output.js'
import {shellCommand} from '../ui/shell-quote.js'
import {loadStyle, paint} from '../ui/style.js'

/** One step of the runbook: what it shows, the command as typed, its exit code and what it printed. */
export interface DemoStep {
  story: string
  command: string
  exit_code: number
  output: string
}

/** `demo`'s document: where the sample was built, the new primary's data path, and every step run. */
export interface DemoReport {
  dir_path: string
  data_path: string
  steps: DemoStep[]
}

const BIN = fileURLToPath(new URL('../../../bin/run.js', import.meta.url))
/** Wide enough that no step hides a column under --output wide. */
const WIDE_COLUMNS = 10_000

export default class Demo extends RedreplCommand<DemoReport> {
  static override summary = 'Build a sample three-node replica set and run a narrated failover runbook on it.'
  static override description = `Writes a realistic replica set of three nodes into DIR or a new temporary directory, each with its own layout as on its own host — primary p (an embedded database, WAL across six segments, a slot per replica), replica ra two LSNs behind it and replica rc a segment and a half behind, each with its own relay log — and a config file (redrepl.conf) naming them as cluster main on this machine. It then runs a failover runbook with the real commands, printing each command line and its output: cluster status (all green) → wal plan --out and wal prune --plan on the primary → basebackup create of the primary and repo push of it into the replica set's namespace of a repository (DIR/repo) → the primary's host dies (the config now reaches p through a transport that fails; nothing runs on p from here on) → cluster status (p unreachable) → cluster candidates (the positions read from the replicas' own relay logs, and what each promotion would cost) → failover plan --candidate rc (refused: it would throw away writes ra acknowledged) → failover plan --out → failover apply --plan --yes (refused while nobody said the old primary is down) → failover apply --plan --yes --old-primary-down (ra promoted, rc's rejoin recorded, p's left for when its host is back) → cluster status after → basebackup create on the new primary ra and repo push of it (the repository now records timeline 2) → repo restore --rebootstrap of the old primary's backup for p's replacement host (refused: its checkpoint lies past the fork) → basebackup materialize --rebootstrap staging p's rebuild from the new primary's backup → layout verify of every node. Every step reads DIR/redrepl.conf (--config) and none of the shell's REDREPL_* or REDDB_* variables. The files stay behind for you to explore.`

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo /tmp/redrepl-demo']

  static override args = {dir: Args.string({description: 'Where to build the sample (default: a new temporary directory).'})}

  static override flags = {json: jsonFlag}

  async run(): Promise<DemoReport> {
    const {args} = await this.parse(Demo)
    await loadStyle()
    const steps: DemoStep[] = []
    // The narration is for a person; --json and --output tsv print only the document.
    const narrate = (line: string) => {
      if (!this.json && (this.output === 'human' || this.output === 'wide')) this.say(line)
    }
    const columns = this.output === 'wide' ? WIDE_COLUMNS : tableWidth(process.env, process.stdout)
    const dir = await prepareSampleDir(args.dir)
    const sample = await writeSampleCluster(dir, nowMs())
    const {p, ra, rc} = sample.nodes
    const config = path.join(dir, 'redrepl.conf')
    const stateDir = path.join(dir, 'state')
    await writeSampleInventory(config, sample, stateDir, false)
    const rebuilt = path.join(dir, 'p-new', 'data.rdb')
    await makeReplicaDir(path.dirname(rebuilt))
    const backupOf = (data: string, timeline: number, checkpoint: bigint) =>
      path.join(path.dirname(data), 'data.primary-replica', `timeline-${String(timeline).padStart(20, '0')}`, 'basebackup', `base-${'0'.repeat(20)}-${String(checkpoint).padStart(20, '0')}.redbase`)

    narrate(paint.bold(`A RedDB replica set on timeline 1, three nodes with their own layouts, named in ${config}:`))
    narrate(`  p   primary at ${p}, WAL head ${sample.walHead}`)
    narrate(`  ra  replica at ${ra}, applied up to ${sample.applied.ra}`)
    narrate(`  rc  replica at ${rc}, applied up to ${sample.applied.rc}`)
    // Every step reads the demo's own config file and none of this shell's redrepl or RedDB settings, so what it does is what it prints;
    // only the clock stays, the one the sample was written with.
    const env: Record<string, string> = {COLUMNS: String(columns)}
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && key !== 'COLUMNS' && (key === 'REDREPL_NOW_MS' || !/^(REDREPL|REDDB)_/.test(key))) env[key] = value
    }
    const step = async (story: string, stepArgv: string[], expectedExit = 0) => {
      const argv = [...stepArgv, '--config', config]
      const command = shellCommand(['redrepl', ...argv])
      narrate(`\n${paint.cyan(`# ${story}`)}`)
      narrate(paint.bold(`$ ${command}`))
      // The steps print into a pipe: their tables fit the width this run fits.
      const result = await execa(process.execPath, [BIN, ...argv], {env, extendEnv: false, reject: false, all: true})
      const output = String(result.all ?? '').trimEnd()
      narrate(output)
      steps.push({story, command, exit_code: result.exitCode ?? -1, output})
      if (result.exitCode !== expectedExit) this.error(`the runbook step failed (exit ${result.exitCode}, expected ${expectedExit})`, {exit: 1})
    }

    await step('Every node, read through its own layout: all green.', ['cluster', 'status'])
    const prunePlan = path.join(dir, 'prune.plan')
    await step('On the primary: what would retention remove with a 2-segment window? Save the plan to review it.', ['wal', 'plan', '--data-path', p, '--segment-bytes', '1MiB', '--min-segments', '2', '--out', prunePlan])
    await step('Apply exactly the plan reviewed: it removes nothing if the layout changed since.', ['wal', 'prune', '--data-path', p, '--plan', prunePlan])
    await step('Take a base backup of the primary\'s database.', ['basebackup', 'create', '--data-path', p, '--from', p, '--chunk-size', '64KiB'])
    const repo = ['--repo', path.join(dir, 'repo'), '--cluster', 'main']
    await step('Push it, the history and the sealed WAL off the host, into the replica set\'s namespace of a repository.', ['repo', 'push', '--data-path', p, ...repo])

    narrate(`\n${paint.bold('The primary\'s host dies.')} From here on nothing runs on p: the config reaches it through a transport that fails, as a dead host's would.`)
    await writeSampleInventory(config, sample, stateDir, true)
    await step('The replica set without its primary: p is unreachable (exit 1, WARNING).', ['cluster', 'status'], 1)
    await step('Which replica could take over? Positions from the replicas\' own relay logs, and what each promotion would cost.', ['cluster', 'candidates'])
    const failoverPlan = path.join(dir, 'failover.plan')
    await step('Promoting the lagging rc would throw away writes ra acknowledged: refused (exit 4).', ['failover', 'plan', '--candidate', 'rc', '--out', path.join(dir, 'rc.plan')], 4)
    await step('Plan the failover to the replica RedDB would choose, and save it to review it.', ['failover', 'plan', '--out', failoverPlan])
    await step('Apply it: refused (exit 4) while nobody has said the unreachable old primary is down.', ['failover', 'apply', '--plan', failoverPlan, '--yes'], 4)
    await step('Say so: ra is promoted, rc\'s rejoin is recorded, p\'s waits for its host.', ['failover', 'apply', '--plan', failoverPlan, '--yes', '--old-primary-down'])
    await step('The replica set after the failover: ra on timeline 2, rc to follow it, p still unreachable.', ['cluster', 'status'], 1)
    await step('p\'s host is replaced, so p is rebuilt as a replica of ra. Take the base backup from the new primary: checkpoint at its fork LSN, as timeline 2 has no WAL yet.', ['basebackup', 'create', '--data-path', ra, '--from', ra, '--chunk-size', '64KiB'])
    await step('The new primary carries on in the same namespace: the repository now records timeline 2 and where it forked.', ['repo', 'push', '--data-path', ra, ...repo])
    await step(
      `Rebuilding p from the old primary's backup (checkpoint ${sample.walHead}) is refused: it holds writes past the fork at ${sample.applied.ra} that timeline 2 never saw.`,
      ['repo', 'restore', ...repo, '--data-path', rebuilt, '--rebootstrap', '--checkpoint-lsn', String(sample.walHead), '--rdb-version', '1'],
      4,
    )
    await step('Stage the rebuilt p from the new primary\'s backup instead, in the format its RedDB (1.12 here) writes; the node swaps it in at its next start.', ['basebackup', 'materialize', '--data-path', rebuilt, '--manifest', backupOf(ra, 2, sample.applied.ra), '--rebootstrap', '--rdb-version', '1'])
    for (const [name, data] of [['ra', ra], ['rc', rc]] as const) await step(`Finally, check every file of ${name}'s layout.`, ['layout', 'verify', '--data-path', data])
    return {dir_path: dir, data_path: ra, steps}
  }

  protected override human(report: DemoReport): void {
    this.say(`\n${paint.green('Runbook complete.')} The files are in ${report.dir_path}`)
  }
}
