import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {ClusterInput, ClusterNodeReport} from '../../src/core/plan/cluster.js'
import {chooseFailover, failoverImpact, pinChanges, pinOf} from '../../src/core/plan/failover.js'
import type {SourcedAck} from '../../src/core/plan/promotion.js'

function relay(replica_id: string, flushed: bigint, applied = flushed): SourcedAck {
  return {replica_id, timeline: 1n, received_lsn: flushed, written_lsn: flushed, flushed_lsn: flushed, applied_lsn: applied, source: 'relay-manifest', path: `relay/${replica_id}`, invalidation_reason: null}
}

const slot = (replica_id: string, applied: bigint, invalidation_reason: SourcedAck['invalidation_reason'] = null): SourcedAck => ({...relay(replica_id, applied), source: 'slot-catalog', invalidation_reason})

const INITIAL = {timeline: 1n, parent_timeline: null, fork_lsn: 0n, reason: 'initial'}

function node(overrides: Partial<ClusterNodeReport>): ClusterNodeReport {
  return {data_path: '/d/data.rdb', role: 'replica', timeline: 1n, history: [INITIAL], wal_head_lsn: null, oldest_wal_lsn: null, acks: [], findings: [], ...overrides}
}

const reached = (name: string, state: ClusterNodeReport): ClusterInput[number] => ({name, host: null, reached: true, state})

/** Primary p (WAL head 100, WAL from 40), replicas ra (applied 100), rb (applied 80), rc (applied 30). */
function cluster(overrides: {p?: Partial<ClusterNodeReport>; ra?: Partial<ClusterNodeReport>} = {}): ClusterInput {
  return [
    reached('p', node({role: 'primary', wal_head_lsn: 100n, oldest_wal_lsn: 40n, acks: [slot('ra', 100n), slot('rb', 80n), slot('rc', 30n)], ...overrides.p})),
    reached('ra', node({acks: [relay('ra', 100n)], ...overrides.ra})),
    reached('rb', node({acks: [relay('rb', 80n)]})),
    reached('rc', node({acks: [relay('rc', 30n)]})),
  ]
}

test('failover impact: LSNs lost against the best acknowledged position, and each other node\'s rejoin by RedDB\'s rule', () => {
  const best = failoverImpact(cluster(), 'ra')
  assert.deepEqual([best.replica_id, best.fork_lsn, best.new_timeline, best.best_known_lsn, best.lost_lsn], ['ra', 100n, 2n, 100n, 0n])
  assert.deepEqual(best.steps.map((step) => [step.node, step.decision, step.rewind_to_lsn, step.wal_needed_from_lsn, step.backup]), [
    ['p', 'rewind', 100n, 101n, null],
    ['rb', 'follow_new_timeline', null, 81n, null],
    ['rc', 'follow_new_timeline', null, 31n, null],
  ])
  assert.match(best.steps[0].reason, /^its position 100 is at or past the fork at 100: it must rewind to LSN 100, then follow timeline 2 \(RedDB's rejoin rule against ra's history after the promotion\)$/)
  assert.match(best.steps[1].reason, /ra has no WAL yet, so whether it still holds LSN 81 is not known here/)

  const behind = failoverImpact(cluster(), 'rb')
  assert.deepEqual([behind.fork_lsn, behind.best_known_lsn, behind.best_known_node, behind.lost_lsn], [80n, 100n, 'ra', 20n])
  assert.deepEqual(behind.steps.map((step) => [step.node, step.decision, step.rewind_to_lsn]), [['p', 'rewind', 80n], ['ra', 'rewind', 80n], ['rc', 'follow_new_timeline', null]])
})

test('failover impact: a node below the WAL the new primary serves is recloned from a backup of it; an unreachable node is manual', () => {
  const input = cluster({ra: {oldest_wal_lsn: 50n}})
  input[0] = {name: 'p', host: 'db1', reached: false, reason: 'ssh exited 255'}
  const impact = failoverImpact(input, 'ra')
  assert.deepEqual(impact.steps.map((step) => [step.node, step.decision, step.backup]), [
    ['p', 'manual', null],
    ['rb', 'follow_new_timeline', null],
    ['rc', 'reclone', 'a base backup of ra taken on timeline 2'],
  ])
  assert.match(impact.steps[0].reason, /^unreachable \(ssh exited 255\)/)
  // Without the primary, the best acknowledged position comes from the relay logs alone.
  assert.deepEqual([impact.best_known_lsn, impact.best_known_node], [100n, 'ra'])
})

test('failover impact: a primary\'s valid slot counts as acknowledged, an invalidated one does not', () => {
  const ahead = failoverImpact(cluster({p: {acks: [slot('ra', 120n), slot('rb', 80n)]}}), 'ra')
  assert.deepEqual([ahead.best_known_lsn, ahead.best_known_node, ahead.lost_lsn], [120n, 'p (slot ra)', 20n])
  const invalid = failoverImpact(cluster({p: {acks: [slot('ra', 120n, 'wal-removed'), slot('rb', 80n)]}}), 'ra')
  assert.deepEqual([invalid.best_known_lsn, invalid.lost_lsn], [100n, 0n])
})

test('choosing the failover: RedDB\'s --auto choice; a lagging candidate refused unless allowed or forced', () => {
  const auto = chooseFailover(cluster(), {adoptCatalogTimeline: false, force: false})
  assert.deepEqual([auto.candidate, auto.selection, auto.forced], ['ra', 'auto', null])
  assert.throws(() => chooseFailover(cluster(), {candidate: 'rb', adoptCatalogTimeline: false, force: false}), (error: any) => error.kind === 'refused' && /throws away 20 acknowledged LSNs \(81\.\.100\)/.test(error.message))
  assert.throws(() => chooseFailover(cluster(), {candidate: 'rb', adoptCatalogTimeline: false, force: false, maxLagLsn: 19n}), /more than the 19 allowed/)
  assert.equal(chooseFailover(cluster(), {candidate: 'rb', adoptCatalogTimeline: false, force: false, maxLagLsn: 20n}).lost_lsn, 20n)
  assert.match(chooseFailover(cluster(), {candidate: 'rb', adoptCatalogTimeline: false, force: true}).forced!, /throws away 20/)
  assert.throws(() => chooseFailover(cluster(), {candidate: 'p', adoptCatalogTimeline: false, force: true}), /node "p" is not a reached replica/)
})

test('pins: any change of role, timeline, position or history is named; the old primary may go down, nobody else may', () => {
  const pins = cluster().map(pinOf)
  assert.deepEqual(pinChanges(pins, cluster().map(pinOf), null), [])
  const moved = cluster({ra: {acks: [relay('ra', 101n)]}}).map(pinOf)
  assert.deepEqual(pinChanges(pins, moved, null), ['ra: position_lsn was 100 when planned, is 101 now'])
  const forked = cluster({ra: {history: [INITIAL, {timeline: 2n, parent_timeline: 1n, fork_lsn: 100n, reason: 'promote ra'}], timeline: 2n}}).map(pinOf)
  assert.deepEqual(pinChanges(pins, forked, null).map((line) => line.split(' was ')[0]), ['ra: timeline', 'ra: history_fingerprint'])
  const down = cluster().map(pinOf)
  down[0] = {...down[0], reached: false}
  assert.deepEqual(pinChanges(pins, down, 'p'), [])
  assert.deepEqual(pinChanges(pins, down, null), ['p answered when planned and cannot be reached now'])
  assert.deepEqual(pinChanges(down, pins, 'p'), ['p was unreachable when planned and answers now'])
})
