import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf, holdFlock, jsonOf, stop} from '../support/node.js'

/**
 * Split brain as the layouts of three real nodes show it, read through the
 * local transport: a replica promoted in its own layout (no slot catalog
 * yet) while the old primary's layout still holds its slot catalog. Both
 * run: a process holds each one's data file, as RedDB does.
 */

const scratch = useScratch()

async function promoted(replica: 'ra' | 'rc', names = {p: 'p', ra: 'ra', rc: 'rc'}) {
  const dir = await scratch.dir('redrepl-split-')
  const nodes = await writeThreeNodes(dir)
  const promote = await runCli(['timeline', 'promote', '--data-path', nodes[replica], '--replica', replica, '--expect-timeline', '1'])
  assert.equal(promote.exitCode, 0, promote.stderr)
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: names.p, dataPath: nodes.p},
    {name: names.ra, dataPath: nodes.ra},
    {name: names.rc, dataPath: nodes.rc},
  ])
  const running = await Promise.all([holdFlock(nodes.p), holdFlock(nodes[replica])])
  try {
    const result = await runCli(['cluster', 'status', '--config', config, '--json'])
    const human = await runCli(['cluster', 'status', '--config', config])
    return {nodes, config, result, human, report: documentOf(result.stdout)}
  } finally {
    await Promise.all(running.map((child) => stop(child)))
  }
}

const rows = (report: Record<string, unknown>) => (report.nodes as any[]).map((row) => [row.name, row.role, row.timeline, row.state, row.rejoin])

test('split brain: a replica promoted in its own layout while the old primary still writes as primary of timeline 1', async () => {
  const {result, human, report} = await promoted('ra')
  assert.equal(result.exitCode, 2, result.stdout)
  assert.deepEqual(report.split_brain, [
    'two nodes write on different timelines: p writes as the primary of timeline 1 (slot catalog, WAL head 9437187), while ra was promoted to timeline 2 at LSN 9437187 (promote ra; no slot catalog yet)',
  ])
  assert.deepEqual(rows(report), [
    ['p', 'primary', 1n, 'CRITICAL', 'rewind'],
    ['ra', 'unknown', 2n, 'CRITICAL', null],
    ['rc', 'replica', 1n, 'WARNING', 'follow_new_timeline'],
  ])
  const [p, ra, rc] = report.nodes as any[]
  assert.deepEqual(p.problems, ["on timeline 1, behind the newest timeline 2: it must rewind to LSN 9437187 before following timeline 2 (by RedDB's rejoin rule against ra's history)", 'split brain with ra'])
  assert.deepEqual(ra.problems, ['split brain with p'])
  assert.deepEqual(rc.problems, ["on timeline 1, behind the newest timeline 2: it can follow timeline 2 from LSN 7340034 once ra has written WAL (by RedDB's rejoin rule against ra's history)"])
  assert.match(human.stdout, /^REDREPL CRITICAL - cluster main/)
  assert.match(human.stdout, /\nsplit brain: two nodes write on different timelines: p writes as the primary of timeline 1/)
  assert.match(human.stdout, /\nCRITICAL p: split brain with ra\n/)
})

test('split brain: the promoted node is known by the relay log it kept on its old timeline, however the inventory names it', async () => {
  const {nodes, result, report} = await promoted('ra', {p: 'db1', ra: 'db2', rc: 'db3'})
  assert.equal(result.exitCode, 2, result.stdout)
  assert.deepEqual(report.split_brain, [
    'two nodes write on different timelines: db1 writes as the primary of timeline 1 (slot catalog, WAL head 9437187), while db2 was promoted to timeline 2 at LSN 9437187 (promote ra; no slot catalog yet)',
  ])
  const own = jsonOf(await runCli(['cluster', 'node', '--data-path', nodes.ra, '--json']))
  assert.deepEqual([own.timeline, own.role, own.acks, own.relay_replica_ids], [2n, 'unknown', [], ['ra']])
})

test('split brain: the old primary wrote past the fork of a lagging replica\'s promotion; every node behind it gets its step', async () => {
  const {result, report} = await promoted('rc')
  assert.equal(result.exitCode, 2, result.stdout)
  assert.deepEqual(report.split_brain, [
    'two nodes write on different timelines: p writes as the primary of timeline 1 (slot catalog, WAL head 9437187), while rc was promoted to timeline 2 at LSN 7340034 (promote rc; no slot catalog yet); p has 2097153 LSNs past the fork at 7340034 that timeline 2 does not have',
  ])
  assert.deepEqual(rows(report), [
    ['p', 'primary', 1n, 'CRITICAL', 'rewind'],
    ['ra', 'replica', 1n, 'WARNING', 'rewind'],
    ['rc', 'unknown', 2n, 'CRITICAL', null],
  ])
  assert.equal((report.nodes as any[])[1].problems[0], "on timeline 1, behind the newest timeline 2: it must rewind to LSN 7340034 before following timeline 2 (by RedDB's rejoin rule against rc's history)")
  // The promoted node has no WAL and no relay log on timeline 2 yet: no position on the newest timeline is known.
  assert.deepEqual([report.newest_timeline, report.best_known_node, report.best_known_lsn], [2n, null, null])
})

/** ra promoted in its own layout and nothing running anywhere; `pTransport` reaches the old primary (or does not). */
async function raPromotedAlone(pTransport?: string[]) {
  const dir = await scratch.dir('redrepl-split-')
  const nodes = await writeThreeNodes(dir)
  assert.equal((await runCli(['timeline', 'promote', '--data-path', nodes.ra, '--replica', 'ra', '--expect-timeline', '1'])).exitCode, 0)
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p, transport: pTransport},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  return runCli(['cluster', 'status', '--config', config, '--json'])
}

test('no split brain once the old primary\'s layout is out of the view: the promoted replica is the only writer', async () => {
  const result = await raPromotedAlone(['false'])
  assert.equal(result.exitCode, 1, result.stdout)
  const report = documentOf(result.stdout)
  assert.deepEqual(report.split_brain, [])
  assert.deepEqual(rows(report), [
    ['p', null, null, 'WARNING', null],
    ['ra', 'unknown', 2n, 'OK', null],
    ['rc', 'replica', 1n, 'WARNING', 'follow_new_timeline'],
  ])
})

test('no split brain when the old primary is stopped: no process holds its data file, so it only has to rewind', async () => {
  const result = await raPromotedAlone()
  assert.equal(result.exitCode, 1, result.stdout)
  const report = documentOf(result.stdout)
  assert.deepEqual(report.split_brain, [])
  assert.deepEqual(rows(report), [
    ['p', 'primary', 1n, 'WARNING', 'rewind'],
    ['ra', 'unknown', 2n, 'OK', null],
    ['rc', 'replica', 1n, 'WARNING', 'follow_new_timeline'],
  ])
})
