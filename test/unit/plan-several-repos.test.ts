import assert from 'node:assert/strict'
import {test} from 'node:test'

import {laggingRepositories, type RepoCheck} from '../../src/core/ops/monitoring/check-repo.js'
import {backupsAcross} from '../../src/core/ops/repo/set.js'
import {walHoldsAcross} from '../../src/core/plan/repo-wal.js'

const S = 1_048_576n
const segments = [0n, 1n, 2n, 3n].map((index) => ({index, bytes: S}))
const held = (...indexes: bigint[]) => new Map(indexes.map((index) => [index, S]))

test('a segment is held until every repository holds it with its size; the reason names each one that lacks it', () => {
  const holds = walHoldsAcross({segments, archived: [{name: 'local', segments: held(0n, 1n, 3n)}, {name: 'offsite', segments: held(0n, 3n)}], backupCheckpointLsn: null, segmentBytes: S})
  assert.deepEqual([...holds].sort(([a], [b]) => (a < b ? -1 : 1)), [
    [1n, 'not archived in offsite'],
    [2n, 'not archived in local, offsite'],
  ])
  const wrongSize = walHoldsAcross({segments, archived: [{name: 'local', segments: new Map([...held(0n, 1n, 2n, 3n), [2n, S - 1n]])}], backupCheckpointLsn: null, segmentBytes: S})
  assert.deepEqual([...wrongSize], [[2n, 'not archived in local']], 'another size is not this segment')
})

test('the backup hold stays where no repository lacks the segment', () => {
  const holds = walHoldsAcross({segments, archived: [{name: 'local', segments: held(0n, 1n, 2n)}], backupCheckpointLsn: 2n * S + 7n, segmentBytes: S})
  assert.deepEqual([...holds].sort(([a], [b]) => (a < b ? -1 : 1)), [
    [2n, 'base backup (checkpoint LSN 2097159)'],
    [3n, 'not archived in local'],
  ])
})

const repo = (name: string, lag: number | null, backup: [bigint, bigint] | null, reachable = true): RepoCheck & {name: string} => ({
  name,
  location: `/srv/${name}`,
  node: 'db1',
  reachable,
  archive_lag_segments: lag,
  archive_lag_bytes: lag === null ? null : BigInt(lag) * S,
  oldest_unarchived_age_ms: null,
  newest_archived_wal_unix_ms: null,
  newest_backup: backup === null ? null : {key: 'k', timeline: backup[0], checkpoint_lsn: backup[1], created_unix_ms: 0n, age_ms: 0n},
  drill: null,
  push: null,
})

test('repo.lagging names each repository behind the one furthest ahead, by WAL and by newest backup', () => {
  assert.deepEqual(laggingRepositories([repo('a', 0, [1n, 10n]), repo('b', 0, [1n, 10n])]), [], 'level: nothing')
  const wal = laggingRepositories([repo('a', 0, [1n, 10n]), repo('b', 2, [1n, 10n])])
  assert.deepEqual(wal.map((f) => [f.code, f.data.repository_name, f.data.wal_ahead_repository_name, f.data.wal_segments_behind, f.path]), [['repo.lagging', 'b', 'a', 2, '/srv/b']])
  // A newer timeline outranks a higher checkpoint on an older one.
  const backups = laggingRepositories([repo('a', 0, [2n, 5n]), repo('b', 0, [1n, 900n]), repo('c', 0, null)])
  assert.deepEqual(backups.map((f) => [f.data.repository_name, f.data.backup_ahead_repository_name, f.data.backup_ahead_checkpoint_lsn]), [['b', 'a', 5n], ['c', 'a', 5n]])
  assert.match(backups[1].message, /newest complete base backup none, a's at checkpoint 5/)
  assert.deepEqual(laggingRepositories([repo('a', 0, [1n, 10n]), repo('b', null, null, false)]), [], 'an unreachable one is not compared')
})

test('backups across repositories: each once in (timeline, checkpoint, start) order; a backup sharing a checkpoint but not a start is another; an unread repository is in no list', () => {
  const row = (timeline: bigint, start: bigint, checkpoint: bigint, complete = true) => ({timeline, start_lsn: start, checkpoint_lsn: checkpoint, complete})
  const across = backupsAcross([
    {repository_name: 'local', report: {backups: [row(2n, 0n, 5n), row(1n, 0n, 9n, false)]}},
    {repository_name: 'gone', report: null},
    {repository_name: 'offsite', report: {backups: [row(1n, 0n, 9n), row(1n, 3n, 9n), row(1n, 0n, 2n)]}},
  ])
  assert.deepEqual(
    across.map((b) => [b.timeline, b.start_lsn, b.checkpoint_lsn, b.complete_in, b.incomplete_in, b.missing_from]),
    [
      [1n, 0n, 2n, ['offsite'], [], ['local']],
      [1n, 0n, 9n, ['offsite'], ['local'], []],
      [1n, 3n, 9n, ['offsite'], [], ['local']],
      [2n, 0n, 5n, ['local'], [], ['offsite']],
    ],
  )
  assert.deepEqual(backupsAcross([{repository_name: 'gone', report: null}]), [], 'nothing read, nothing listed')
})
