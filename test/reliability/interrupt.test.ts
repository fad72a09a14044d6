import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdirSync, readdirSync, readlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {verifyLayout} from '../../src/core/ops/layout/verify.js'
import {assertStopped, interruptCli} from '../support/interrupt.js'
import {NOW_MS} from '../support/fixtures.js'
import {cliBinary, runCli, useScratch} from '../support/cli.js'
import {treeOf} from '../support/tree.js'

/**
 * SIGINT and SIGTERM in the middle of the long commands: they stop within
 * a couple of seconds, end by the signal (the shell's 130/143), remove
 * their own staging and temp files and nothing else, and a re-run ends
 * exactly where an uninterrupted run does.
 */

const scratch = useScratch()
const SNAPSHOT_BYTES = 64 * 1024 * 1024
/** Signal to exit, clean-up included: "promptly". */
const PROMPT_MS = 3000

/** A snapshot of 1 MiB of random bytes over and over (quick to make, still a real CRC per chunk). */
const snapshot = (() => {
  const block = randomBytes(1024 * 1024)
  const bytes = Buffer.alloc(SNAPSHOT_BYTES)
  for (let at = 0; at < SNAPSHOT_BYTES; at += block.length) block.copy(bytes, at)
  bytes.write('RDST')
  return bytes
})()
const databaseHead = createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS)

async function bigNode() {
  const dir = await scratch.dir('redrepl-interrupt-')
  const data = path.join(dir, 'data.rdb')
  mkdirSync(path.join(dir, 'data.primary-replica'))
  writeFileSync(data, Buffer.concat([databaseHead, snapshot]))
  return {dir, data}
}

const create = (data: string, checkpoint: string) => ['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', checkpoint, '--chunk-size', '1MiB']
const rebootstrap = (data: string) => ['basebackup', 'materialize', '--data-path', data, '--rebootstrap']

async function succeed(args: string[]): Promise<void> {
  const result = await runCli(args)
  assert.equal(result.exitCode, 0, `${args.slice(0, 2).join(' ')}: ${result.stderr}`)
}

/** Every file and directory under `dir` whose name marks it unfinished: a staging dir, a temp file. */
function unfinished(dir: string): string[] {
  return readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((entry) => /\.tmp\b/.test(path.basename(entry)))
}

/** Whether process `pid` has a base backup chunk open (a reader is in its streaming loop). */
function readingChunks(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith('.redchunk')
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

/**
 * Runs the CLI, waits until `midRun` says it is in the middle of its work,
 * then sends `signals` (a few ms apart). Fails when the run ends first.
 * Input, when given, is written and the pipe left open: the run then waits for more.
 */
const interrupt = (args: string[], signals: NodeJS.Signals[], midRun: (pid: number) => boolean, input?: Uint8Array) => interruptCli(args, {when: midRun, signals, input})

/** What every interrupted writer must leave: the tree as it was, nothing unfinished, a layout that verifies with no leftover. */
async function assertUntouched(dir: string, data: string, before: Record<string, string>, what: string): Promise<void> {
  assert.deepEqual(unfinished(dir), [], `${what}: unfinished files left`)
  assert.deepEqual(treeOf(dir), before, `${what}: files changed`)
  const findings = (await verifyLayout(data, NOW_MS)).findings
  assert.deepEqual(findings.filter((f) => f.severity !== 'note' || f.code.startsWith('leftover.')), [], what)
}

/** Whether a staging dir under `dir` holds a chunk already. */
const stagingAt = (dir: string) => () =>
  readdirSync(dir, {recursive: true, encoding: 'utf8'}).some((entry) => entry.endsWith('.redchunk') && /\.tmp-\d+-\d+$/.test(path.dirname(entry)))

test('create: SIGINT and SIGTERM mid-run remove its staging only, and a re-run ends as an uninterrupted run', async () => {
  const reference = await bigNode()
  await succeed(create(reference.data, '5'))
  await succeed(create(reference.data, '10'))
  const expected = treeOf(reference.dir)

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const node = await bigNode()
    // A complete backup beside the one being taken: never touched.
    await succeed(create(node.data, '5'))
    const before = treeOf(node.dir)
    const stopped = await interrupt(create(node.data, '10'), [signal], stagingAt(node.dir))
    assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished staging directory \S+\.redbase\.parts\.tmp-\d+-\d+; no base backup was written\n$/, signal)
    await assertUntouched(node.dir, node.data, before, signal)
    await succeed(create(node.data, '10'))
    assert.deepEqual(treeOf(node.dir), expected, `${signal}: the re-run`)
  }
})

