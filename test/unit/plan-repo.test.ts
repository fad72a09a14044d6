import assert from 'node:assert/strict'
import {test} from 'node:test'

import {orphanCandidates, planOrphans, planRepoExpire} from '../../src/core/plan/repo-expire.js'
import {NOT_ARCHIVED_REASON, unarchivedSegments, walCoverage, walCoveredFrom} from '../../src/core/plan/repo-wal.js'

const S = 1_048_576n

test('coverage finds runs and gaps; a backup is covered only by the newest run holding its checkpoint segment', () => {
  const wal = walCoverage(1n, [5n, 0n, 1n, 3n, 2n, 7n, 8n], S)
  assert.deepEqual(wal.runs, [{first_index: 0n, last_index: 3n}, {first_index: 5n, last_index: 5n}, {first_index: 7n, last_index: 8n}])
  assert.deepEqual(wal.gaps, [{first_index: 4n, last_index: 4n}, {first_index: 6n, last_index: 6n}])
  assert.deepEqual([wal.from_lsn, wal.to_lsn], [0n, 9n * S])
  assert.equal(walCoveredFrom(wal, 7n * S + 5n, S), true)
  assert.equal(walCoveredFrom(wal, 2n * S, S), false, 'segments 4 and 6 are missing after it')
  assert.equal(walCoveredFrom(wal, 9n * S, S), false, 'its segment is not archived yet')
  assert.equal(walCoveredFrom(undefined, 0n, S), false)
})

test('unarchived segments: missing ones and ones archived with another size, each with the reason', () => {
  const local = [{index: 1n, bytes: 100n}, {index: 2n, bytes: 200n}, {index: 3n, bytes: 300n}]
  const archived = new Map([[1n, 100n], [2n, 150n]])
  assert.deepEqual(unarchivedSegments(local, archived), [{index: 2n, reason: NOT_ARCHIVED_REASON}, {index: 3n, reason: NOT_ARCHIVED_REASON}])
  assert.deepEqual(unarchivedSegments(local, new Map([[1n, 100n], [2n, 200n], [3n, 300n]])), [])
})

const backup = (timeline: bigint, checkpoint: bigint, usable = true) => ({id: `${timeline}/${checkpoint}`, timeline, checkpoint_lsn: checkpoint, taken_unix_ms: checkpoint, usable_for_catchup: usable})
const segments = (timeline: bigint, ...indexes: bigint[]) => indexes.map((index) => ({key: `${timeline}/${index}`, timeline, index}))

test('expire deletes WAL only below the oldest kept backup\'s checkpoint segment, and on older timelines', () => {
  const plan = planRepoExpire({
    backups: [backup(1n, 2n * S + 7n), backup(2n, 5n * S), backup(2n, 6n * S + 1n)],
    wal: [...segments(1n, 0n, 1n, 2n, 3n), ...segments(2n, 3n, 4n, 5n, 6n)],
    policy: {keepLast: 2},
    nowMs: 0n,
    segmentBytes: S,
  })
  assert.deepEqual(plan.backups.map((v) => v.action), ['delete', 'keep', 'keep'])
  assert.deepEqual(plan.wal_floor, {timeline: 2n, index: 5n})
  assert.deepEqual(plan.wal_delete.map((w) => w.key), ['1/0', '1/1', '1/2', '1/3', '2/3', '2/4'])
  assert.match(plan.wal_delete[0].reason, /timeline older than 2/)
  assert.match(plan.wal_delete[4].reason, /before segment 5 of timeline 2/)
  assert.equal(plan.wal_kept, 2)
})

test('expire keeps the newest usable backup and its WAL even when the policy would drop it', () => {
  const plan = planRepoExpire({
    backups: [backup(1n, 1n * S), backup(1n, 3n * S, false)],
    wal: segments(1n, 0n, 1n, 2n, 3n),
    policy: {keepLast: 1},
    nowMs: 0n,
    segmentBytes: S,
  })
  assert.deepEqual(plan.backups.map((v) => [v.action, v.reason]), [['keep', 'newest usable backup: never expired'], ['keep', 'among the 1 newest']])
  assert.deepEqual(plan.wal_delete.map((w) => w.index), [0n])
})

test('with no backup at all, expire deletes no WAL', () => {
  const plan = planRepoExpire({backups: [], wal: segments(1n, 0n, 1n), policy: {keepLast: 1}, nowMs: 0n, segmentBytes: S})
  assert.deepEqual([plan.wal_delete, plan.wal_kept, plan.wal_floor], [[], 2, null])
})

test('holds: not archived wins over the backup hold, which runs from the checkpoint\'s segment on', async () => {
  const {walHolds} = await import('../../src/core/plan/repo-wal.js')
  const segments = [0n, 1n, 2n, 3n, 4n].map((index) => ({index, bytes: 100n}))
  const holds = walHolds({segments, archived: new Map([[0n, 100n], [1n, 100n], [2n, 99n], [4n, 100n]]), backupCheckpointLsn: 1n * S + 7n, segmentBytes: S})
  assert.deepEqual([...holds.entries()].sort((a, b) => Number(a[0] - b[0])), [
    [1n, 'base backup (checkpoint LSN 1048583)'],
    [2n, NOT_ARCHIVED_REASON],
    [3n, NOT_ARCHIVED_REASON],
    [4n, 'base backup (checkpoint LSN 1048583)'],
  ])
  assert.equal(walHolds({segments, archived: null, backupCheckpointLsn: null, segmentBytes: S}).size, 0, 'no repository, no flag: nothing held')
})

test('orphans: only unreferenced non-manifest objects of a basebackup area, collected once strictly older than the grace period', () => {
  const object = (key: string, modified: bigint) => ({key, size: 10n, modified_unix_ms: modified})
  const objects = [
    object('db1/t/basebackup/m.redbase', 0n),
    object('db1/t/basebackup/m.redbase.parts/0.redchunk', 0n),
    object('db1/t/basebackup/x.redbase.parts/0.redchunk', 0n),
    object('db1/t/basebackup/x.redbase.parts/1.redchunk', 940n),
    object('db1/t/basebackup/x.redbase.parts/2.redchunk', 900n),
    object('db1/t/wal/5.redwal', 0n),
  ]
  const candidates = orphanCandidates(objects, (key) => key.includes('/basebackup/'), (key) => key.endsWith('.redbase'), new Set(['db1/t/basebackup/m.redbase.parts/0.redchunk']))
  assert.deepEqual(candidates.map((c) => c.key), ['db1/t/basebackup/x.redbase.parts/0.redchunk', 'db1/t/basebackup/x.redbase.parts/1.redchunk', 'db1/t/basebackup/x.redbase.parts/2.redchunk'])
  const plan = planOrphans(candidates, 1000n, 100n)
  assert.deepEqual(plan.delete.map((o) => o.key), ['db1/t/basebackup/x.redbase.parts/0.redchunk'])
  assert.equal(plan.young, 2, 'one written within the grace period, one exactly at its edge')
  assert.match(plan.delete[0].reason, /^no manifest names it, and it was written more than .* ago$/)
})
