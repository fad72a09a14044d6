import assert from 'node:assert/strict'
import {test} from 'node:test'

import {inCi, lacks} from '../support/syscalls.js'

test('a test lacking a tool fails in CI instead of skipping, and skips elsewhere', async (t) => {
  assert.equal(inCi({CI: 'true'}), true)
  assert.equal(inCi({}), false)
  assert.throws(() => lacks(t, 'strace is not installed', {CI: 'true'}), /strace is not installed, but CI must run this test/)
  assert.equal(lacks(t, null, {CI: 'true'}), false)
  await t.test('outside CI the lacking test is skipped', (sub) => {
    assert.equal(lacks(sub, 'strace is not installed', {}), true)
  })
})
