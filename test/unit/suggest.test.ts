import assert from 'node:assert/strict'
import {test} from 'node:test'

import {editDistance, suggest} from '../../src/ui/suggest.js'

test('edit distance counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
  assert.equal(editDistance('plan', 'plan'), 0)
  assert.equal(editDistance('plam', 'plan'), 1)
  assert.equal(editDistance('pln', 'plan'), 1)
  assert.equal(editDistance('paln', 'plan'), 1)
  assert.equal(editDistance('', 'abc'), 3)
})

test('suggestions stay near: short words allow one edit, nothing far away is offered', () => {
  assert.deepEqual(suggest('jsn', ['json', 'wait', 'quiet']), ['json'])
  assert.deepEqual(suggest('segmnt-bytes', ['segment-bytes', 'max-bytes']), ['segment-bytes'])
  assert.deepEqual(suggest('xyzzy', ['json', 'wait']), [])
  assert.deepEqual(suggest('wal plam', ['wal plan', 'wal dump', 'wal prune']), ['wal plan'])
})
