import assert from 'node:assert/strict'
import {readdirSync, statSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()
const KiB = 1024

const primary = () => primaryCopy(scratch)

/** Wall time of one CLI run, in ms, with its result. */
async function timed(args: string[], options: Parameters<typeof runCli>[1] = {}) {
  const started = performance.now()
  const result = await runCli(args, options)
  return {result, ms: performance.now() - started}
}

function treeBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, {withFileTypes: true, recursive: true})) if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size
  return total
}

test('--max-rate refuses 0 and garbage with a usage error on every command that has it, before anything is read', async () => {
  const {data} = await primary()
  const repo = await scratch.dir('redrepl-repo-')
  const commands = [
    ['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '99'],
    ['basebackup', 'materialize', '--data-path', data, '--to', path.join(repo, 'restored.rdb')],
    ['basebackup', 'verify', '--data-path', data],
    ['layout', 'verify', '--data-path', data],
    ['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1'],
    ['repo', 'restore', '--data-path', data, '--to', path.join(repo, 'restored.rdb'), '--repo', repo, '--node', 'db1'],
    ['repo', 'fetch-wal', '--data-path', data, '--repo', repo, '--node', 'db1'],
  ]
  for (const command of commands) {
    for (const rate of ['0', 'fast', '10MiB/h']) {
      const run = await runCli([...command, '--max-rate', rate])
      assert.equal(run.exitCode, 2, `${command.slice(0, 2).join(' ')} --max-rate ${rate}: ${run.stderr}`)
      assert.match(run.stderr, /--max-rate/)
    }
  }
  assert.deepEqual(readdirSync(repo), [], 'nothing was written')
})

test('basebackup create and verify with --max-rate take at least the time the limit implies, and the backup is the same', async () => {
  const {data} = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(1024 * KiB - 4, 9)])
  const rate = 256 * KiB
  const implied = (snapshot.length / rate) * 1000
  const free = await timed(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '5242890', '--json'], {input: snapshot})
  assert.equal(free.result.exitCode, 0, free.result.stderr)
  const throttled = await timed(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '5242891', '--max-rate', '256KiB', '--json'], {input: snapshot})
  assert.equal(throttled.result.exitCode, 0, throttled.result.stderr)
  assert.ok(throttled.ms >= implied * 0.95, `1 MiB at 256 KiB/s took ${throttled.ms.toFixed(0)} ms, less than the ${implied} ms the limit implies`)
  assert.ok(free.ms < throttled.ms, `the same run without --max-rate took ${free.ms.toFixed(0)} ms`)
  const checksum = (run: typeof free) => (jsonOf(run.result).manifest as {snapshot_checksum: bigint}).snapshot_checksum
  assert.equal(checksum(throttled), checksum(free))

  // A checkpoint the WAL kept reaches back to: verify also proves catch-up.
  const verified = await timed(['basebackup', 'verify', '--data-path', data, '--checkpoint-lsn', '5242891', '--max-rate', `${rate}`, '--json'])
  assert.equal(verified.result.exitCode, 0, verified.result.stderr)
  assert.ok(verified.ms >= implied * 0.95, `verify of 1 MiB at 256 KiB/s took ${verified.ms.toFixed(0)} ms`)
})

test('repo push with --max-rate takes at least the time the limit implies for the bytes it moves', async () => {
  const {data} = await primary()
  const measure = await scratch.dir('redrepl-repo-')
  assert.equal((await runCli(['repo', 'push', '--data-path', data, '--repo', measure, '--node', 'db1', '--json'])).exitCode, 0)
  const bytes = treeBytes(measure)
  // A rate at which those bytes take 2 s.
  const rate = Math.ceil(bytes / 2)
  const repo = await scratch.dir('redrepl-repo-')
  const throttled = await timed(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--max-rate', String(rate), '--json'])
  assert.equal(throttled.result.exitCode, 0, throttled.result.stderr)
  assert.equal(treeBytes(repo), bytes)
  assert.ok(throttled.ms >= 1900, `${bytes} bytes at ${rate} B/s took ${throttled.ms.toFixed(0)} ms`)
})