test('create from stdin: an interrupt ends the wait for more input', async () => {
  const node = await bigNode()
  const before = treeOf(node.dir)
  const args = ['basebackup', 'create', '--data-path', node.data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '10', '--chunk-size', '1MiB']
  const stopped = await interrupt(args, ['SIGTERM'], stagingAt(node.dir), snapshot.subarray(0, 8 * 1024 * 1024))
  assertStopped(stopped, 'SIGTERM', /^redrepl: interrupted; removed the unfinished staging directory /, 'stdin')
  await assertUntouched(node.dir, node.data, before, 'stdin')
})

test('materialize: SIGINT and SIGTERM mid-copy remove the temp file and leave the destination as it was', async () => {
  const reference = await bigNode()
  await succeed(create(reference.data, '10'))
  await succeed(rebootstrap(reference.data))
  const expected = treeOf(reference.dir)

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const node = await bigNode()
    await succeed(create(node.data, '10'))
    const before = treeOf(node.dir)
    const stopped = await interrupt(rebootstrap(node.data), [signal], () => unfinished(node.dir).length > 0)
    assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished copy; \S+rebootstrap\.pending\.rdb was left as it was\n$/, `--rebootstrap ${signal}`)
    await assertUntouched(node.dir, node.data, before, `--rebootstrap ${signal}`)
    await succeed(rebootstrap(node.data))
    assert.deepEqual(treeOf(node.dir), expected, `--rebootstrap ${signal}: the re-run`)

    // --to, once onto a new file and once over an existing one with --force.
    const out = await scratch.dir('redrepl-interrupt-out-')
    const target = path.join(out, 'restored.rdb')
    for (const args of [['--to', target], ['--to', target, '--force']]) {
      if (args.includes('--force')) writeFileSync(target, 'an older database\n')
      const beforeOut = treeOf(out)
      const what = `${args.join(' ')} ${signal}`
      const stopped = await interrupt(['basebackup', 'materialize', '--data-path', node.data, ...args], [signal], () => unfinished(out).length > 0)
      assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished copy; \S+restored\.rdb was left as it was\n$/, what)
      assert.deepEqual(unfinished(out), [], what)
      assert.deepEqual(treeOf(out), beforeOut, what)
    }
    await succeed(['basebackup', 'materialize', '--data-path', node.data, '--to', target, '--force'])
    assert.deepEqual(treeOf(out)['restored.rdb'], expected['data.rebootstrap.pending.rdb'], `--to ${signal}: the re-run`)
  }
})

test('a second signal during the clean-up ends the run at once, leaving only what RedDB ignores', async () => {
  const reference = await bigNode()
  await succeed(create(reference.data, '10'))
  await succeed(rebootstrap(reference.data))
  const expected = treeOf(reference.dir)

  const node = await bigNode()
  const stoppedCreate = await interrupt(create(node.data, '10'), ['SIGINT', 'SIGINT'], stagingAt(node.dir))
  assertStopped(stoppedCreate, 'SIGINT', /^redrepl: interrupted/, 'create')
  await succeed(create(node.data, '10'))
  const stoppedMaterialize = await interrupt(rebootstrap(node.data), ['SIGTERM', 'SIGINT'], () => unfinished(node.dir).length > 0)
  assert.ok(stoppedMaterialize.signal !== null && stoppedMaterialize.ms < PROMPT_MS, `materialize: ${JSON.stringify(stoppedMaterialize)}`)
  const problems = (await verifyLayout(node.data, NOW_MS)).findings.filter((f) => f.severity !== 'note')
  assert.deepEqual(problems, [])
  await succeed(rebootstrap(node.data))
  // A temp file the second signal kept from being removed is allowed: RedDB ignores it.
  const finished = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([name]) => !/\.tmp\b/.test(path.basename(name))))
  assert.deepEqual(finished(treeOf(node.dir)), expected, 'the re-runs')
})

