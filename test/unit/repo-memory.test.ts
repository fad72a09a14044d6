import assert from 'node:assert/strict'
import {test} from 'node:test'

import {faultOf, isAbsent} from '../../src/core/repo/backend.js'
import {collect} from '../../src/core/repo/integrity.js'
import {MemoryBackend} from '../../src/core/repo/memory.js'

/** What the in-memory store adds to the suite every store passes: its bound. */

const fill = (n: number) => new Uint8Array(n).fill(7)
async function* endless(): AsyncGenerator<Uint8Array> {
  const piece = fill(64 * 1024)
  for (;;) yield piece
}

test('memory: a put that would pass the cap is refused as its bytes pass it, even from a body that never ends, and leaves nothing', async () => {
  const store = new MemoryBackend('cap', {maxBytes: 1 << 20})
  await store.put('n/a', async function* () {
    yield fill(600_000)
  }, {size: 600_000n, checksum: 0})
  await assert.rejects(store.put('n/b', endless, {size: 1n << 40n, checksum: 0}), (error: any) => error.code === 'repo.store-full' && faultOf(error) === 'other' && /more than its 1048576 bytes/.test(error.message))
  assert.equal(store.storedBytes, 600_000, 'the refused put gave its reserved bytes back')
  assert.equal(await store.stat('n/b'), null)
  // A replacement is held beside the object it replaces until it is whole, then frees the old bytes; deleting frees them too.
  await store.put('n/a', async function* () {
    yield fill(400_000)
  }, {size: 400_000n, checksum: 0})
  assert.equal(store.storedBytes, 400_000)
  await assert.rejects(store.put('n/a', async function* () {
    yield fill(700_000)
  }, {size: 700_000n, checksum: 0}), /more than its 1048576 bytes/)
  assert.equal((await store.stat('n/a'))?.size, 400_000n, 'the object a refused put would have replaced stays')
  await store.delete('n/a')
  assert.equal(store.storedBytes, 0)
  await assert.rejects(collect(store.get('n/a'), 10n, 'a'), (error) => isAbsent(error) && (error as any).exitCode === 6)
})

test('memory: the time a listing shows is the store clock\'s when the put completed', async () => {
  let now = 1_700_000_000_000n
  const store = new MemoryBackend('clock', {now: () => now})
  await store.put('k', async function* () {
    yield fill(3)
  }, {size: 3n, checksum: 0})
  now += 5n
  const listed = []
  for await (const object of store.list('')) listed.push(object)
  assert.deepEqual(listed, [{key: 'k', size: 3n, modified_unix_ms: 1_700_000_000_000n}])
})
