import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf, holdFlock, jsonOf, stop} from '../support/node.js'

const scratch = useScratch()

async function cluster(): Promise<{dir: string; nodes: {p: string; ra: string; rc: string}}> {
  const dir = await scratch.dir('redrepl-cluster-')
  return {dir, nodes: await writeThreeNodes(dir)}
}

test('cluster status: one view of three nodes on the local transport, lag against the best known position', async () => {
  const {dir, nodes} = await cluster()
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  const result = await runCli(['cluster', 'status', '--config', config, '--json'])
  const report = documentOf(result.stdout)
  assert.equal(result.exitCode, 0, result.stdout + result.stderr)
  assert.deepEqual(
    (report.nodes as any[]).map((row) => [row.name, row.role, row.timeline, row.position_lsn, row.lag_lsn, row.state]),
    [
      ['p', 'primary', 1n, 9_437_187n, 0n, 'OK'],
      ['ra', 'replica', 1n, 9_437_187n, 0n, 'OK'],
      ['rc', 'replica', 1n, 7_340_034n, 2_097_153n, 'OK'],
    ],
  )
  assert.deepEqual([report.status, report.best_known_lsn, report.split_brain], ['OK', 9_437_187n, []])
  const warned = await runCli(['cluster', 'status', '--config', config, '--warning-lag-lsn', '2097152'])
  assert.equal(warned.exitCode, 1, warned.stdout)
  assert.match(warned.stdout, /^REDREPL WARNING - cluster main/)
  assert.match(warned.stdout, /WARNING rc: lags 2097153 LSNs behind p, more than 2097152/)
})

