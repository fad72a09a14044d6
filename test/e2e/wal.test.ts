import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {readFixtureJson} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdLayoutLock} from '../support/lock.js'
import {jsonOf, stop} from '../support/node.js'

const scratch = useScratch()

const walDir = (dir: string, timeline = 1) => path.join(dir, 'data.primary-replica', `timeline-${String(timeline).padStart(20, '0')}`, 'wal')
const policyFlags = (policy: Record<string, unknown>) => [
  '--min-segments',
  String(policy.min_segments),
  '--max-bytes',
  String(policy.max_bytes),
  ...(policy.keep_until_replicas_ack ? [] : ['--no-keep-until-replicas-ack']),
]

test('wal plan gives RedDB\'s retention answers for every policy of the sample layout', async () => {
  const dir = await scratch.layout('primary-basic')
  const expected = readFixtureJson('layouts', 'primary-basic.expected.json') as Record<string, any>
  for (const entry of expected.retention) {
    const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1048576', '--current-lsn', String(entry.current_lsn), ...policyFlags(entry.policy), '--json']))
    assert.equal(plan.oldest_required_lsn, entry.expected.oldest_required_lsn)
    assert.equal(plan.retained_bytes_before_prune, entry.expected.retained_bytes_before_prune)
    assert.equal(plan.retained_bytes_after_prune, entry.expected.retained_bytes_after_prune)
    assert.deepEqual((plan.removable_segments as any[]).map((s) => s.index), entry.expected.removable_segment_indexes)
  }
})

test('wal plan refuses a catalog of another timeline unless told to adopt it', async () => {
  const dir = await scratch.layout('after-failover')
  const refusedRun = await runCli(['wal', 'plan', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1MiB'])
  assert.equal(refusedRun.exitCode, 4)
  assert.match(refusedRun.stderr, /slot catalog timeline 1 does not match file plan timeline 2.*--adopt-catalog-timeline/)
  const adopted = jsonOf(await runCli(['wal', 'plan', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1MiB', '--adopt-catalog-timeline', '--json']))
  assert.equal(adopted.catalog_timeline_adopted, true)
  assert.equal(adopted.timeline, 2n)
})

test('without a slot catalog nothing is removable', async () => {
  const dir = await scratch.layout('legacy-slots')
  const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', path.join(dir, 'node.rdb'), '--min-segments', '0', '--json']))
  assert.deepEqual(plan.removable_segments, [])
  assert.ok((plan.findings as any[]).some((f) => ['slot.no-catalog', 'wal.retention-stalled'].includes(f.code) && /no slot catalog/.test(f.message)), 'the findings say why')
})

test('wal prune removes exactly the planned segments, once; --dry-run and --quiet behave', async () => {
  const dir = await scratch.layout('primary-basic')
  const args = ['wal', 'prune', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1MiB', '--min-segments', '1']
  const dry = jsonOf(await runCli([...args, '--dry-run', '--json']))
  assert.deepEqual((dry.removable_segments as any[]).map((s) => s.index), [0n, 1n])
  assert.equal(readdirSync(walDir(dir)).length, 5)
  const run = await runCli([...args, '--quiet'])
  assert.equal(run.exitCode, 0, run.stderr)
  assert.equal(run.stdout, '')
  assert.deepEqual(readdirSync(walDir(dir)).sort(), ['00000000000000000002.redwal', '00000000000000000003.redwal', '00000000000000000005.redwal'])
  const again = jsonOf(await runCli([...args, '--json']))
  assert.deepEqual(again.removed_segments, [])
  const lock = path.join(dir, 'data.primary-replica', '.redrepl.lock')
  assert.equal(readFileSync(lock, 'utf8'), '', 'the lock is released and names nobody')
})

test('a prune while another run holds the layout lock exits 5 naming it; a killed holder does not block', async () => {
  const dir = await scratch.layout('primary-basic')
  const lock = path.join(dir, 'data.primary-replica', '.redrepl.lock')
  const holder = await holdLayoutLock(lock, 'wal prune')
  try {
    const blocked = await runCli(['wal', 'prune', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1MiB'])
    assert.equal(blocked.exitCode, 5)
    assert.match(blocked.stderr, new RegExp(`^redrepl: ${lock}: held by redrepl wal prune \\(pid ${holder.pid} on ${os.hostname()}, since [^)]+\\); try again when it has finished`))
  } finally {
    await stop(holder)
  }
  const free = await runCli(['wal', 'prune', '--data-path', path.join(dir, 'data.rdb'), '--segment-bytes', '1MiB', '--json'])
  assert.equal(free.exitCode, 0, free.stderr)
})
