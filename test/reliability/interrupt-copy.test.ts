import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS, repoRoot} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'

/**
 * repo copy killed mid-way (SIGKILL: no clean-up of its own) leaves the
 * target in a state repo list and verify accept, and the next copy copies
 * only what is missing and ends where an uninterrupted copy does.
 */

const scratch = useScratch()
const binary = path.join(repoRoot, 'bin', 'run.js')
const SNAPSHOT_BYTES = 4 * 1024 * 1024
const CHUNK = '256KiB'

async function pushedRepository(): Promise<string> {
  const dir = await scratch.dir('redrepl-icopy-node-')
  const data = path.join(dir, 'data.rdb')
  mkdirSync(path.join(dir, 'data.primary-replica'))
  const snapshot = Buffer.concat([Buffer.from('RDST'), randomBytes(SNAPSHOT_BYTES - 4)])
  writeFileSync(data, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS), snapshot]))
  assert.equal((await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '10', '--chunk-size', CHUNK])).exitCode, 0)
  const repo = await scratch.dir('redrepl-icopy-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json']))
  return repo
}

const chunksIn = (repo: string) => (existsSync(path.join(repo, 'db1')) ? readdirSync(path.join(repo, 'db1'), {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.redchunk')) : [])

test('repo copy killed mid-way: the target lists no partial backup and verifies; the next copy carries on and ends complete', async () => {
  const source = await pushedRepository()
  const target = await scratch.dir('redrepl-icopy-target-')
  const args = ['repo', 'copy', '--from', source, '--to', target, '--node', 'db1', '--jobs', '1', '--max-rate', '1MiB']
  const child = spawn(process.execPath, [binary, ...args], {stdio: ['ignore', 'ignore', 'pipe'], env: {...process.env, NO_COLOR: '1', REDREPL_NOW_MS: String(NOW_MS)}})
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.once('exit', (code, signal) => resolve({code, signal})))
  const giveUp = performance.now() + 30_000
  while (chunksIn(target).length < 3) {
    assert.ok(performance.now() < giveUp, 'the copy never got to its third chunk')
    await sleep(5)
  }
  child.kill('SIGKILL')
  const ended = await exited
  assert.equal(ended.signal, 'SIGKILL')
  const copiedBefore = chunksIn(target).length
  assert.ok(copiedBefore < 16, `killed mid-way (${copiedBefore} of 16 chunks there)`)

  const listed = jsonOf(await runCli(['repo', 'list', '--repo', target, '--node', 'db1', '--json']))
  assert.deepEqual(listed.backups, [], 'no manifest before every chunk: no partial backup listed')
  const verified = jsonOf(await runCli(['repo', 'verify', '--repo', target, '--node', 'db1', '--json']))
  assert.equal(verified.ok, true)

  const resumed = jsonOf(await runCli(['repo', 'copy', '--from', source, '--to', target, '--node', 'db1', '--json']))
  const chunksCopied = (resumed.backups_copied as any[])[0].chunks_copied
  assert.ok(chunksCopied <= 16 - copiedBefore + 1 && chunksCopied > 0, `the re-run copied ${chunksCopied} chunk(s), not the ${copiedBefore} already there`)
  const after = jsonOf(await runCli(['repo', 'verify', '--repo', target, '--node', 'db1', '--json']))
  assert.equal(after.ok, true)
  const whole = jsonOf(await runCli(['repo', 'list', '--repo', target, '--node', 'db1', '--json']))
  assert.deepEqual((whole.backups as any[]).map((b) => b.complete), [true])
  assert.equal(readdirSync(target, {recursive: true, encoding: 'utf8'}).filter((name) => /\.tmp\b/.test(path.basename(name))).length, 0, 'no temp file left')
})
