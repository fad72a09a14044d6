import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {assertStopped, interruptCli} from '../support/interrupt.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {treeOf} from '../support/tree.js'
import {MiB, writeWalNode} from '../support/wal-node.js'
import {useS3Server} from '../support/s3.js'
import {s3Repo} from '../support/repository.js'
import {layoutIn} from '../support/layout-node.js'

/**
 * SIGINT and SIGTERM in the middle of the repository writers (repo restore,
 * repo fetch-wal, repo push, repo expire): each removes its own temp files,
 * says so in one line, ends by the signal (130/143), and a re-run ends where
 * an uninterrupted run does. A temp file a killed restore left beside its
 * --to target is removed by the next restore there, and reported.
 */

const scratch = useScratch()
const BUCKET = 'redrepl-interrupt'
const s3rver = useS3Server(scratch, [BUCKET])
const SNAPSHOT_BYTES = 32 * 1024 * 1024

/** Random throughout: a repeated block would be stored once, as one piece (docs/repository.md "Pieces"). */
const snapshot = (() => {
  const bytes = randomBytes(SNAPSHOT_BYTES)
  bytes.write('RDST')
  return bytes
})()

/** Every name under `dir` that marks an unfinished write. */
const unfinished = (dir: string) => readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((entry) => /\.tmp\b/.test(path.basename(entry)))

async function succeed(args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runCli(args, {env})
  assert.equal(result.exitCode, 0, `${args.slice(0, 2).join(' ')}: ${result.stderr}`)
  return result.stderr
}

/** A node with a 32 MiB base backup in 1 MiB chunks, pushed to a directory repository. */
async function pushedNode() {
  const dir = await scratch.dir('redrepl-irepo-node-')
  const data = path.join(dir, 'data.rdb')
  mkdirSync(path.join(dir, 'data.primary-replica'))
  writeFileSync(data, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS), snapshot]))
  await succeed(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '10', '--chunk-size', '1MiB'])
  const repo = await scratch.dir('redrepl-irepo-repo-')
  return {dir, data, repo}
}

/** Runs the CLI, sends `signal` (SIGKILL when `kill`) once `midRun` holds, and waits for the end. */
const interrupt = (args: string[], signal: NodeJS.Signals, midRun: () => boolean | Promise<boolean>, kill = false, env: Record<string, string> = {}) => interruptCli(args, {when: midRun, signals: [kill ? 'SIGKILL' : signal], env})

test('repo restore --to and --rebootstrap: SIGINT and SIGTERM mid-copy remove the temp file and leave the destination as it was', async () => {
  const node = await pushedNode()
  await succeed(['repo', 'push', '--data-path', node.data, '--repo', node.repo, '--node', 'db1'])
  const out = await scratch.dir('redrepl-irepo-out-')
  const target = path.join(out, 'x.rdb')
  const restore = ['repo', 'restore', '--repo', node.repo, '--node', 'db1', '--rdb-version', '1', '--max-rate', '8MiB']
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const force of [false, true]) {
      if (force) writeFileSync(target, 'an older database\n')
      else rmSync(target, {force: true})
      const before = treeOf(out)
      const what = `--to${force ? ' --force' : ''} ${signal}`
      const stopped = await interrupt([...restore, '--to', target, ...(force ? ['--force'] : [])], signal, () => unfinished(out).length > 0)
      assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished copy; \S+x\.rdb was left as it was\n$/, what)
      assert.deepEqual(unfinished(out), [], what)
      assert.deepEqual(treeOf(out), before, what)
    }
    // The node side: a staged rebootstrap interrupted leaves the node's directory as it was.
    const fresh = await scratch.dir('redrepl-irepo-fresh-')
    const data = path.join(fresh, 'data.rdb')
    const before = treeOf(fresh)
    const stopped = await interrupt([...restore, '--data-path', data, '--rebootstrap'], signal, () => unfinished(fresh).length > 0)
    assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished copy; \S+data\.rebootstrap\.pending\.rdb was left as it was\n$/, `--rebootstrap ${signal}`)
    assert.deepEqual(unfinished(fresh), [], `--rebootstrap ${signal}`)
    assert.deepEqual(treeOf(fresh), before, `--rebootstrap ${signal}: nothing staged`)
  }
  await succeed(['repo', 'restore', '--repo', node.repo, '--node', 'db1', '--rdb-version', '1', '--to', target, '--force'])
  assert.ok(readFileSync(target).subarray(-SNAPSHOT_BYTES).equals(snapshot), 'the re-run restores the snapshot')
})

