import assert from 'node:assert/strict'
import {test} from 'node:test'

import type {WalSegmentHeader} from '../../src/core/format/wal-segment.js'
import type {ReplicationSlot} from '../../src/core/model.js'
import {retentionStall} from '../../src/core/plan/retention.js'
import {chooseSegmentBytes, contiguousRunStart, walGaps, walGeometry, type PlacedHeader} from '../../src/core/plan/wal-geometry.js'

const MiB = 1_048_576n

/** A header as RedDB writes it at segment size `size`, with `records` LSNs from the segment's start. */
function placed(index: bigint, size: bigint, records = 3n, overrides: Partial<WalSegmentHeader> = {}): PlacedHeader {
  const start = index * size
  return {index, header: {timeline: 1n, segment_index: index, start_lsn: start, end_lsn: start + records, record_count: records, ...overrides}}
}

test('the headers state the segment size: segment i starts at i × S', () => {
  const geometry = walGeometry([placed(0n, 2n * MiB), placed(1n, 2n * MiB), placed(3n, 2n * MiB, 0n)], 1n)
  assert.equal(geometry.segment_bytes, 2n * MiB)
  assert.equal(geometry.segment_bytes_from_index, 1n)
  assert.deepEqual(geometry.problems, [])
})

test('only segment 0: no size, but its records set a lower bound', () => {
  const geometry = walGeometry([placed(0n, 0n, 0n, {end_lsn: 3n * MiB + 1n, record_count: 2n})], 1n)
  assert.equal(geometry.segment_bytes, null)
  assert.equal(geometry.min_segment_bytes, 3n * MiB + 1n)
  assert.deepEqual(walGeometry([], 1n), {segment_bytes: null, segment_bytes_from_index: null, min_segment_bytes: MiB, problems: []})
})

test('headers that disagree with their names or each other are problems with the finding code', () => {
  const problems = (segments: PlacedHeader[]) => walGeometry(segments, 1n).problems.map((p) => `${p.code} ${p.index}: ${p.message}`)
  assert.deepEqual(problems([{index: 0n, header: placed(200n, MiB).header}]), ['wal.name-mismatch 0: header says segment 200, file name says 0'])
  assert.deepEqual(problems([placed(2n, MiB, 1n, {timeline: 2n})]), ['wal.name-mismatch 2: header says timeline 2, directory is timeline 1'])
  assert.deepEqual(problems([placed(1n, MiB), placed(3n, 2n * MiB)]), [`wal.segment-size 3: starts at LSN ${6n * MiB}, so its segment size is ${2n * MiB}; segment 1 says ${MiB}`])
  assert.match(problems([placed(3n, MiB, 1n, {start_lsn: 3n * MiB + 1n})])[0], /^wal.segment-size 3: starts at LSN 3145729, which is not 3 × a segment size/)
  assert.match(problems([placed(2n, 1000n)])[0], /^wal.segment-size 2: .*at least 1048576/)
  assert.deepEqual(problems([placed(0n, MiB, 1n, {start_lsn: 5n})]), ['wal.segment-size 0: segment 0 starts at LSN 5, not 0'])
  assert.deepEqual(problems([placed(1n, MiB, 0n, {end_lsn: 2n * MiB + 1n, record_count: 1n})]), [`wal.segment-size 1: holds LSNs up to ${2n * MiB}, past its end ${2n * MiB - 1n} at segment size ${MiB}`])
})

test('a flag the headers contradict is a conflict; one they confirm, or RedDB raises to theirs, is not', () => {
  const twoMiB = walGeometry([placed(0n, 2n * MiB), placed(2n, 2n * MiB)], 1n)
  assert.match((chooseSegmentBytes(twoMiB, MiB, 64n * MiB) as {conflict: string}).conflict, /headers say the segment size is 2097152 \(segment 2 starts at LSN 4194304\), not 1048576/)
  assert.deepEqual(chooseSegmentBytes(twoMiB, undefined, 64n * MiB), {segment_bytes: 2n * MiB, source: 'headers', requested: null})
  assert.deepEqual(chooseSegmentBytes(twoMiB, 2n * MiB, 64n * MiB), {segment_bytes: 2n * MiB, source: 'headers', requested: null})
  const oneMiB = walGeometry([placed(1n, MiB)], 1n)
  assert.deepEqual(chooseSegmentBytes(oneMiB, 1000n, 64n * MiB), {segment_bytes: MiB, source: 'headers', requested: 1000n})
})

test('without a header that states the size: the flag, else the default, never below what segment 0 holds', () => {
  const onlyZero = walGeometry([placed(0n, 0n, 0n, {end_lsn: 2n * MiB, record_count: 1n})], 1n)
  assert.deepEqual(chooseSegmentBytes(onlyZero, undefined, 64n * MiB), {segment_bytes: 64n * MiB, source: 'default', requested: null})
  assert.deepEqual(chooseSegmentBytes(onlyZero, 4n * MiB, 64n * MiB), {segment_bytes: 4n * MiB, source: 'flag', requested: null})
  assert.match((chooseSegmentBytes(onlyZero, MiB, 64n * MiB) as {conflict: string}).conflict, /need a segment size of at least 2097152, not 1048576/)
})

test('gaps and the unbroken run that ends at the newest segment', () => {
  assert.deepEqual(walGaps([0n, 1n, 2n, 3n, 5n]), [{first_missing: 4n, last_missing: 4n}])
  assert.deepEqual(walGaps([2n, 6n, 7n, 9n]), [
    {first_missing: 3n, last_missing: 5n},
    {first_missing: 8n, last_missing: 8n},
  ])
  assert.deepEqual(walGaps([4n, 5n]), [])
  assert.equal(contiguousRunStart([0n, 1n, 2n, 3n, 5n]), 5n)
  assert.equal(contiguousRunStart([2n, 6n, 7n, 8n]), 6n)
  assert.equal(contiguousRunStart([3n, 4n]), 3n)
  assert.equal(contiguousRunStart([]), null)
})

const slot = (active: boolean): ReplicationSlot => ({
  replica_id: 'a',
  restart_lsn: 0n,
  confirmed_write_lsn: 5n,
  confirmed_flush_lsn: 5n,
  confirmed_apply_lsn: 5n,
  active,
  last_seen_at_unix_ms: 0n,
  invalidation_reason: active ? null : 'horizon',
  invalidated_at_unix_ms: null,
})

test('retention is stalled only when segments below the head\'s are held and nothing can ever release them', () => {
  const stall = (overrides: Partial<Parameters<typeof retentionStall>[0]>) =>
    retentionStall({timeline: 2n, catalog: {timeline: 2n, slots: [slot(true)]}, keepUntilReplicasAck: true, segmentsBelowHead: 3, ...overrides})
  assert.equal(stall({}), null)
  assert.equal(stall({catalog: null}), 'no-catalog')
  assert.equal(stall({catalog: null, segmentsBelowHead: 0}), null, 'a lone current segment is not a stall')
  assert.equal(stall({catalog: {timeline: 1n, slots: [slot(true)]}}), 'catalog-timeline')
  assert.equal(stall({catalog: {timeline: 1n, slots: [slot(true)]}, adoptCatalogTimeline: true}), null)
  assert.equal(stall({catalog: {timeline: 2n, slots: [slot(false)]}}), 'no-active-slot')
  assert.equal(stall({catalog: {timeline: 2n, slots: []}}), 'no-active-slot')
  assert.equal(stall({catalog: {timeline: 2n, slots: [slot(false)]}, keepUntilReplicasAck: false}), null)
})
