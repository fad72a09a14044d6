import assert from 'node:assert/strict'
import {test} from 'node:test'

import {decodeFailoverPlan, encodeFailoverPlan, type FailoverPlan} from '../../src/core/format/failover-plan.js'

function plan(overrides: Partial<FailoverPlan> = {}): FailoverPlan {
  const step = {node: 'p', decision: 'rewind' as const, timeline: 1n, position_lsn: 100n, rewind_to_lsn: 90n, wal_needed_from_lsn: 91n, backup: null, reason: 'at or past the fork'}
  return {
    cluster: 'main',
    created_at_unix_ms: 1_700_000_000_000n,
    candidate: 'ra',
    replica_id: 'ra',
    previous_timeline: 1n,
    new_timeline: 2n,
    fork_lsn: 18_446_744_073_709_551_000n,
    lost_lsn: 0n,
    old_primaries: ['p'],
    pins: [
      {node: 'p', reached: true, role: 'primary', timeline: 1n, position_lsn: 100n, history_fingerprint: 'ab'},
      {node: 'ra', reached: true, role: 'replica', timeline: 1n, position_lsn: 90n, history_fingerprint: 'ab'},
    ],
    steps: [step],
    ...overrides,
  }
}

test('a failover plan round-trips exactly, u64 values included', () => {
  assert.deepEqual(decodeFailoverPlan(encodeFailoverPlan(plan())), plan())
  assert.deepEqual(decodeFailoverPlan(encodeFailoverPlan(plan({repo_name: 'offsite'}))).repo_name, 'offsite')
  assert.equal(decodeFailoverPlan(encodeFailoverPlan(plan({repo_name: null}))).repo_name, null)
  assert.throws(() => decodeFailoverPlan(encodeFailoverPlan(plan({repo_name: 7 as unknown as string}))), /repo_name/)
})

test('a damaged, cut or foreign plan is refused before its body is read', () => {
  const bytes = encodeFailoverPlan(plan())
  const flipped = Uint8Array.from(bytes)
  flipped[20] ^= 1
  assert.throws(() => decodeFailoverPlan(flipped), /checksum mismatch/)
  assert.throws(() => decodeFailoverPlan(bytes.subarray(0, bytes.length - 1)), (error: any) => error.kind === 'corrupt')
  const foreign = Uint8Array.from(bytes)
  foreign[0] = 'X'.charCodeAt(0)
  assert.throws(() => decodeFailoverPlan(foreign), (error: any) => error.kind === 'corrupt')
})

test('a plan whose steps do not cover every node but the candidate once, or whose timelines do not follow, is not a plan', () => {
  assert.throws(() => encodeFailoverPlan(plan({steps: []})), /steps must name every node but the candidate, once each/)
  assert.throws(() => encodeFailoverPlan(plan({candidate: 'rz'})), /candidate rz is not among the pinned nodes/)
  assert.throws(() => encodeFailoverPlan(plan({new_timeline: 3n})), /new_timeline 3 must follow previous_timeline 1/)
  assert.throws(() => encodeFailoverPlan(plan({old_primaries: ['q']})), /old_primaries names q, which is not pinned/)
})