test('a later repo restore --to removes the temp file a killed restore left there, only that one, and says so', async () => {
  const node = await pushedNode()
  await succeed(['repo', 'push', '--data-path', node.data, '--repo', node.repo, '--node', 'db1'])
  const out = await scratch.dir('redrepl-irepo-left-')
  const target = path.join(out, 'x.rdb')
  const restore = ['repo', 'restore', '--repo', node.repo, '--node', 'db1', '--rdb-version', '1', '--to', target]
  const killed = await interrupt([...restore, '--max-rate', '8MiB'], 'SIGKILL', () => unfinished(out).length > 0, true)
  assert.equal(killed.signal, 'SIGKILL')
  const [left] = unfinished(out)
  assert.match(left, new RegExp(`^x\\.rdb\\.${killed.pid}-[0-9a-f]{16}\\.tmp$`))
  // Not removed: a temp of a writer still running (this test's own pid), another target's, and names redrepl does not make.
  const kept = [`x.rdb.${process.pid}-0123456789abcdef.tmp`, `y.rdb.${killed.pid}-0123456789abcdef.tmp`, 'x.tmp', 'x.rdb.tmp', `x.rdb.${killed.pid}-notours.tmp`]
  for (const name of kept) writeFileSync(path.join(out, name), 'someone else\'s\n')
  const run = await runCli(restore)
  assert.equal(run.exitCode, 0, run.stderr)
  assert.match(run.stderr, new RegExp(`^redrepl: note: removed \\S+${left.replaceAll('.', '\\.')}, the temp file of an earlier run at \\S+x\\.rdb that is gone\\n$`))
  assert.deepEqual(unfinished(out).sort(), [...kept].sort())
  assert.ok(readFileSync(target).subarray(-SNAPSHOT_BYTES).equals(snapshot))
  // --json says so on stderr too, and its document lists it.
  const again = await runCli([...restore.slice(0, -2), '--to', path.join(out, 'z.rdb'), '--json'])
  assert.equal(again.exitCode, 0, again.stderr)
})

test('repo fetch-wal: SIGINT and SIGTERM mid-segment remove its temp file; a re-run fetches the rest', async () => {
  const primary = await scratch.dir('redrepl-irepo-wal-')
  const segments = Object.fromEntries(Array.from({length: 12}, (_, i) => [i, 400]))
  const data = writeWalNode(primary, {segmentBytes: MiB, segments, slots: null})
  const repo = await scratch.dir('redrepl-irepo-walrepo-')
  await succeed(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--include-current'])
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const target = await scratch.dir('redrepl-irepo-walnode-')
    const node = path.join(target, 'data.rdb')
    const fetch = ['repo', 'fetch-wal', '--repo', repo, '--node', 'db1', '--data-path', node, '--from-lsn', '0', '--segment-bytes', '1MiB']
    const stopped = await interrupt([...fetch, '--max-rate', '16KiB'], signal, () => existsSync(path.join(target, 'data.primary-replica')) && unfinished(target).length > 0)
    assertStopped(stopped, signal, /^redrepl: interrupted; removed the unfinished copy of \S+\/wal\/\d{20}\.redwal; the \d+ segment\(s\) fetched before are whole, and a re-run fetches the rest\n$/, `fetch-wal ${signal}`)
    assert.deepEqual(unfinished(target), [], `fetch-wal ${signal}`)
    await succeed(fetch)
    const walDir = layoutIn(target).walDir(1n)
    const sourceWal = layoutIn(primary).walDir(1n)
    assert.deepEqual(treeOf(walDir), treeOf(sourceWal), `fetch-wal ${signal}: the re-run`)
  }
})

test('repo push: SIGINT and SIGTERM mid-transfer leave no temp file and no partial backup in the repository; the next push completes', async () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const node = await pushedNode()
    const push = ['repo', 'push', '--data-path', node.data, '--repo', node.repo, '--node', 'db1']
    // The first of the backup's packs stored (16 MiB of its 32): the push is mid-way.
    const packs = () => readdirSync(node.repo, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.redpack')).length
    const stopped = await interrupt([...push, '--max-rate', '8MiB', '--jobs', '4'], signal, () => packs() >= 1)
    assertStopped(stopped, signal, /^redrepl: interrupted; stopped the transfers in flight, none left half-stored; .*\n$/, `push ${signal}`)
    assert.deepEqual(unfinished(node.repo), [], `push ${signal}: temp files left in the repository`)
    assert.deepEqual(unfinished(node.dir), [], `push ${signal}: temp files left beside the node`)
    const listed = await runCli(['repo', 'list', '--repo', node.repo, '--node', 'db1', '--json'])
    assert.equal(listed.exitCode === 0 || listed.exitCode === 6, true, listed.stderr)
    assert.ok(!readdirSync(node.repo, {recursive: true, encoding: 'utf8'}).some((name) => name.endsWith('.redbase')), `push ${signal}: a manifest was pushed`)
    await succeed(push)
    await succeed(['repo', 'verify', '--repo', node.repo, '--node', 'db1'])
  }
})

