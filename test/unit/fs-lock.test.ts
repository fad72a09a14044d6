import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, linkSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {acquireLayoutLock, describeHolder} from '../../src/core/fs/lock.js'
import {useScratch} from '../support/cli.js'
import {holdLayoutLock} from '../support/lock.js'
import {stop} from '../support/node.js'

const scratch = useScratch()

async function lockPath() {
  return path.join(await scratch.dir(), '.redrepl.lock')
}

const isLocked = (pattern: RegExp) => (error: unknown) => error instanceof RedreplError && error.kind === 'locked' && pattern.test(error.message) && !/undefined/.test(error.message)

async function elapsedMs(work: () => Promise<unknown>): Promise<number> {
  const from = Date.now()
  await work()
  return Date.now() - from
}

test('a held lock refuses a second holder, even in the same process, naming the holder; release frees it and keeps the file', async () => {
  const file = await lockPath()
  const lock = await acquireLayoutLock(file, {command: 'first'})
  await assert.rejects(acquireLayoutLock(file, {command: 'second'}), isLocked(new RegExp(`held by redrepl first \\(pid ${process.pid} on ${os.hostname()}, since `)))
  await lock.release()
  assert.ok(existsSync(file), 'the lock file is never deleted')
  assert.equal(readFileSync(file, 'utf8'), '', 'a released lock names nobody')
  await (await acquireLayoutLock(file, {command: 'third'})).release()
})

test('a held lock survives garbage collection even when the caller drops its handle', async () => {
  const file = await lockPath()
  const script = `const {acquireLayoutLock} = await import(${JSON.stringify(path.resolve('dist/src/core/fs/lock.js'))})
    await acquireLayoutLock(${JSON.stringify(file)}, {command: 'dropped'})
    for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)) }
    console.log(await acquireLayoutLock(${JSON.stringify(file)}, {command: 'second'}).then(() => 'lost', (error) => error.kind))`
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {encoding: 'utf8'})
  assert.equal(out.trim(), 'locked')
})

