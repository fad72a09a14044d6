import assert from 'node:assert/strict'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {decodeRepoFacts, encodeRepoFacts, type RepoFacts} from '../../src/core/format/repo-facts.js'
import type {TimelineEntry} from '../../src/core/model.js'
import {factsSegmentBytes, historyRelation, mergeRepoFacts, newerRelease, type NodeFacts} from '../../src/core/plan/repo-facts.js'

const MiB = 1_048_576n
const initial: TimelineEntry = {timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: 10n, reason: 'initial'}
const promoted = (forkLsn: bigint, created = 20n): TimelineEntry => ({timeline: 2n, parent_timeline: 1n, fork_lsn: forkLsn, created_at_unix_ms: created, reason: 'promote r1'})

const facts = (overrides: Partial<RepoFacts> = {}): RepoFacts => ({
  namespace: 'db',
  segment_bytes: 256n * MiB,
  segment_bytes_from: {timeline: 1n, index: 1n},
  rdb_release: 'reddb-1.23',
  history: [initial],
  created_unix_ms: 1n,
  updated_unix_ms: 2n,
  last_writer: {host: 'a', data_path: '/a/data.rdb', timeline: 1n, unix_ms: 2n},
  live_segment: null,
  ...overrides,
})

const nodeFacts = (overrides: Partial<NodeFacts> = {}): NodeFacts => ({
  segment_bytes: 256n * MiB,
  segment_bytes_from: {timeline: 1n, index: 3n},
  rdb_release: 'reddb-1.23',
  history: [initial],
  writer: {host: 'b', data_path: '/b/data.rdb', timeline: 1n, unix_ms: 5n},
  ...overrides,
})

test('facts round-trip exactly, u64 values beyond 2^53 included', () => {
  const big = facts({segment_bytes: 2n ** 60n, live_segment: {timeline: 1n, index: 2n ** 62n, bytes: 77n, checksum: 0xfedcba98}})
  assert.deepEqual(decodeRepoFacts(encodeRepoFacts(big)), big)
})

test('facts with one byte changed, cut short, or of another version are refused', () => {
  const bytes = encodeRepoFacts(facts())
  for (const at of [0, 9, 20, bytes.length - 6, bytes.length - 1]) {
    const damaged = Uint8Array.from(bytes)
    damaged[at] ^= 0x01
    assert.throws(() => decodeRepoFacts(damaged), /checksum mismatch/, `byte ${at}`)
  }
  assert.throws(() => decodeRepoFacts(bytes.subarray(0, bytes.length - 1)), /checksum mismatch|too short/)
  assert.throws(() => encodeRepoFacts(facts({segment_bytes: 4096n})), /below RedDB's 1 MiB floor/)
  assert.throws(() => encodeRepoFacts(facts({history: [initial, {...promoted(5n), parent_timeline: 7n}]})), /parent 7/)
})

test('history relations: same, ahead (a failover), behind (left by one), forked (split brain or another set)', () => {
  assert.deepEqual(historyRelation([initial], [initial]), {kind: 'same'})
  assert.deepEqual(historyRelation([], []), {kind: 'same'})
  assert.deepEqual(historyRelation([initial], []), {kind: 'same'}, 'no history file is timeline 1')
  assert.deepEqual(historyRelation([initial], [initial, promoted(5n)]), {kind: 'ahead'})
  assert.deepEqual(historyRelation([initial, promoted(5n)], [initial]), {kind: 'behind', next: promoted(5n)})
  assert.deepEqual(historyRelation([initial, promoted(5n)], []), {kind: 'behind', next: promoted(5n)})
  assert.deepEqual(historyRelation([initial, promoted(5n)], [initial, promoted(6n)]), {kind: 'forked', at: 1})
  assert.deepEqual(historyRelation([initial, promoted(5n)], [initial, promoted(5n, 21n)]), {kind: 'forked', at: 1}, 'two promotions at the same LSN still differ by their time')
  assert.deepEqual(historyRelation([initial], [{...initial, created_at_unix_ms: 11n}]), {kind: 'forked', at: 0})
})

test('merge: a member carries the facts on; another size, a forked history or a left-behind node is refused naming both sides', () => {
  const merged = mergeRepoFacts(facts(), nodeFacts({history: [initial, promoted(5n)], writer: {host: 'b', data_path: '/b/data.rdb', timeline: 2n, unix_ms: 5n}}), 'db', 'repo/db/replica-set.facts')
  assert.deepEqual([merged.history.length, merged.last_writer.host, merged.segment_bytes_from, merged.created_unix_ms], [2, 'b', {timeline: 1n, index: 1n}, 1n])
  const refusal = (f: () => unknown, pattern: RegExp, code: string) =>
    assert.throws(f, (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && error.code === code && pattern.test(error.message))
  refusal(() => mergeRepoFacts(facts(), nodeFacts({segment_bytes: 64n * MiB}), 'db', 'F'), /the repository \(last pushed by a:\/a\/data\.rdb on timeline 1\) has WAL segments of 268435456 bytes .* this node \(\/b\/data\.rdb, timeline 1\) has 67108864/, 'repo.identity')
  refusal(() => mergeRepoFacts(facts({history: [initial, promoted(5n)]}), nodeFacts({history: [initial, promoted(9n)]}), 'db', 'F'), /histories fork: .* has timeline 2 forked from 1 at LSN 5 .* has timeline 2 forked from 1 at LSN 9/, 'repo.identity')
  refusal(() => mergeRepoFacts(facts({history: [initial, promoted(5n)]}), nodeFacts(), 'db', 'F'), /on timeline 1, which the replica set left at LSN 5 for timeline 2/, 'repo.timeline-behind')
  refusal(() => mergeRepoFacts(facts({namespace: 'other'}), nodeFacts(), 'db', 'F'), /names namespace other, not db/, 'repo.identity')
  // The first push of a namespace takes the node's facts as they are.
  assert.equal(mergeRepoFacts(null, nodeFacts({segment_bytes: null, segment_bytes_from: null}), 'db', 'F').segment_bytes, null)
})

test('a 1.23 replica set stays 1.23 whatever a member\'s format-1 file shows', () => {
  assert.equal(newerRelease('reddb-1.23', 'reddb-1.12'), 'reddb-1.23')
  assert.equal(newerRelease('reddb-1.12', 'reddb-1.23'), 'reddb-1.23')
  assert.equal(newerRelease(null, 'reddb-1.12'), 'reddb-1.12')
  assert.equal(mergeRepoFacts(facts(), nodeFacts({rdb_release: 'reddb-1.12'}), 'db', 'F').rdb_release, 'reddb-1.23')
})

test('a --segment-bytes that contradicts the facts is refused; one that agrees, or where they know none, is taken', () => {
  assert.deepEqual(factsSegmentBytes(facts(), 256n * MiB, 'F'), {segment_bytes: 256n * MiB, source: 'repository'})
  assert.deepEqual(factsSegmentBytes(facts(), undefined, 'F'), {segment_bytes: 256n * MiB, source: 'repository'})
  assert.throws(() => factsSegmentBytes(facts(), 64n * MiB, 'F'), /records WAL segments of 268435456 bytes \(from the header of segment 1 of timeline 1\), not 67108864/)
  assert.deepEqual(factsSegmentBytes(facts({segment_bytes: null, segment_bytes_from: null}), 64n * MiB, 'F'), {segment_bytes: 64n * MiB, source: 'flag'})
  assert.deepEqual(factsSegmentBytes(null, undefined, 'F'), {unknown: true})
})
