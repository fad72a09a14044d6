import assert from 'node:assert/strict'
import {test} from 'node:test'

import {offTimelinePath, planCatchup} from '../../src/core/plan/catchup.js'
import {rankCandidates, type SourcedAck} from '../../src/core/plan/promotion.js'
import type {BasebackupManifest, TimelineHistory} from '../../src/core/model.js'

function ack(overrides: Partial<SourcedAck> & {replica_id: string}): SourcedAck {
  return {timeline: 1n, received_lsn: 10n, written_lsn: 10n, flushed_lsn: 10n, applied_lsn: 10n, source: 'slot-catalog', path: 'slots', invalidation_reason: null, ...overrides}
}

test('one row per replica, showing its best ack and where it comes from', () => {
  const rows = rankCandidates({
    timeline: 1n,
    adoptCatalogTimeline: false,
    acks: [ack({replica_id: 'b', applied_lsn: 7n, source: 'relay-manifest'}), ack({replica_id: 'b', applied_lsn: 9n}), ack({replica_id: 'a', applied_lsn: 8n})],
  })
  assert.deepEqual(rows.map((row) => [row.replica_id, row.applied_lsn, row.position_source, row.sources.length, row.chosen]), [
    ['a', 8n, 'slot-catalog', 1, false],
    ['b', 9n, 'slot-catalog', 2, true],
  ])
})

test('an invalidated slot makes the whole replica ineligible, even with a better relay ack', () => {
  const rows = rankCandidates({
    timeline: 1n,
    adoptCatalogTimeline: false,
    acks: [ack({replica_id: 'a', applied_lsn: 99n, source: 'relay-manifest'}), ack({replica_id: 'a', invalidation_reason: 'wal-removed'}), ack({replica_id: 'b', applied_lsn: 1n})],
  })
  assert.deepEqual(rows.map((row) => [row.replica_id, row.ineligible, row.chosen]), [
    ['a', 'invalidated-slot', false],
    ['b', null, true],
  ])
  assert.equal(rows[0].ineligible_reason, 'its slot is invalidated (wal-removed, slot-catalog)')
})

test('acks of another timeline are ineligible unless adopted', () => {
  const acks = [ack({replica_id: 'a', timeline: 1n, applied_lsn: 5n})]
  const plain = rankCandidates({timeline: 2n, adoptCatalogTimeline: false, acks})
  assert.deepEqual([plain[0].ineligible, plain[0].ineligible_reason, plain[0].chosen], ['other-timeline', 'its acks carry timeline 1, not 2', false])
  const adopted = rankCandidates({timeline: 2n, adoptCatalogTimeline: true, acks})
  assert.deepEqual([adopted[0].eligible, adopted[0].timeline, adopted[0].chosen], [true, 2n, true])
})

const history: TimelineHistory = {
  entries: [
    {timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: 0n, reason: 'initial'},
    {timeline: 2n, parent_timeline: 1n, fork_lsn: 25n, created_at_unix_ms: 0n, reason: 'promote a'},
    {timeline: 4n, parent_timeline: 2n, fork_lsn: 40n, created_at_unix_ms: 0n, reason: 'promote b'},
  ],
}

function backup(timeline: bigint, checkpoint: bigint, start = 0n): BasebackupManifest {
  return {timeline, start_lsn: start, checkpoint_lsn: checkpoint, snapshot_relative_path: 's', snapshot_bytes: 0n, snapshot_checksum: 0, chunks: []}
}

test('a backup is on the current timeline\'s path up to each fork LSN, and off it past the fork or on a side branch', () => {
  assert.equal(offTimelinePath(history, backup(4n, 999n)), null)
  assert.equal(offTimelinePath(history, backup(2n, 40n)), null)
  assert.equal(offTimelinePath(history, backup(1n, 25n)), null)
  assert.equal(offTimelinePath(history, backup(1n, 26n)), 'its checkpoint 26 lies past LSN 25, where timeline 2 forked from its timeline 1: it holds writes the current timeline 4 never saw')
  assert.equal(offTimelinePath(history, backup(2n, 41n))?.startsWith('its checkpoint 41 lies past LSN 40, where timeline 4 forked'), true)
  assert.equal(offTimelinePath(history, backup(3n, 1n)), 'its timeline 3 is not the current timeline 4 nor one of its ancestors in the history')
  assert.equal(offTimelinePath(null, backup(1n, 5n)), null)
  assert.match(offTimelinePath(null, backup(2n, 5n))!, /not the current timeline 1/)
})

test('catch-up picks between backups at the same checkpoint by start LSN, whatever the order', () => {
  for (const order of [[3n, 7n, 5n], [7n, 5n, 3n], [5n, 3n, 7n]]) {
    const plan = planCatchup({timeline: 1n, availableFromLsn: 10n, replicaLsn: 0n, basebackups: order.map((start) => backup(1n, 20n, start))})
    assert.equal(plan.selected?.start_lsn, 7n)
  }
})
