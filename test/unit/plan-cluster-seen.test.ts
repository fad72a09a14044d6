import assert from 'node:assert/strict'
import {test} from 'node:test'

import {lastSeen} from '../../src/core/plan/cluster-seen.js'

const nodes = (...reached: Array<[string, boolean]>) => reached.map(([name, answered]) => ({name, reached: answered}))

test('lastSeen: now for the nodes that answered, the kept time for the others, null for a node never seen', () => {
  const seen = lastSeen(nodes(['p', false], ['ra', true], ['new', false]), new Map([['p', 10n], ['ra', 20n], ['gone', 5n]]), 100n)
  assert.deepEqual(seen.last_seen_unix_ms, [10n, 100n, null])
  // A node no longer listed keeps its time: it may be listed again.
  assert.deepEqual([...seen.next], [['p', 10n], ['ra', 100n], ['gone', 5n]])
  assert.equal(seen.changed, true)
})

test('lastSeen: nothing to write when no node answered, or when the clock stands still', () => {
  assert.equal(lastSeen(nodes(['p', false]), new Map([['p', 10n]]), 100n).changed, false)
  assert.equal(lastSeen(nodes(['p', true]), new Map([['p', 100n]]), 100n).changed, false)
})

test('lastSeen: a clock set back keeps the later time', () => {
  const seen = lastSeen(nodes(['p', true]), new Map([['p', 500n]]), 100n)
  assert.deepEqual(seen.last_seen_unix_ms, [500n])
  assert.equal(seen.changed, false)
})
