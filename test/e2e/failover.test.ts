import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'

import {cliBinary, runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes, type NodeEntry} from '../support/cluster.js'
import {holdLayoutLock} from '../support/lock.js'
import {holdFlock, jsonOf, stop} from '../support/node.js'

const scratch = useScratch()
const self = [process.execPath, cliBinary]

async function cluster(entries?: (nodes: {p: string; ra: string; rc: string}, dir: string) => NodeEntry[]) {
  const dir = await scratch.dir('redrepl-failover-')
  const nodes = await writeThreeNodes(dir)
  const list = entries?.(nodes, dir) ?? [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ]
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), list)
  return {dir, nodes, config, plan: path.join(dir, 'failover.plan')}
}

const historyOf = async (data: string) => jsonOf(await runCli(['timeline', 'show', '--data-path', data, '--json']))
/** How many promotions the node's history records. */
const promotions = async (data: string) => ((await historyOf(data)).entries as any[]).filter((entry) => entry.parent_timeline !== null).length

test('failover plan then apply on three local nodes: ra promoted, p rewinds, rc follows; a re-run repeats nothing', async () => {
  const {nodes, config, plan} = await cluster()
  const planned = jsonOf(await runCli(['failover', 'plan', '--config', config, '--out', plan, '--json']))
  assert.deepEqual([planned.candidate, planned.selection, planned.fork_lsn, planned.new_timeline, planned.lost_lsn, planned.old_primaries], ['ra', 'auto', 9_437_187n, 2n, 0n, ['p']])
  assert.deepEqual((planned.steps as any[]).map((step) => [step.node, step.decision]), [['p', 'rewind'], ['rc', 'follow_new_timeline']])
  assert.deepEqual((planned.pins as any[]).map((pin) => [pin.node, pin.role, pin.timeline, pin.position_lsn]), [['p', 'primary', 1n, 9_437_187n], ['ra', 'replica', 1n, 9_437_187n], ['rc', 'replica', 1n, 7_340_034n]])

  const dry = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--dry-run', '--json'])
  assert.equal(dry.exitCode, 0, dry.stderr)
  assert.deepEqual((jsonOf(dry).steps as any[]).map((step) => [step.step, step.node, step.status]), [['promote', 'ra', 'pending'], ['rejoin', 'p', 'pending'], ['rejoin', 'rc', 'pending']])
  assert.equal(existsSync(`${plan}.journal`), false)
  assert.equal(await promotions(nodes.ra), 0)

  const applied = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(applied.exitCode, 0, applied.stderr)
  const report = jsonOf(applied)
  assert.deepEqual(report.old_primary_checks, [{node: 'p', state: 'stopped', detail: `no process holds ${nodes.p}`}])
  assert.deepEqual((report.steps as any[]).map((step) => [step.node, step.status]), [['ra', 'done'], ['p', 'done'], ['rc', 'done']])
  assert.match((report.steps as any[])[1].detail, /RedDB rewinds p to LSN 9437187 when it starts as a replica of ra/)
  const history = (await historyOf(nodes.ra)).entries as any[]
  assert.deepEqual(history.map((entry) => [entry.timeline, entry.fork_lsn, entry.reason]), [[1n, 0n, 'initial'], [2n, 9_437_187n, 'promote ra']])

  const again = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(again.exitCode, 0, again.stderr)
  assert.deepEqual((jsonOf(again).steps as any[]).map((step) => step.status), ['already-done', 'already-done', 'already-done'])
  assert.equal(await promotions(nodes.ra), 1)
  // The plan of an applied failover is not replaced by a new one.
  const replan = await runCli(['failover', 'plan', '--config', config, '--out', plan])
  assert.equal(replan.exitCode, 4, replan.stderr)
  assert.match(replan.stderr, /failover\.plan\.journal: a failover apply journal is there/)
})

test('failover plan refuses a lagging candidate as timeline promote does, unless --max-lag-lsn or --force', async () => {
  const {config} = await cluster()
  const lagging = await runCli(['failover', 'plan', '--config', config, '--candidate', 'rc'])
  assert.equal(lagging.exitCode, 4)
  assert.match(lagging.stderr, /ra acknowledged applying up to LSN 9437187, past the fork at 7340034 of rc: promoting rc throws away 2097153 acknowledged LSNs/)
  const allowed = jsonOf(await runCli(['failover', 'plan', '--config', config, '--candidate', 'rc', '--max-lag-lsn', '2097153', '--json']))
  assert.deepEqual([allowed.candidate, allowed.lost_lsn, allowed.selection], ['rc', 2_097_153n, 'named'])
})

test('failover apply refuses a cluster that changed after the plan, naming what changed', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const appended = await runCli(['relay', 'append', '--data-path', nodes.rc, '--replica', 'rc', '--applied-lsn', '7340040'], {input: '{"lsn":7340040,"payload_hex":"00"}\n'})
  assert.equal(appended.exitCode, 0, appended.stderr)
  const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
  assert.equal(result.exitCode, 4, result.stderr)
  assert.match(result.stderr, /the cluster changed since the plan was made: rc: position_lsn was 7340034 when planned, is 7340040 now; nothing was done/)
  assert.equal(await promotions(nodes.ra), 0)
})

