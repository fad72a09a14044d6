import assert from 'node:assert/strict'
import {test} from 'node:test'

import {RepoKeys} from '../../src/core/repo/keys.js'

// The names docs/repository.md promises, spelled out: the one place they are
// written as literals; every other test names a repository object through RepoKeys.

test('repository keys mirror the node\'s layout under its namespace, as docs/repository.md lists them', () => {
  const keys = new RepoKeys('db1')
  assert.equal(keys.facts, 'db1/replica-set.facts')
  assert.equal(keys.status, 'db1/push-status.facts')
  assert.equal(keys.history, 'db1/timeline-history.redtimeline')
  assert.equal(keys.manifest(1n, 0n, 5242882n), 'db1/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase')
  assert.equal(keys.pieceIndex(keys.manifest(1n, 0n, 5242882n)), 'db1/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase.pieces')
  assert.equal(keys.chunk(2n, 'base-00000000000000000000-00000000000000000010.redbase.parts/00000000000000000003.redchunk'), 'db1/timeline-00000000000000000002/basebackup/base-00000000000000000000-00000000000000000010.redbase.parts/00000000000000000003.redchunk')
  assert.equal(keys.wal(1n, 2n), 'db1/timeline-00000000000000000001/wal/00000000000000000002.redwal')
  const sha = 'ab'.padEnd(64, '0')
  assert.equal(keys.piece(sha), `db1/pieces/ab/${sha}.redpiece`)
})

test('a listed key is classified by its name; a chunk, a piece and a stray name are "other"', () => {
  const keys = new RepoKeys('db1')
  assert.deepEqual(keys.classify('db1/timeline-history.redtimeline'), {kind: 'history'})
  assert.deepEqual(keys.classify('db1/timeline-00000000000000000003/wal/00000000000000000007.redwal'), {kind: 'wal', timeline: 3n, index: 7n})
  assert.deepEqual(keys.classify('db1/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase'), {kind: 'manifest', timeline: 1n, start_lsn: 0n, checkpoint_lsn: 5242882n})
  for (const other of ['db1/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase.parts/00000000000000000000.redchunk', `db1/pieces/ab/${'ab'.padEnd(64, '0')}.redpiece`, 'db2/timeline-00000000000000000001/wal/00000000000000000001.redwal', 'db1/stray']) {
    assert.deepEqual(keys.classify(other), {kind: 'other'}, other)
  }
})
