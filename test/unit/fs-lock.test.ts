import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {acquireLayoutLock} from '../../src/core/fs/lock.js'
import {processStartTime} from '../../src/core/fs/processes.js'
import {useScratch} from '../support/cli.js'
import {stop} from '../support/node.js'

const scratch = useScratch()

async function lockPath() {
  const temp = {dir: await scratch.dir()}
  return path.join(temp.dir, '.redrepl.lock')
}

test('a held lock refuses a second holder with kind "locked"; release frees it', async () => {
  const file = await lockPath()
  const lock = await acquireLayoutLock(file, {command: 'first'})
  await assert.rejects(acquireLayoutLock(file, {command: 'second'}), (error: unknown) => error instanceof RedreplError && error.kind === 'locked' && /redrepl first/.test(error.message))
  await lock.release()
  assert.ok(!existsSync(file))
  await (await acquireLayoutLock(file, {command: 'third'})).release()
})

test('a dead holder, or a recycled pid with another start time, does not block', async () => {
  const file = await lockPath()
  const child = spawn('true')
  await new Promise((resolve) => child.once('exit', resolve))
  writeFileSync(file, JSON.stringify({pid: child.pid, hostname: os.hostname(), command: 'crashed', acquired_at: 'then'}))
  await (await acquireLayoutLock(file, {command: 'next'})).release()
  writeFileSync(file, JSON.stringify({pid: process.pid, start_time: '1', hostname: os.hostname(), command: 'recycled', acquired_at: 'then'}))
  assert.notEqual(processStartTime(process.pid), '1')
  await (await acquireLayoutLock(file, {command: 'next'})).release()
})

test('a live holder is waited for when asked', async () => {
  const file = await lockPath()
  const holder = spawn('sleep', ['30'])
  writeFileSync(file, JSON.stringify({pid: holder.pid, start_time: processStartTime(holder.pid!), hostname: os.hostname(), command: 'slow', acquired_at: 'now'}))
  setTimeout(() => void stop(holder), 300)
  const lock = await acquireLayoutLock(file, {command: 'patient', wait: 10_000})
  assert.match(readFileSync(file, 'utf8'), /patient/)
  await lock.release()
})

test('many contenders for a stale lock: never two holders at once', async () => {
  const file = await lockPath()
  writeFileSync(file, JSON.stringify({pid: 999_999_999, hostname: os.hostname(), command: 'ghost', acquired_at: 'then'}))
  const script = `import('${path.resolve('dist/src/core/fs/lock.js')}').then(async ({acquireLayoutLock}) => {
    try { const lock = await acquireLayoutLock(${JSON.stringify(file)}, {command: 'c'}); const from = Date.now(); await new Promise((r) => setTimeout(r, 400)); const to = Date.now(); await lock.release(); console.log('won ' + from + ' ' + to) }
    catch (error) { console.log(error.kind) } })`
  const runs = await Promise.all(
    Array.from({length: 6}, () => new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['-e', script])
      let out = ''
      child.stdout.on('data', (chunk) => (out += chunk))
      child.once('exit', () => resolve(out.trim()))
    })),
  )
  assert.ok(runs.every((r) => r.startsWith('won ') || r === 'locked'), runs.join(','))
  const held = runs.filter((r) => r.startsWith('won ')).map((r) => r.split(' ').slice(1).map(Number)).sort((a, b) => a[0] - b[0])
  assert.ok(held.length >= 1)
  for (let i = 1; i < held.length; i++) assert.ok(held[i][0] >= held[i - 1][1], `holders overlap: ${JSON.stringify(held)}`)
})