test('failover apply refuses while RedDB still runs on the old primary', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const node = await holdFlock(nodes.p)
  try {
    const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--old-primary-down'])
    assert.equal(result.exitCode, 4, result.stderr)
    assert.match(result.stderr, new RegExp(`p: RedDB is running on .*data\\.rdb \\(pid ${node.pid}\\)`))
  } finally {
    await stop(node)
  }
  assert.equal(await promotions(nodes.ra), 0)
  assert.equal(existsSync(`${plan}.journal`), false)
})

test('an unreachable old primary needs --old-primary-down; its step is then manual', async () => {
  const {dir, nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const down = await writeInventory(path.join(dir, 'down.conf'), [
    {name: 'p', dataPath: nodes.p, transport: ['false']},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  const refusedRun = await runCli(['failover', 'apply', '--config', down, '--plan', plan, '--yes'])
  assert.equal(refusedRun.exitCode, 4, refusedRun.stderr)
  assert.match(refusedRun.stderr, /p: the old primary cannot be reached \(false exited 1\), so whether RedDB still runs there is unknown/)
  const fromFile = path.join(dir, 'typed.conf')
  writeFileSync(fromFile, `${readFileSync(down, 'utf8')}\n[defaults]\nold-primary-down = true\n`)
  const configured = await runCli(['failover', 'apply', '--config', fromFile, '--plan', plan, '--yes'])
  assert.equal(configured.exitCode, 2, configured.stderr)
  const said = await runCli(['failover', 'apply', '--config', down, '--plan', plan, '--yes', '--old-primary-down', '--json'])
  assert.equal(said.exitCode, 0, said.stderr)
  const report = jsonOf(said)
  assert.deepEqual(report.old_primary_checks, [{node: 'p', state: 'declared-down', detail: 'unreachable (false exited 1); declared down by the operator'}])
  assert.deepEqual((report.steps as any[]).map((step) => [step.node, step.status]), [['ra', 'done'], ['p', 'manual'], ['rc', 'done']])
  assert.match((report.steps as any[])[1].commands[0], /^when p is reachable and before RedDB starts there: redrepl cluster status --cluster main/)
})

test('a tampered plan is refused by its CRC', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const bytes = readFileSync(plan)
  const text = bytes.toString('latin1')
  const at = text.indexOf('9437187')
  bytes[at + 6] = '6'.charCodeAt(0)
  writeFileSync(plan, bytes)
  const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
  assert.equal(result.exitCode, 3, result.stderr)
  assert.match(result.stderr, /failover\.plan: failover plan checksum mismatch/)
  assert.equal(await promotions(nodes.ra), 0)
})

test('a failed step stops the run; the re-run resumes there and does not promote twice', async () => {
  const {dir, nodes, config, plan} = await cluster((all, root) => {
    const log = path.join(root, 'ra-transport.log')
    const fail = path.join(root, 'rc-down')
    // ra's transport logs each run and, once the promotion ran, takes rc's host down; rc's transport fails while it is down.
    const ra = ['sh', '-c', `echo "$*" >> '${log}'; case "$*" in *"timeline promote"*) touch '${fail}';; esac; exec "$@"`, 'transport']
    const rc = ['sh', '-c', `if [ -e '${fail}' ]; then echo 'rc: host unreachable' >&2; exit 255; fi; exec "$@"`, 'transport']
    return [
      {name: 'p', dataPath: all.p},
      {name: 'ra', dataPath: all.ra, transport: ra, redrepl: self},
      {name: 'rc', dataPath: all.rc, transport: rc, redrepl: self},
    ]
  })
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const first = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
  assert.equal(first.exitCode, 1, first.stderr)
  assert.match(first.stderr, /rc: rejoin failed: cannot reach rc: sh exited 255: rc: host unreachable; the steps before it are recorded in .*failover\.plan\.journal/)
  const journal = JSON.parse(readFileSync(`${plan}.journal`, 'utf8'))
  assert.deepEqual(journal.entries.map((entry: any) => [entry.step, entry.node, entry.status]), [['promote', 'ra', 'done'], ['rejoin', 'p', 'done'], ['rejoin', 'rc', 'failed']])

  await rm(path.join(dir, 'rc-down'))
  const second = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(second.exitCode, 0, second.stderr)
  const report = jsonOf(second)
  assert.equal(report.resumed, true)
  assert.deepEqual((report.steps as any[]).map((step) => [step.node, step.status]), [['ra', 'already-done'], ['p', 'already-done'], ['rc', 'done']])
  const promoteRuns = readFileSync(path.join(dir, 'ra-transport.log'), 'utf8').split('\n').filter((line) => line.includes('timeline promote'))
  assert.equal(promoteRuns.length, 1)
  assert.equal(await promotions(nodes.ra), 1)
})

test('a run killed after the promotion and before its journal entry finds the promotion in the history and does not repeat it', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  // The promotion as apply runs it, without the journal entry that a kill prevented.
  const promoted = await runCli(['timeline', 'promote', '--data-path', nodes.ra, '--replica', 'ra', '--expect-timeline', '1', '--yes'])
  assert.equal(promoted.exitCode, 0, promoted.stderr)
  const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.match((jsonOf(result).steps as any[])[0].detail, /^ra's history already records promote ra to timeline 2 at LSN 9437187$/)
  assert.equal(await promotions(nodes.ra), 1)
})

test('a second failover apply of the same plan while one runs is refused (exit 5), changing nothing', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const holder = await holdLayoutLock(`${plan}.lock`, 'failover apply')
  try {
    const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
    assert.equal(result.exitCode, 5, result.stderr)
  } finally {
    await stop(holder)
  }
  assert.equal(await promotions(nodes.ra), 0)
  assert.equal(existsSync(`${plan}.journal`), false)
})

test('failover apply killed after each step: every re-run goes one step further, each step happens once, the layouts verify', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  const crash = {REDREPL_CRASH_AT: 'failover-journal:after-rename'}
  const journaled: string[][] = []
  for (let run = 0; run < 3; run++) {
    const killed = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'], {env: crash})
    assert.notEqual(killed.exitCode, 0, `run ${run} was not killed: ${killed.stderr}`)
    journaled.push(JSON.parse(readFileSync(`${plan}.journal`, 'utf8')).entries.map((entry: any) => `${entry.step} ${entry.node} ${entry.status}`))
  }
  assert.deepEqual(journaled, [['promote ra done'], ['promote ra done', 'rejoin p done'], ['promote ra done', 'rejoin p done', 'rejoin rc done']])
  // Nothing is left to do, so nothing is written and the crash point is not reached.
  const last = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'], {env: crash})
  assert.equal(last.exitCode, 0, last.stderr)
  assert.equal(await promotions(nodes.ra), 1)
  for (const data of [nodes.p, nodes.ra, nodes.rc]) assert.equal((await runCli(['layout', 'verify', '--data-path', data, '--quiet'])).exitCode, 0, data)
})

