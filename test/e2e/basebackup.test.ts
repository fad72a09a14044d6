import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {execa} from 'execa'

import {fixturePath, repoRoot} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdFlock, jsonOf, modelOf, stop} from '../support/node.js'
import {layoutIn, primaryCopy, T1} from '../support/layout-node.js'

const scratch = useScratch()

const BACKUP = 'base-00000000000000000000-00000000000005242882'
const relativeBackupDir = path.join(T1, 'basebackup')

const primary = () => primaryCopy(scratch)

function sameTree(a: string, b: string): void {
  assert.deepEqual(readdirSync(a).sort(), readdirSync(b).sort())
  for (const name of readdirSync(a)) {
    const [left, right] = [path.join(a, name), path.join(b, name)]
    if (statSync(left).isDirectory()) sameTree(left, right)
    else assert.deepEqual(readFileSync(left), readFileSync(right), name)
  }
}

test('create from the node\'s .rdb writes byte for byte what RedDB wrote, and re-runs idempotently', async () => {
  const {data, backups} = await primary()
  rmSync(backups, {recursive: true})
  const report = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--chunk-size', '4096', '--json']))
  assert.equal((report.manifest as any).checkpoint_lsn, 5242882n)
  sameTree(backups, fixturePath('layouts', 'primary-basic', relativeBackupDir))
  const again = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--chunk-size', '4096', '--json']))
  assert.equal(again.already_existed, true)
  sameTree(backups, fixturePath('layouts', 'primary-basic', relativeBackupDir))
})

test('create from stdin; mismatched parts without a manifest are replaced, with one they are refused', async () => {
  const {data, backups} = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(10_000, 7)])
  const report = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '77', '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  assert.equal((report.manifest as any).chunks.length, 3)
  assert.equal(report.snapshot_bytes, 10_004n)
  const other = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(10_000, 8)])
  const refusedRun = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(other.length), '--checkpoint-lsn', '77', '--chunk-size', '4KiB'], {input: other})
  assert.equal(refusedRun.exitCode, 4)
  rmSync(path.join(backups, 'base-00000000000000000000-00000000000000000077.redbase'))
  const replaced = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(other.length), '--checkpoint-lsn', '77', '--chunk-size', '4KiB', '--json'], {input: other}))
  assert.equal(replaced.replaced_parts, true)
  assert.ok(readdirSync(backups).every((name) => !name.includes('.tmp-')), 'no staging dir is left')
})

test('materialize --to rebuilds the database; --rebootstrap stages it with the marker', async () => {
  const {dir, data} = await primary()
  const restored = path.join(dir, 'restored.rdb')
  const report = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', restored, '--json']))
  assert.equal(report.checkpoint_lsn, 5242882n)
  assert.deepEqual(readFileSync(restored), readFileSync(data), 'same snapshot, same created_at: the same file RedDB wrote')
  const refusedRun = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', restored])
  assert.equal(refusedRun.exitCode, 4)
  const staged = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--checkpoint-lsn', '5242882', '--json']))
  const pending = path.join(dir, 'data.rebootstrap.pending.rdb')
  assert.equal(staged.destination_path, pending)
  const marker = modelOf(await runCli(['inspect', '--json', path.join(dir, 'data.rebootstrap.ready')]))
  assert.deepEqual(marker, {pending_path: pending, checkpoint_lsn: 5242882n, timeline: 1n})
  const db = modelOf(await runCli(['inspect', '--json', pending]))
  assert.equal((db.manifest as any).snapshot_bytes, 9004n)
})

test('a corrupt chunk aborts materialize with exit 3 and leaves no destination', async () => {
  const {dir, data, backups} = await primary()
  const chunk = path.join(backups, `${BACKUP}.redbase.parts`, '00000000000000000001.redchunk')
  const bytes = readFileSync(chunk)
  bytes[100] ^= 1
  writeFileSync(chunk, bytes)
  const target = path.join(dir, 'out.rdb')
  const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', target])
  assert.equal(result.exitCode, 3)
  assert.match(result.stderr, /chunk 1 checksum mismatch/)
  assert.ok(!existsSync(target))
  assert.ok(!existsSync(path.join(dir, 'out.tmp')))
})

test('materialize refuses next to a running node unless forced; create is safe there', async () => {
  const {dir, data} = await primary()
  const node = await holdFlock(data)
  try {
    const refusedRun = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap'])
    assert.equal(refusedRun.exitCode, 4)
    assert.ok(!existsSync(path.join(dir, 'data.rebootstrap.ready')))
    const forced = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--force'])
    assert.equal(forced.exitCode, 0, forced.stderr)
    const created = await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '9'])
    assert.equal(created.exitCode, 0, created.stderr)
  } finally {
    await stop(node)
  }
})

test('no backup to restore exits 6', async () => {
  const {data, backups} = await primary()
  rmSync(backups, {recursive: true})
  const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', '/tmp/never.rdb'])
  assert.equal(result.exitCode, 6)
})

test('the latest backup is refused when WAL no longer reaches back to it, unless named', async () => {
  const {dir, data, backups} = await primary()
  rmSync(backups, {recursive: true})
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(100, 1)])
  assert.equal((await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '10'], {input: snapshot})).exitCode, 0)
  for (const segment of [0n, 1n]) rmSync(layoutIn(dir).walSegmentPath(1n, segment))
  const stale = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'stale.rdb')])
  assert.equal(stale.exitCode, 6)
  assert.match(stale.stderr, /older than the oldest WAL kept \(LSN 2097152\)/)
  const named = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'stale.rdb'), '--checkpoint-lsn', '10'])
  assert.equal(named.exitCode, 0, named.stderr)
})

/** Runs the CLI on a pseudo-terminal (util-linux `script`), after `stty` sets it up. */
async function onTerminal(stty: string, args: string[]): Promise<{exitCode: number; output: string}> {
  const command = [process.execPath, path.join(repoRoot, 'bin', 'run.js'), ...args].map((word) => `'${word}'`).join(' ')
  const result = await execa('script', ['-qec', `${stty}; ${command}`, '/dev/null'], {stdin: 'ignore', reject: false, timeout: 30_000, env: {REDREPL_NOW_MS: '1700000000000'}})
  return {exitCode: result.exitCode ?? -1, output: String(result.stdout)}
}

test('on a terminal the progress spinner runs and stops; on a terminal of no width it stays off', async () => {
  for (const stty of ['stty cols 100 rows 30', 'stty cols 0 rows 0']) {
    const {data, backups} = await primary()
    rmSync(backups, {recursive: true})
    const {exitCode, output} = await onTerminal(stty, ['basebackup', 'create', '--data-path', data, '--from', data])
    assert.equal(exitCode, 0, `${stty}: ${output.slice(-300)}`)
    assert.match(output, /base backup at checkpoint 5242882/)
    assert.ok(output.length < 4096, `${stty}: ${output.length} bytes of terminal output`)
  }
})