test('repo expire --confirm: SIGINT and SIGTERM stop it between backups; every backup still listed is whole, and a re-run deletes the rest', async () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const node = await pushedNode()
    // Six backups of 256 chunks each: the five older ones go, one object at a time, so the signal lands well before the end.
    for (const checkpoint of ['11', '12', '13', '14', '15', '16']) await succeed(['basebackup', 'create', '--data-path', node.data, '--from', node.data, '--checkpoint-lsn', checkpoint, '--chunk-size', '128KiB'])
    await succeed(['repo', 'push', '--data-path', node.data, '--repo', node.repo, '--node', 'db1'])
    const manifests = () => readdirSync(node.repo, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.redbase')).length
    const before = manifests()
    const expire = ['repo', 'expire', '--repo', node.repo, '--node', 'db1', '--keep-last', '1', '--confirm', '--jobs', '1']
    const stopped = await interrupt(expire, signal, () => manifests() < before)
    assertStopped(stopped, signal, /^redrepl: interrupted; stopped after deleting \d+ object\(s\); every backup still listed is whole, and a re-run deletes the rest\n$/, `expire ${signal}`)
    assert.ok(manifests() > 1, `expire ${signal}: it did not stop before the end`)
    await succeed(['repo', 'verify', '--repo', node.repo, '--node', 'db1'])
    await succeed(expire)
    assert.equal(manifests(), 1)
    await succeed(['repo', 'verify', '--repo', node.repo, '--node', 'db1'])
  }
})

test('a writer with no clean-up of its own (relay append) ends on a signal with one line, removing what it had in flight', async () => {
  const dir = await scratch.dir('redrepl-irepo-relay-')
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {0: 3}, slots: null})
  // Waiting for its batch on stdin (a pipe left open); its log's first line says it has started (and listens).
  const logFile = path.join(await scratch.dir('redrepl-irepo-relaylog-'), 'run.log')
  const started = async () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes(' start ') && (await sleep(200), true)
  const {signal, stderr} = await interruptCli(['relay', 'append', '--data-path', data, '--replica', 'r1', '--applied-lsn', '0', '--create', '--log-file', logFile], {when: started, signals: ['SIGTERM'], input: new Uint8Array(0), pollMs: 10, point: 'its start'})
  assert.equal(signal, 'SIGTERM', stderr)
  assert.equal(stderr, 'redrepl: interrupted; no write was in flight\n')
  assert.match(readFileSync(logFile, 'utf8'), / relay-append ERROR interrupted message="interrupted; no write was in flight" exit=143\n$/)
  assert.deepEqual(unfinished(dir), [])
})

test('S3: push and restore stop on SIGTERM with no partial backup listed and no temp file; the next runs complete', async () => {
  const node = await pushedNode()
  const env = s3rver.server.env()
  const repo = ['--repo', `s3://${BUCKET}/interrupted`, '--node', 'db1', '--s3-endpoint', s3rver.server.endpoint, '--s3-force-path-style']
  const keys = () => s3Repo(s3rver.server, BUCKET, 'interrupted').keys()
  const push = ['repo', 'push', '--data-path', node.data, ...repo]
  const stopped = await interrupt([...push, '--max-rate', '8MiB', '--jobs', '2'], 'SIGTERM', async () => (await keys()).filter((key) => key.endsWith('.redpack')).length >= 1, false, env)
  assertStopped(stopped, 'SIGTERM', /^redrepl: interrupted; stopped the transfers in flight, none left half-stored; .*\n$/, 'S3 push')
  assert.ok(!(await keys()).some((key) => key.endsWith('.redbase')), 'S3 push: the manifest was stored')
  assert.deepEqual(unfinished(node.dir), [])
  await succeed(push, env)
  await succeed(['repo', 'verify', ...repo], env)

  const out = await scratch.dir('redrepl-irepo-s3out-')
  const target = path.join(out, 'x.rdb')
  const restore = ['repo', 'restore', ...repo, '--rdb-version', '1', '--to', target]
  const cut = await interrupt([...restore, '--max-rate', '8MiB'], 'SIGTERM', () => unfinished(out).length > 0, false, env)
  assertStopped(cut, 'SIGTERM', /^redrepl: interrupted; removed the unfinished copy; \S+x\.rdb was left as it was\n$/, 'S3 restore')
  assert.deepEqual(readdirSync(out), [])
  await succeed(restore, env)
  assert.ok(readFileSync(target).subarray(-SNAPSHOT_BYTES).equals(snapshot))
})
