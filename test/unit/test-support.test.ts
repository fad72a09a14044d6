import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {test} from 'node:test'

import {useScratch} from '../support/cli.js'
import {interruptCli} from '../support/interrupt.js'
import {inCi, lacks} from '../support/syscalls.js'
import {MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

test('a test lacking a tool fails in CI instead of skipping, and skips elsewhere', async (t) => {
  assert.equal(inCi({CI: 'true'}), true)
  assert.equal(inCi({}), false)
  assert.throws(() => lacks(t, 'strace is not installed', {CI: 'true'}), /strace is not installed, but CI must run this test/)
  assert.equal(lacks(t, null, {CI: 'true'}), false)
  await t.test('outside CI the lacking test is skipped', (sub) => {
    assert.equal(lacks(sub, 'strace is not installed', {}), true)
  })
})

test('interruptCli fails a run that ends before the point to interrupt it, rather than reporting a signal it never got', async () => {
  await assert.rejects(interruptCli(['--version'], {when: () => false, signals: ['SIGTERM']}), /--version finished before it could be interrupted/)
  const allowed = await interruptCli(['--version'], {when: () => false, signals: ['SIGKILL'], finishedFirst: 'allow'})
  assert.deepEqual([allowed.exitCode, allowed.signal], [0, null])
})

test('interruptCli gives up at its timeout and leaves no run behind', async () => {
  const dir = await scratch.dir('redrepl-interrupt-helper-')
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {0: 1}, slots: null})
  // Waiting for its batch on a stdin left open: it would run until killed.
  const waiting = ['relay', 'append', '--data-path', data, '--replica', 'r1', '--applied-lsn', '0', '--create']
  const started = performance.now()
  await assert.rejects(interruptCli(waiting, {when: () => false, signals: ['SIGTERM'], input: new Uint8Array(0), timeoutMs: 1500, point: 'a point that never comes'}), /relay append never got to a point that never comes/)
  assert.ok(performance.now() - started < 15_000, 'bounded by its timeout')
  const running = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(data)
    } catch {
      return false
    }
  })
  assert.deepEqual(running, [], 'the run it gave up on is gone')
})