test('a lock held by a process that is killed (SIGKILL) is free at once', async () => {
  const file = await lockPath()
  const holder = await holdLayoutLock(file, 'doomed')
  await assert.rejects(acquireLayoutLock(file, {command: 'next'}), isLocked(/held by redrepl doomed \(pid \d+ /))
  await stop(holder)
  const lock = await acquireLayoutLock(file, {command: 'next'})
  assert.match(readFileSync(file, 'utf8'), /"command":"next"/)
  await lock.release()
})

test('the content never decides: garbage, empty, partial, live-looking or foreign records block nothing when nobody holds the lock', async () => {
  const file = await lockPath()
  const live = spawn('sleep', ['30'])
  try {
    const contents = [
      'null',
      '42',
      '[]',
      '{"pid":1}',
      '',
      '{"pid":',
      '\u0000\u0001garbage',
      JSON.stringify({pid: live.pid, hostname: os.hostname(), command: 'looks alive', acquired_at: 'now'}),
      JSON.stringify({pid: 999_999_999, hostname: 'another-host', command: 'elsewhere', acquired_at: 'then'}),
    ]
    for (const content of contents) {
      writeFileSync(file, content)
      const lock = await acquireLayoutLock(file, {command: 'next'})
      assert.match(readFileSync(file, 'utf8'), /"command":"next"/, `after ${JSON.stringify(content)}`)
      await lock.release()
    }
  } finally {
    await stop(live)
  }
})

test('a contender that reads an empty, partial or garbage lock file while the lock is held is still excluded, with a clear message', async () => {
  const file = await lockPath()
  const holder = await holdLayoutLock(file)
  try {
    const cases: Array<[string, RegExp]> = [
      ['', /held by another redrepl run \(it has not recorded itself yet\)$/],
      ['{"pid":', /held by another process \(the lock file holds no readable record\)$/],
      ['null', /held by another process \(the lock file holds no readable record\)$/],
      ['42', /held by another process/],
      ['[]', /held by another process/],
      ['{"pid":1}', /held by a redrepl run \(pid 1 on unknown host, since unknown\)$/],
      [JSON.stringify({pid: 999_999_999, hostname: 'another-host', command: 'elsewhere', acquired_at: 'then'}), /held by redrepl elsewhere \(pid 999999999 on another-host, since then\)$/],
    ]
    for (const [content, message] of cases) {
      writeFileSync(file, content)
      const ms = await elapsedMs(() => assert.rejects(acquireLayoutLock(file, {command: 'contender', wait: 200}), isLocked(message), `content ${JSON.stringify(content)}`))
      assert.ok(ms < 2000, `content ${JSON.stringify(content)}: took ${ms} ms`)
    }
  } finally {
    await stop(holder)
  }
})

test('a holder record renders defensively', () => {
  assert.equal(describeHolder(' \n'), 'another redrepl run (it has not recorded itself yet)')
  assert.equal(describeHolder('{"pid":"7","command":42,"hostname":"","acquired_at":null}'), 'a redrepl run (pid unknown on unknown host, since unknown)')
  assert.equal(describeHolder('{"pid":-3,"command":"wal prune"}'), 'redrepl wal prune (pid unknown on unknown host, since unknown)')
  assert.ok(describeHolder(JSON.stringify({pid: 1, command: 'x'.repeat(10_000)})).length < 300, 'a long field is clipped')
})

test('a run that waits gets the lock when the holder ends; one that runs out of time fails with "locked"', async () => {
  const file = await lockPath()
  const holder = await holdLayoutLock(file, 'slow')
  setTimeout(() => void stop(holder), 300)
  const lock = await acquireLayoutLock(file, {command: 'patient', wait: 10_000})
  assert.match(readFileSync(file, 'utf8'), /patient/)
  const ms = await elapsedMs(() => assert.rejects(acquireLayoutLock(file, {command: 'late', wait: 400}), isLocked(/held by redrepl patient/)))
  assert.ok(ms >= 400 && ms < 3000, `waited ${ms} ms`)
  await lock.release()
})

test('what is at the lock path must be a regular file of its own: a FIFO, a link, a directory or a hard link is refused at once, even when asked to wait', async () => {
  const dir = await scratch.dir()
  const outside = path.join(dir, 'outside.txt')
  writeFileSync(outside, 'keep me')
  const cases: Array<[string, (file: string) => void, RegExp]> = [
    ['fifo', (file) => execFileSync('mkfifo', [file]), /: is a FIFO, not the regular file redrepl locks$/],
    ['dangling', (file) => symlinkSync(path.join(dir, 'nowhere'), file), /: is a symbolic link, not the regular file redrepl locks$/],
    ['link', (file) => symlinkSync(outside, file), /: is a symbolic link, not the regular file redrepl locks$/],
    ['directory', (file) => mkdirSync(file), /: is a directory, not the regular file redrepl locks$/],
    ['hard link', (file) => linkSync(outside, file), /: is a hard link to another file, not the regular file redrepl locks$/],
  ]
  for (const [name, plant, message] of cases) {
    const file = path.join(dir, `${name}.lock`)
    plant(file)
    const ms = await elapsedMs(() =>
      assert.rejects(acquireLayoutLock(file, {command: 'c', wait: 10_000}), (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && error.message.startsWith(file) && message.test(error.message)),
    )
    assert.ok(ms < 2000, `${name}: took ${ms} ms`)
  }
  assert.equal(readFileSync(outside, 'utf8'), 'keep me')
})

test('a lock file replaced while a contender waits: the contender locks the file at the path, not the orphan', async () => {
  const file = await lockPath()
  const holder = await holdLayoutLock(file)
  const waiting = acquireLayoutLock(file, {command: 'waiter', wait: 10_000})
  await new Promise((resolve) => setTimeout(resolve, 200))
  renameSync(file, `${file}.old`)
  await stop(holder)
  const lock = await waiting
  assert.match(readFileSync(file, 'utf8'), /waiter/, 'the record is in the file at the path')
  await assert.rejects(acquireLayoutLock(file, {command: 'third'}), isLocked(/held by redrepl waiter/))
  await lock.release()
})

test('many processes contending with --wait: all get the lock, never two at once', async () => {
  const file = await lockPath()
  const lockModule = path.resolve('dist/src/core/fs/lock.js')
  const script = `import(${JSON.stringify(lockModule)}).then(async ({acquireLayoutLock}) => {
    try { const lock = await acquireLayoutLock(${JSON.stringify(file)}, {command: 'c', wait: 20000}); const from = Date.now(); await new Promise((r) => setTimeout(r, 100)); const to = Date.now(); await lock.release(); console.log('won ' + from + ' ' + to) }
    catch (error) { console.log(error.kind) } })`
  const runs = await Promise.all(
    Array.from(
      {length: 8},
      () =>
        new Promise<string>((resolve) => {
          const child = spawn(process.execPath, ['-e', script])
          let out = ''
          child.stdout.on('data', (chunk) => (out += chunk))
          child.once('exit', () => resolve(out.trim()))
        }),
    ),
  )
  assert.ok(
    runs.every((r) => r.startsWith('won ')),
    runs.join(','),
  )
  const held = runs.map((r) => r.split(' ').slice(1).map(Number)).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < held.length; i++) assert.ok(held[i][0] >= held[i - 1][1], `holders overlap: ${JSON.stringify(held)}`)
})
