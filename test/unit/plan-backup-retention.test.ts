import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseDurationMs, planBackupRetention, type RetentionCandidate} from '../../src/core/plan/backup-retention.js'

const DAY = 86_400_000n
const backup = (checkpoint: bigint, overrides: Partial<RetentionCandidate> = {}): RetentionCandidate => ({
  id: `b${checkpoint}`,
  timeline: 1n,
  checkpoint_lsn: checkpoint,
  taken_unix_ms: checkpoint * DAY,
  usable_for_catchup: true,
  ...overrides,
})

test('keep-last keeps the N newest by (timeline, checkpoint), whatever the input order', () => {
  const plan = planBackupRetention([backup(3n), backup(1n), backup(2n)], {keepLast: 2}, 10n * DAY)
  assert.deepEqual(plan.map((v) => [v.backup.id, v.action, v.reason]), [
    ['b1', 'delete', 'beyond the 2 newest'],
    ['b2', 'keep', 'among the 2 newest'],
    ['b3', 'keep', 'newest usable backup: never expired'],
  ])
})

test('the newest usable backup survives any policy, even when newer unusable ones exist', () => {
  const plan = planBackupRetention([backup(1n), backup(2n, {usable_for_catchup: false, timeline: 2n})], {keepLast: 1}, 10n * DAY)
  assert.deepEqual(plan.map((v) => v.action), ['keep', 'keep'])
  const old = planBackupRetention([backup(1n), backup(2n)], {keepWithinMs: DAY}, 100n * DAY)
  assert.deepEqual(old.map((v) => v.action), ['delete', 'keep'])
  assert.match(old[0].reason, /older than 1d0h/)
})

test('keep-within keeps what was taken within the window, inclusive', () => {
  const plan = planBackupRetention([backup(1n), backup(2n), backup(3n)], {keepWithinMs: DAY}, 3n * DAY)
  assert.deepEqual(plan.map((v) => v.action), ['delete', 'keep', 'keep'])
})

test('durations parse with a unit and refuse anything else', () => {
  assert.equal(parseDurationMs('7d', 'x'), 7n * DAY)
  assert.equal(parseDurationMs('90m', 'x'), 5_400_000n)
  assert.throws(() => parseDurationMs('7', 'x'), /duration/)
  assert.throws(() => parseDurationMs('-1d', 'x'), /duration/)
})
