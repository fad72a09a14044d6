import assert from 'node:assert/strict'
import type {FileHandle} from 'node:fs/promises'
import {test} from 'node:test'

import {FlushBehind} from '../../src/core/fs/flush-behind.js'

/** A file handle whose datasyncs are counted and complete when told to. */
function fakeHandle() {
  const pending: Array<{resolve: () => void; reject: (error: Error) => void}> = []
  const handle = {datasync: () => new Promise<void>((resolve, reject) => pending.push({resolve, reject}))} as unknown as FileHandle
  return {handle, pending}
}

test('a flush starts every N bytes written, never two at once', async () => {
  const {handle, pending} = fakeHandle()
  const flush = new FlushBehind(handle, 100)
  flush.wrote(60)
  assert.equal(pending.length, 0)
  flush.wrote(60)
  assert.equal(pending.length, 1)
  // Still flushing: more bytes do not start a second flush.
  flush.wrote(500)
  assert.equal(pending.length, 1)
  pending[0].resolve()
  await flush.settle()
  flush.wrote(100)
  assert.equal(pending.length, 2)
  pending[1].resolve()
  await flush.settle()
})

test('a failed flush is reported by the next write or by settle', async () => {
  const {handle, pending} = fakeHandle()
  const flush = new FlushBehind(handle, 10)
  flush.wrote(10)
  pending[0].reject(Object.assign(new Error('EIO'), {code: 'EIO'}))
  await assert.rejects(flush.settle(), /EIO/)
  assert.throws(() => flush.wrote(1), /EIO/)
})
