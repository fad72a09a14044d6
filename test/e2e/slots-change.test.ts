import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {holdFlock, jsonOf, stop} from '../support/node.js'
import {primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()
const POLICY = ['--min-segments', '1', '--segment-bytes', '1MiB']

async function primary() {
  const copy = await primaryCopy(scratch)
  return {...copy, catalog: copy.layout.slotCatalogPath(1n)}
}

const slotIds = async (data: string) => (jsonOf(await runCli(['slots', 'show', '--data-path', data, '--json'])).slots as any[]).map((s) => s.replica_id)

test('slots drop --dry-run shows what retention would release and writes nothing', async () => {
  const {data, catalog} = await primary()
  const before = readFileSync(catalog)
  const report = jsonOf(await runCli(['slots', 'drop', 'replica-b', '--data-path', data, '--dry-run', '--json', ...POLICY]))
  assert.equal(report.dry_run, true)
  assert.equal(report.changed, true)
  assert.equal(report.slot_after, null)
  assert.equal((report.slot_before as any).replica_id, 'replica-b')
  assert.deepEqual(report.retention, {removable_segments_before: 2n, removable_segments_after: 4n, released_segments: 2n, released_bytes: 2022n})
  assert.deepEqual(readFileSync(catalog), before)
  const human = await runCli(['slots', 'drop', 'replica-b', '--data-path', data, '--dry-run', ...POLICY])
  assert.match(human.stdout, /would drop slot replica-b/)
  assert.match(human.stdout, /would release 2 segment\(s\)/)
})

test('slots drop removes the slot; the next wal prune releases the WAL it pinned, the hole included; the layout verifies', async () => {
  const {data} = await primary()
  const dropped = jsonOf(await runCli(['slots', 'drop', 'replica-b', '--data-path', data, '--json', ...POLICY]))
  assert.equal(dropped.dry_run, false)
  assert.deepEqual(await slotIds(data), ['replica-a', 'replica-c'])
  const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, '--json', ...POLICY]))
  assert.equal((pruned.removed_segments as any[]).length, 4)
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(verify.exitCode, 0, verify.stdout)
  const again = await runCli(['slots', 'drop', 'replica-b', '--data-path', data])
  assert.equal(again.exitCode, 0, 'a drop run again finds what it wanted')
  assert.match(again.stdout, /^slot replica-b is already gone on timeline 1; nothing to change$/m)
})

test('slots invalidate records the reason and the time, keeps the positions, and is idempotent', async () => {
  const {data, catalog} = await primary()
  const report = jsonOf(await runCli(['slots', 'invalidate', 'replica-a', '--reason', 'idle-timeout', '--data-path', data, '--json']))
  assert.deepEqual(
    [report.changed, (report.slot_after as any).active, (report.slot_after as any).invalidation_reason, (report.slot_after as any).invalidated_at_unix_ms],
    [true, false, 'idle-timeout', 1700000000000n],
  )
  const slots = jsonOf(await runCli(['slots', 'show', '--data-path', data, '--json'])).slots as any[]
  const slot = slots.find((s) => s.replica_id === 'replica-a')
  assert.deepEqual([slot.active, slot.invalidation_reason, slot.confirmed_apply_lsn], [false, 'idle-timeout', 5242881n])
  const written = readFileSync(catalog)
  const repeated = jsonOf(await runCli(['slots', 'invalidate', 'replica-a', '--reason', 'idle-timeout', '--data-path', data, '--json'], {env: {REDREPL_NOW_MS: '1800000000000'}}))
  assert.equal(repeated.changed, false)
  assert.deepEqual(readFileSync(catalog), written, 'a repeated invalidation rewrites nothing')
  const badReason = await runCli(['slots', 'invalidate', 'replica-a', '--reason', 'gone', '--data-path', data])
  assert.equal(badReason.exitCode, 2)
})

test('slots drop and invalidate refuse next to a live RedDB node (it rewrites its catalog from memory)', async () => {
  const {data, catalog} = await primary()
  const before = readFileSync(catalog)
  const node = await holdFlock(data)
  try {
    for (const args of [['slots', 'drop', 'replica-b'], ['slots', 'invalidate', 'replica-b', '--reason', 'horizon']]) {
      const result = await runCli([...args, '--data-path', data, '--yes'])
      assert.equal(result.exitCode, 4, result.stderr)
      assert.match(result.stderr, /RedDB/)
    }
  } finally {
    await stop(node)
  }
  assert.deepEqual(readFileSync(catalog), before)
})

test('slots drop rewrites the legacy JSON store when the slot lives there', async () => {
  const dir = await scratch.layout('legacy-slots')
  const data = path.join(dir, 'node.rdb')
  const report = jsonOf(await runCli(['slots', 'drop', 'old-replica', '--data-path', data, '--json']))
  assert.equal(report.store, 'legacy')
  assert.equal(report.retention, null)
  assert.deepEqual(await slotIds(data), [])
  assert.equal(readFileSync(`${data}.logical.slots.json`, 'utf8'), '{\n  "slots": []\n}')
})