test('an interrupt ends a wait for the layout lock', async () => {
  const node = await bigNode()
  // A create reading stdin holds the layout lock while it waits for input.
  const holder = spawn(process.execPath, [cliBinary, 'basebackup', 'create', '--data-path', node.data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '5'], {stdio: ['pipe', 'ignore', 'ignore']})
  holder.stdin.on('error', () => {})
  try {
    while (!stagingAt(node.dir)()) {
      holder.stdin.write(snapshot.subarray(0, 1024 * 1024))
      await sleep(20)
    }
    // Long enough for the waiter to start and reach its wait: no file tells when it has.
    const stopped = await interrupt(['basebackup', 'materialize', '--data-path', node.data, '--rebootstrap', '--wait', '60'], ['SIGINT'], (() => {
      const started = performance.now()
      return () => performance.now() - started > 3000
    })())
    assertStopped(stopped, 'SIGINT', /^redrepl: interrupted; nothing was written\n$/, 'waiting for the lock')
  } finally {
    holder.kill('SIGKILL')
  }
})

test('readers (basebackup verify, layout verify) stop at once, saying nothing was written', async () => {
  const node = await bigNode()
  await succeed(create(node.data, '10'))
  for (const args of [['basebackup', 'verify'], ['layout', 'verify']]) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const stopped = await interrupt([...args, '--data-path', node.data], [signal], readingChunks)
      assertStopped(stopped, signal, /^redrepl: interrupted; nothing was written\n$/, `${args.join(' ')} ${signal}`)
    }
  }
})

test('on a terminal, Ctrl-C stops create promptly and leaves the terminal as it was', async () => {
  const node = await bigNode()
  const before = treeOf(node.dir)
  const command = [process.execPath, cliBinary, ...create(node.data, '10')].map((word) => `'${word}'`).join(' ')
  // The shell outlives the Ctrl-C (a trapped signal is reset for the command) to report its status and the terminal's mode.
  const script = `trap : INT; stty cols 100 rows 30; stty -g; ${command}; echo "status=$?"; stty -g`
  const terminal = spawn('script', ['-qec', script, '/dev/null'], {stdio: ['pipe', 'pipe', 'ignore'], env: {...process.env, REDREPL_NOW_MS: '1700000000000'}})
  let output = ''
  terminal.stdout.on('data', (piece) => (output += piece))
  const exited = new Promise((resolve) => terminal.once('exit', resolve))
  try {
    // The spinner runs while the chunks are written: then the terminal gets Ctrl-C, as a user types it.
    const giveUp = performance.now() + 60_000
    while (!(stagingAt(node.dir)() && output.includes('basebackup create'))) {
      assert.ok(!output.includes('status=') && performance.now() < giveUp, `never interrupted mid-run: ${output.slice(-500)}`)
      await sleep(2)
    }
    const sent = performance.now()
    terminal.stdin.write('\x03')
    while (!output.includes('status=') && performance.now() - sent < 60_000) await sleep(5)
    const ms = performance.now() - sent
    terminal.stdin.end()
    await exited
    assert.match(output, /status=130\r?\n/, output.slice(-500))
    assert.ok(ms < PROMPT_MS, `took ${Math.round(ms)} ms to stop`)
    assert.match(output, /redrepl: interrupted; removed the unfinished staging directory /)
    const modes = [...output.matchAll(/^([0-9a-f]+(?::[0-9a-f]+){10,})\r?$/gm)].map((match) => match[1])
    assert.equal(modes.length, 2, output.slice(-500))
    assert.equal(modes[1], modes[0], 'the terminal mode after the run differs from before it')
    // Hidden at most until it is shown again (under CI=true the spinner does not animate and never hides it).
    assert.ok(output.lastIndexOf('\u001B[?25h') >= output.lastIndexOf('\u001B[?25l'), 'the cursor is left hidden')
  } finally {
    terminal.kill('SIGKILL')
  }
  await assertUntouched(node.dir, node.data, before, 'terminal')
})
