import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {copyFileAtomic, removeUnfinishedTempsSync, writeFileAtomic, writeStreamAtomic} from '../../src/core/fs/atomic.js'
import {useScratch} from '../support/cli.js'

/**
 * The temps of writes still in flight are what a run ending on a signal
 * removes (ui/interrupt.ts): exactly those, never a file already in place.
 */

const scratch = useScratch()

test('the temp of a write in flight is removed; files in place and finished writes are not touched', async () => {
  const dir = await scratch.dir()
  await writeFileAtomic(path.join(dir, 'done.rdb'), 'whole')
  let release!: () => void
  const held = new Promise<void>((resolve) => (release = resolve))
  let started!: () => void
  const inFlight = new Promise<void>((resolve) => (started = resolve))
  const writing = writeStreamAtomic(path.join(dir, 'x.rdb'), async (handle) => {
    await handle.writeFile('partial')
    started()
    await held
  })
  await inFlight
  const [temp] = readdirSync(dir).filter((name) => name.endsWith('.tmp'))
  assert.match(temp, /^x\.rdb\.\d+-[0-9a-f]{16}\.tmp$/)
  assert.deepEqual(removeUnfinishedTempsSync(), [path.join(dir, temp)])
  assert.deepEqual(readdirSync(dir).sort(), ['done.rdb'])
  assert.equal(readFileSync(path.join(dir, 'done.rdb'), 'utf8'), 'whole')
  // The interrupted write itself then fails without a target, as the run ends anyway.
  release()
  await assert.rejects(writing)
  assert.ok(!existsSync(path.join(dir, 'x.rdb')))
  assert.deepEqual(removeUnfinishedTempsSync(), [], 'nothing is left to remove')
})

test('a finished or failed write leaves nothing for the interrupted run to remove', async () => {
  const dir = await scratch.dir()
  await writeFileAtomic(path.join(dir, 'a'), 'a')
  await assert.rejects(writeStreamAtomic(path.join(dir, 'b'), async () => Promise.reject(new Error('no'))))
  await assert.rejects(copyFileAtomic(path.join(dir, 'c'), 9999, async () => {}))
  assert.deepEqual(removeUnfinishedTempsSync(), [])
  assert.deepEqual(readdirSync(dir), ['a'])
})