test('failover apply killed inside the promotion or before its journal entry is durable: the re-run does not promote twice', async () => {
  for (const point of ['timeline-history:after-rename', 'failover-journal:after-temp-write', 'failover-journal:after-temp-fsync']) {
    const {nodes, config, plan} = await cluster()
    assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
    const killed = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'], {env: {REDREPL_CRASH_AT: point}})
    assert.notEqual(killed.exitCode, 0, point)
    const again = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
    assert.equal(again.exitCode, 0, `${point}: ${again.stderr}`)
    assert.match((jsonOf(again).steps as any[])[0].detail, /^ra's history already records promote ra/, point)
    assert.equal(await promotions(nodes.ra), 1, point)
  }
})

test('a journal that belongs to another plan is refused, and so is a plan file that would replace something else', async () => {
  const {nodes, config, plan} = await cluster()
  assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0)
  writeFileSync(`${plan}.journal`, JSON.stringify({schema: 'redrepl.failover-journal/1', plan_sha256: '00'.repeat(32), entries: [{step: 'promote', node: 'ra', status: 'done', at_unix_ms: 1, detail: 'x', commands: []}]}))
  const result = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
  assert.equal(result.exitCode, 4, result.stderr)
  assert.match(result.stderr, /failover\.plan\.journal: is the journal of another plan/)
  assert.equal(await promotions(nodes.ra), 0)
  const database = path.join(path.dirname(plan), 'data.rdb')
  writeFileSync(database, 'a database')
  const over = await runCli(['failover', 'plan', '--config', config, '--out', database])
  assert.equal(over.exitCode, 4, over.stderr)
  assert.match(over.stderr, /data\.rdb: exists and is not a failover plan; nothing was written/)
  assert.equal(readFileSync(database, 'utf8'), 'a database')
})

test('failover plan --out killed at each step of writing the plan: no plan, or a whole one, and the next run writes it', async () => {
  for (const point of ['failover-plan:after-temp-write', 'failover-plan:after-temp-fsync', 'failover-plan:after-rename']) {
    const {config, plan} = await cluster()
    const killed = await runCli(['failover', 'plan', '--config', config, '--out', plan], {env: {REDREPL_CRASH_AT: point}})
    assert.equal(killed.exitCode, -1, `${point}: ${killed.stdout}`)
    // Before the rename nothing is at the plan's name; after it the plan is whole and applies.
    assert.equal(existsSync(plan), point.endsWith('after-rename'), point)
    if (!existsSync(plan)) assert.equal((await runCli(['failover', 'plan', '--config', config, '--out', plan])).exitCode, 0, point)
    const applied = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
    assert.equal(applied.exitCode, 0, `${point}: ${applied.stderr}`)
  }
})
