import assert from 'node:assert/strict'
import {test} from 'node:test'

import {createPace} from '../../src/core/fs/pace.js'
import {TokenBucket} from '../../src/core/token-bucket.js'
import {InterruptedError} from '../../src/core/errors.js'
import {parseRate} from '../../src/ui/numbers.js'

const MiB = 1024 * 1024

test('the bucket starts empty: the first bytes already wait their share of a second', () => {
  const bucket = new TokenBucket(100, 1000, 0)
  assert.equal(bucket.take(50, 0), 500)
})

test('over any stretch the bytes let through stay within the rate', () => {
  // A consumer that takes 10 bytes, waits what it is told, and takes again: 10 s at 100 B/s pass 1000 bytes, not more.
  const bucket = new TokenBucket(100, 20, 0)
  let now = 0
  let passed = 0
  while (now < 10_000) {
    now += bucket.take(10, now)
    if (now <= 10_000) passed += 10
  }
  assert.ok(passed <= 1000 + 20, `${passed} bytes in 10 s at 100 B/s`)
  assert.ok(passed >= 990, `${passed} bytes: the limit is also reached`)
})

test('an idle stretch saves up no more than the burst', () => {
  const bucket = new TokenBucket(100, 30, 0)
  assert.equal(bucket.take(0, 60_000), 0)
  assert.equal(bucket.take(30, 60_000), 0)
  assert.equal(bucket.take(10, 60_000), 100, 'a minute idle bought 30 bytes, not 6000')
})

test('a piece larger than the burst runs into debt that later takers wait off', () => {
  const bucket = new TokenBucket(1000, 10, 0)
  assert.equal(bucket.take(500, 0), 500)
  assert.equal(bucket.take(500, 0), 1000, 'two takers at once wait one after the other')
  assert.equal(bucket.take(0, 1000), 0, 'the debt is paid off once the time has passed')
})

test('a clock that steps back neither adds tokens nor takes them away', () => {
  const bucket = new TokenBucket(100, 1000, 1000)
  assert.equal(bucket.take(100, 2000), 0)
  assert.equal(bucket.take(50, 500), 500)
})

test('a rate or burst of 0 is refused, not a division by zero', () => {
  assert.throws(() => new TokenBucket(0, 10, 0), RangeError)
  assert.throws(() => new TokenBucket(10, 0, 0), RangeError)
})

test('the pace sleeps as long as the bucket says, and not when tokens are saved up', async () => {
  let now = 0
  const pace = createPace({maxRate: 10 * MiB, clock: () => now})
  const started = performance.now()
  await pace.pass(MiB)
  const slept = performance.now() - started
  assert.ok(slept >= 95 && slept < 1000, `1 MiB at 10 MiB/s waited ${slept} ms, not 100`)
  now = 10_000
  assert.equal(pace.pass(1024), undefined, 'tokens saved up: no wait, no turn of the event loop')
})

test('an interrupt ends a throttled wait at once, with the signal\'s own reason', async () => {
  const controller = new AbortController()
  const pace = createPace({maxRate: 1, signal: controller.signal, clock: () => 0})
  const started = performance.now()
  const waiting = pace.pass(3600)
  assert.ok(waiting !== undefined, 'an hour of bytes at 1 B/s waits')
  const reason = new InterruptedError('SIGINT')
  setTimeout(() => controller.abort(reason), 20)
  await assert.rejects(waiting, (error) => error === reason)
  assert.ok(performance.now() - started < 1000, 'the wait ended when the run was interrupted')
})

test('--max-rate takes sizes per second and refuses 0 and garbage', () => {
  assert.equal(parseRate('100MiB', 'max-rate'), 100 * MiB)
  assert.equal(parseRate('512KiB/s', 'max-rate'), 512 * 1024)
  assert.equal(parseRate('1GiB', 'max-rate'), 1024 * MiB)
  assert.equal(parseRate('4096', 'max-rate'), 4096)
  for (const bad of ['0', '0MiB', 'fast', '-5MiB', '1.5MiB', '', '10MiB/h']) {
    assert.throws(() => parseRate(bad, 'max-rate'), (error: Error & {kind?: string}) => error.kind === 'usage' && error.message.includes('--max-rate'), bad)
  }
})
