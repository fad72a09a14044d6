import assert from 'node:assert/strict'
import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {readFixtureJson} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdFlock, jsonOf, modelOf, stop} from '../support/node.js'

const scratch = useScratch()

test('slots show lists catalog slots with lag and the floor holder', async () => {
  const dir = await scratch.layout('primary-basic')
  const report = jsonOf(await runCli(['slots', 'show', '--data-path', path.join(dir, 'data.rdb'), '--json']))
  assert.equal(report.wal_head_lsn, 5242882n)
  assert.equal(report.retention_floor_lsn, 2097162n)
  const slots = report.slots as any[]
  assert.deepEqual(slots.map((s) => s.replica_id), ['replica-a', 'replica-b', 'replica-c'])
  assert.deepEqual(slots.map((s) => s.holds_floor), [false, true, false])
  assert.equal(slots[1].lag_lsn, 5242882n - 2097162n)
  assert.equal(slots[2].active, false)
  assert.equal(slots[2].invalidation_reason, 'wal-removed')
  const human = await runCli(['slots', 'show', '--data-path', path.join(dir, 'data.rdb')])
  assert.match(human.stdout, /replica-b \*/)
})

test('slots show reads the legacy JSON store and flags a catalog of another timeline', async () => {
  const legacy = jsonOf(await runCli(['slots', 'show', '--data-path', path.join(await scratch.layout('legacy-slots'), 'node.rdb'), '--json']))
  assert.deepEqual((legacy.slots as any[]).map((s) => [s.replica_id, s.source]), [['old-replica', 'legacy']])
  const failover = jsonOf(await runCli(['slots', 'show', '--data-path', path.join(await scratch.layout('after-failover'), 'data.rdb'), '--json']))
  assert.match((failover.findings as any[]).find((f) => f.code === 'slot.catalog-timeline').message, /timeline 1 but lives under timeline 2/)
})

test('promote records the failover once; a re-run with --expect-timeline is refused', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const history = path.join(dir, 'data.primary-replica', 'timeline-history.redtimeline')
  const dry = jsonOf(await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--dry-run', '--json']))
  assert.equal(dry.new_timeline, 2n)
  assert.equal(jsonOf(await runCli(['timeline', 'show', '--data-path', data, '--json'])).timeline, 1n, 'dry run wrote nothing')
  const report = jsonOf(await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--expect-timeline', '1', '--json']))
  assert.deepEqual([report.previous_timeline, report.new_timeline, report.fork_lsn], [1n, 2n, 25n])
  const written = modelOf(await runCli(['inspect', '--json', history]))
  assert.deepEqual((written.entries as any[]).at(-1), {timeline: 2n, parent_timeline: 1n, fork_lsn: 25n, created_at_unix_ms: 1700000000000n, reason: 'promote replica-a'})
  const rejoin = jsonOf(await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1', '--node-flushed-lsn', '29', '--json']))
  assert.deepEqual([rejoin.decision, rejoin.rejoin_target_timeline, rejoin.rejoin_rewind_to_lsn, rejoin.state], ['rewind', 2n, 25n, 'rejoin_rewind_required'])
  const before = readFileSync(history)
  const again = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '25', '--expect-timeline', '1'])
  assert.equal(again.exitCode, 4)
  assert.match(again.stderr, /current timeline is 2, not 1/)
  assert.deepEqual(readFileSync(history), before)
})

test('promote --auto chooses as RedDB does; a missing history starts with its initial entry', async () => {
  const dir = await scratch.layout('primary-basic')
  rmSync(path.join(dir, 'data.primary-replica', 'timeline-history.redtimeline'))
  const report = jsonOf(await runCli(['timeline', 'promote', '--data-path', path.join(dir, 'data.rdb'), '--auto', '--json']))
  // replica-a has the highest applied LSN of the acks on timeline 1 (its slot: applied 5242881).
  assert.equal(report.replica_id, 'replica-a')
  assert.equal(report.fork_lsn, 5242881n)
  const entries = (report.history as any).entries
  assert.deepEqual(entries[0], {timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: 1700000000000n, reason: 'initial'})
})

test('promote refuses next to a running node unless forced', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const node = await holdFlock(data)
  try {
    const refusedRun = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'r', '--applied-lsn', '1'])
    assert.equal(refusedRun.exitCode, 4)
    assert.match(refusedRun.stderr, new RegExp(`running RedDB process \\(pid ${node.pid}\\)`))
    const forced = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'r', '--applied-lsn', '1', '--force'])
    assert.equal(forced.exitCode, 0, forced.stderr)
  } finally {
    await stop(node)
  }
})

test('rejoin plan gives RedDB\'s decisions after a failover, from flags or the old node\'s files', async () => {
  const dir = await scratch.layout('after-failover')
  const data = path.join(dir, 'data.rdb')
  const expected = readFixtureJson('layouts', 'after-failover.expected.json') as Record<string, any>
  for (const entry of expected.rejoin) {
    const plan = jsonOf(
      await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', String(entry.node_timeline), '--node-flushed-lsn', String(entry.node_flushed_lsn), '--available-from-lsn', String(entry.available_from_lsn), '--json']),
    )
    // RedDB's decision fields (target_timeline, start_lsn, rewind_to_lsn) are reported once, as its rejoin_* state fields.
    for (const [key, value] of Object.entries(entry.expected)) assert.equal(plan[key === 'decision' ? key : `rejoin_${key}`], value, `${key} for node ${entry.node_timeline}/${entry.node_flushed_lsn}`)
    assert.equal(plan.rejoin_node_flushed_lsn, entry.node_flushed_lsn)
  }
  const oldPrimary = await scratch.layout('primary-basic')
  const fromFiles = jsonOf(await runCli(['rejoin', 'plan', '--data-path', data, '--node-data-path', path.join(oldPrimary, 'data.rdb'), '--json']))
  assert.deepEqual([fromFiles.decision, fromFiles.rejoin_rewind_to_lsn, fromFiles.node_position_source], ['rewind', 25n, 'wal-head'])
  const missing = await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1'])
  assert.equal(missing.exitCode, 2)
})
