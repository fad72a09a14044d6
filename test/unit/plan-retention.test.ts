import assert from 'node:assert/strict'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import type {ReplicationSlot} from '../../src/core/model.js'
import {planRetention, type RetentionInput} from '../../src/core/plan/retention.js'

const S = 1_048_576n
const slot = (replica_id: string, floor: bigint, active = true): ReplicationSlot => ({
  replica_id,
  restart_lsn: floor,
  confirmed_write_lsn: floor,
  confirmed_flush_lsn: floor,
  confirmed_apply_lsn: floor,
  active,
  last_seen_at_unix_ms: 0n,
  invalidation_reason: null,
  invalidated_at_unix_ms: null,
})

const input = (overrides: Partial<RetentionInput>): RetentionInput => ({
  segmentBytes: S,
  timeline: 1n,
  policy: {min_segments: 2n, max_bytes: 0n, keep_until_replicas_ack: true},
  catalog: {timeline: 1n, slots: [slot('slow', 3n * S + 5n), slot('fast', 9n * S)]},
  forkLsns: [],
  currentLsn: 9n * S + 1n,
  segments: Array.from({length: 10}, (_, i) => ({index: BigInt(i), bytes: 100n})),
  ...overrides,
})

test('every segment gets a reason, naming the slot that holds the floor', () => {
  const plan = planRetention(input({}))
  const reasons = Object.fromEntries(plan.segments.map((s) => [String(s.index), `${s.action}: ${s.reason}`]))
  assert.equal(reasons['0'], 'remove: released below the window')
  assert.equal(reasons['3'], `keep: slot floor (slow, LSN ${3n * S + 5n})`)
  assert.equal(reasons['9'], 'keep: slot floor (slow, LSN 3145733)')
  assert.equal(plan.replica_floor_slot, 'slow')
  assert.deepEqual(plan.removable_segment_indexes, [0n, 1n, 2n])
})

test('the window and the current segment are named when nothing else pins a segment', () => {
  const plan = planRetention(input({policy: {min_segments: 3n, max_bytes: 0n, keep_until_replicas_ack: false}}))
  const byIndex = new Map(plan.segments.map((s) => [s.index, s.reason]))
  assert.equal(byIndex.get(9n), 'current segment')
  assert.equal(byIndex.get(7n), 'minimum window (3 segments)')
  assert.equal(byIndex.get(6n), 'released below the window')
})

test('max bytes trims released segments only, never the current one, and says so', () => {
  const plan = planRetention(input({policy: {min_segments: 16n, max_bytes: 150n, keep_until_replicas_ack: false}, forkLsns: [8n * S]}))
  assert.deepEqual(plan.removable_segment_indexes, [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n])
  assert.equal(plan.segments[0].reason, 'over max bytes (150)')
  assert.equal(plan.segments[8].reason, `fork pin (LSN ${8n * S})`)
  assert.equal(plan.retained_bytes_after_prune, 200n)
})

test('a catalog of another timeline is refused unless adopted; near-2^64 LSNs do not overflow', () => {
  assert.throws(() => planRetention(input({catalog: {timeline: 1n, slots: []}, timeline: 2n})), (error: unknown) => error instanceof RedreplError && error.kind === 'refused')
  assert.doesNotThrow(() => planRetention(input({catalog: {timeline: 1n, slots: []}, timeline: 2n, adoptCatalogTimeline: true})))
  const top = (1n << 64n) / S - 1n
  const plan = planRetention(input({currentLsn: (1n << 64n) - 1n, segments: [{index: top, bytes: 1n}], catalog: {timeline: 1n, slots: [slot('m', (1n << 64n) - 1n)]}}))
  assert.deepEqual(plan.removable_segment_indexes, [])
  assert.equal(plan.segments[0].last_lsn, (1n << 64n) - 1n)
})

test('a hold keeps a released segment with its reason, against the window and --max-bytes alike, but never names the current segment', () => {
  const holds = new Map([[1n, 'not archived'], [9n, 'not archived']])
  const plan = planRetention(input({policy: {min_segments: 1n, max_bytes: 150n, keep_until_replicas_ack: false}, holds}))
  const reasons = Object.fromEntries(plan.segments.map((s) => [String(s.index), `${s.action}: ${s.reason}`]))
  assert.equal(reasons['1'], 'keep: not archived')
  assert.equal(reasons['9'], 'keep: current segment')
  assert.deepEqual(plan.removable_segment_indexes, [0n, 2n, 3n, 4n, 5n, 6n, 7n, 8n])
  assert.equal(plan.retained_bytes_after_prune, 200n, 'the held segment counts against max bytes but is not trimmed')
})

test('RedDB\'s own pins name the segment before a hold does', () => {
  const plan = planRetention(input({holds: new Map([[4n, 'not archived']])}))
  assert.equal(plan.segments[4].reason, `slot floor (slow, LSN ${3n * S + 5n})`)
})