test('cluster candidates: from the replicas\' own relay logs, cross-checked with the primary; the same choice with the primary unreachable', async () => {
  const {dir, nodes} = await cluster()
  const up = await writeInventory(path.join(dir, 'up.conf'), [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  const seen = jsonOf(await runCli(['cluster', 'candidates', '--config', up, '--json']))
  assert.equal(seen.primary_reached, true)
  assert.deepEqual(
    (seen.candidates as any[]).map((row) => [row.replica_id, row.node, row.applied_lsn, row.position_source, row.chosen, row.cross_check]),
    [
      ['ra', 'ra', 9_437_187n, 'relay-manifest', true, "agrees with p's slot"],
      ['rc', 'rc', 7_340_034n, 'relay-manifest', false, "agrees with p's slot"],
    ],
  )
  // What each failover costs: ra loses nothing; rc throws away what ra acknowledged, and p must rewind either way.
  assert.deepEqual(
    (seen.candidates as any[]).map((row) => [row.node, row.lost_lsn, row.failover_steps.map((step: any) => [step.node, step.decision, step.rewind_to_lsn, step.wal_needed_from_lsn])]),
    [
      ['ra', 0n, [['p', 'rewind', 9_437_187n, 9_437_188n], ['rc', 'follow_new_timeline', null, 7_340_035n]]],
      ['rc', 2_097_153n, [['p', 'rewind', 7_340_034n, 7_340_035n], ['ra', 'rewind', 7_340_034n, 7_340_035n]]],
    ],
  )
  const table = await runCli(['cluster', 'candidates', '--config', up])
  assert.match(table.stdout, /rc \(rc\)\W+2097153\W+p: rewind to 7340034; ra: rewind to 7340034/)
  const down = await writeInventory(path.join(dir, 'down.conf'), [
    {name: 'p', dataPath: nodes.p, transport: ['false']},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  const without = jsonOf(await runCli(['cluster', 'candidates', '--config', down, '--json']))
  assert.equal(without.primary_reached, false)
  assert.deepEqual((without.unreachable as any[]).map((node) => [node.name, node.reason]), [['p', 'false exited 1']])
  assert.deepEqual((without.candidates as any[]).map((row) => [row.replica_id, row.chosen, row.cross_check]), [['ra', true, null], ['rc', false, null]])
  assert.deepEqual((without.candidates as any[]).map((row) => [row.lost_lsn, row.failover_steps[0].decision]), [[0n, 'manual'], [2_097_153n, 'manual']])
  assert.match(without.auto_choice as string, /^ra: the highest/)
  // The lagging candidate is refused where a layout knows both replicas: ra acknowledged more.
  const withPrimary = await runCli(['timeline', 'promote', '--data-path', nodes.p, '--replica', 'rc', '--expect-timeline', '1'])
  assert.equal(withPrimary.exitCode, 4)
  assert.match(withPrimary.stderr, /replica ra acknowledged applying up to LSN 9437187.*throws away 2097153 acknowledged LSNs/)
})

test('a node that does not answer in time, one that prints garbage and one that is unreachable do not stall or hide the others', async () => {
  const {dir, nodes} = await cluster()
  const config = await writeInventory(path.join(dir, 'bad.conf'), [
    {name: 'p', dataPath: nodes.p, transport: ['sh', '-c', 'sleep 30', 'transport']},
    {name: 'ra', dataPath: nodes.ra, transport: ['sh', '-c', 'echo "{not json"', 'transport']},
    {name: 'rc', dataPath: nodes.rc},
    {name: 'gone', dataPath: nodes.rc, transport: ['/nonexistent/transport']},
  ])
  const started = Date.now()
  const result = await runCli(['cluster', 'status', '--config', config, '--node-timeout', '2', '--concurrency', '2', '--json'])
  const elapsed = Date.now() - started
  assert.ok(elapsed < 15_000, `took ${elapsed} ms`)
  assert.equal(result.exitCode, 1, result.stdout)
  const report = documentOf(result.stdout)
  const rows = report.nodes as any[]
  assert.deepEqual(rows.map((row) => [row.name, row.reached, row.state]), [['p', false, 'WARNING'], ['ra', false, 'WARNING'], ['rc', true, 'OK'], ['gone', false, 'WARNING']])
  assert.equal(rows[0].unreachable_reason, 'no answer within 2s (sh)')
  assert.match(rows[1].unreachable_reason, /^the transport's answer is not a cluster node document: /)
  assert.match(rows[3].unreachable_reason, /^cannot run \/nonexistent\/transport: /)
  assert.equal(rows[2].position_lsn, 7_340_034n)
  const human = await runCli(['cluster', 'status', '--config', config, '--node-timeout', '2'])
  assert.equal(human.stdout.split('\n').filter((line) => line.startsWith('WARNING ra: unreachable: ')).length, 1)
})

test('cluster status names split brain: two nodes that promoted apart', async () => {
  const {dir, nodes} = await cluster()
  for (const [data, replica] of [[nodes.ra, 'ra'], [nodes.rc, 'rc']]) {
    const promoted = await runCli(['timeline', 'promote', '--data-path', data, '--replica', replica, '--expect-timeline', '1', '--force'])
    assert.equal(promoted.exitCode, 0, promoted.stderr)
  }
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  // All three run: a process holds each data file, as RedDB does.
  const running = await Promise.all([nodes.p, nodes.ra, nodes.rc].map((data) => holdFlock(data)))
  const [result, human] = await Promise.all([runCli(['cluster', 'status', '--config', config, '--json']), runCli(['cluster', 'status', '--config', config])]).finally(() => Promise.all(running.map((child) => stop(child))))
  assert.equal(result.exitCode, 2, result.stdout)
  const report = documentOf(result.stdout)
  assert.deepEqual(report.split_brain, [
    'two nodes write on different timelines: p writes as the primary of timeline 1 (slot catalog, WAL head 9437187), while ra was promoted to timeline 2 at LSN 9437187 (promote ra; no slot catalog yet)',
    'two nodes write on different timelines: p writes as the primary of timeline 1 (slot catalog, WAL head 9437187), while rc was promoted to timeline 2 at LSN 7340034 (promote rc; no slot catalog yet); p has 2097153 LSNs past the fork at 7340034 that timeline 2 does not have',
    'ra and rc record timeline 2 differently: ra forks it from 1 at LSN 9437187 (promote ra), rc from 1 at LSN 7340034 (promote rc)',
  ])
  // Kept ra, rc's own timeline 2 is not ra's: RedDB's rule reclones a timeline the history does not hold.
  assert.deepEqual((report.nodes as any[]).map((row) => [row.name, row.state, row.rejoin]), [['p', 'CRITICAL', 'rewind'], ['ra', 'CRITICAL', null], ['rc', 'CRITICAL', 'reclone']])
  const old = (report.nodes as any[])[0]
  assert.equal(old.rejoin, 'rewind')
  assert.equal(old.problems[0], "on timeline 1, behind the newest timeline 2: it must rewind to LSN 9437187 before following timeline 2 (by RedDB's rejoin rule against ra's history)")
  assert.match(human.stdout, /^REDREPL CRITICAL - /)
  assert.match(human.stdout, /split brain: ra and rc record timeline 2 differently/)
})

test('cluster status without a config or with an unknown cluster is UNKNOWN (exit 3)', async () => {
  const {dir, nodes} = await cluster()
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [{name: 'p', dataPath: nodes.p}])
  const unknown = await runCli(['cluster', 'status', '--config', config, '--cluster', 'other'])
  assert.equal(unknown.exitCode, 3)
  assert.match(unknown.stdout, /^REDREPL UNKNOWN - .*no node of cluster "other" \(clusters: main\)/)
  const none = await runCli(['cluster', 'status', '--config', path.join(dir, 'missing.conf'), '--json'])
  assert.equal(none.exitCode, 3)
  assert.equal(documentOf(none.stdout).status, 'UNKNOWN')
})

test('the inventory keys of a node section are not flags: other commands take the section\'s data-path as before', async () => {
  const {dir, nodes} = await cluster()
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [{name: 'p', dataPath: nodes.p, host: 'db1.invalid', transport: ['ssh', 'db1.invalid'], redrepl: ['redrepl']}])
  const slots = jsonOf(await runCli(['slots', 'show', '--config', config, '--node', 'p', '--json']))
  assert.deepEqual((slots.slots as any[]).map((slot) => slot.replica_id), ['ra', 'rc'])
  const typo = await runCli(['slots', 'show', '--config', await writeInventory(path.join(dir, 'typo.conf'), [{name: 'p', dataPath: nodes.p}]).then(async (file) => {
    const {appendFile} = await import('node:fs/promises')
    await appendFile(file, 'hots = "db1"\n')
    return file
  }), '--node', 'p'])
  assert.equal(typo.exitCode, 2)
  assert.match(typo.stderr, /\[node\.p\] hots: no command takes this setting/)
})
