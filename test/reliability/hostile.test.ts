import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test, type TestContext} from 'node:test'

import {fixturePath, readFixture} from '../support/fixtures.js'
import {lacks} from '../support/syscalls.js'
import {runCli, tempDir, useScratch} from '../support/cli.js'
import {primaryCopy, T1} from '../support/layout-node.js'

const scratch = useScratch()

const BACKUP = 'base-00000000000000000000-00000000000005242882.redbase'

const primary = () => primaryCopy(scratch)

test('a chunk that is a symlink out of the layout is refused; nothing is written', async () => {
  const {dir, data} = await primary()
  const outside = {dir: await scratch.dir()}
  const parts = path.join(dir, T1, 'basebackup', `${BACKUP}.parts`)
  const chunk = path.join(parts, '00000000000000000001.redchunk')
  writeFileSync(path.join(outside.dir, 'secret'), readFileSync(chunk))
  rmSync(chunk)
  symlinkSync(path.join(outside.dir, 'secret'), chunk)
  const target = path.join(dir, 'out.rdb')
  const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', target])
  assert.equal(result.exitCode, 3, result.stderr)
  assert.match(result.stderr, /leads outside/)
  assert.ok(!existsSync(target))
})

test('a relay dir symlinked out of the layout is refused', async () => {
  const {dir, data} = await primary()
  const outside = {dir: await scratch.dir()}
  const relay = path.join(dir, T1, 'relay', 'replica-b')
  const segment = 'relay-00000000000000000001-00000000000000000010.redwal'
  renameSync(path.join(relay, segment), path.join(outside.dir, segment))
  symlinkSync(path.join(outside.dir, segment), path.join(relay, segment))
  const result = await runCli(['relay', 'append', '--data-path', data, '--replica', 'replica-b', '--applied-lsn', '0'], {input: '{"lsn":11,"payload_hex":"00"}\n'})
  assert.equal(result.exitCode, 3, result.stderr)
  assert.match(result.stderr, /leads outside/)
})

test('wal prune unlinks a symlinked segment itself, never its target', async () => {
  const {dir, data} = await primary()
  const outside = {dir: await scratch.dir()}
  const wal = path.join(dir, T1, 'wal')
  const target = path.join(outside.dir, 'precious.redwal')
  renameSync(path.join(wal, '00000000000000000000.redwal'), target)
  symlinkSync(target, path.join(wal, '00000000000000000000.redwal'))
  const result = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1'])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.ok(!readdirSync(wal).includes('00000000000000000000.redwal'))
  assert.ok(existsSync(target))
})

test('manifests with escaping paths are rejected before anything is read or written', async () => {
  const {dir, data} = await primary()
  for (const name of ['parent-dir-chunk-path', 'absolute-chunk-path']) {
    const manifest = path.join(dir, T1, 'basebackup', `base-00000000000000000000-00000000000000004242.redbase`)
    writeFileSync(manifest, readFixture('invalid', 'basebackup-manifest', `${name}.redbase`))
    const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--manifest', manifest, '--to', path.join(dir, 'x.rdb')])
    assert.equal(result.exitCode, 3, result.stderr)
    assert.ok(!existsSync(path.join(dir, 'x.rdb')))
  }
  const relayDir = path.join(dir, T1, 'relay', 'evil')
  mkdirSync(relayDir)
  writeFileSync(path.join(relayDir, 'relay.redmanifest'), readFixture('invalid', 'relay-manifest', 'escaping-segment-path.redmanifest'))
  const relay = await runCli(['relay', 'append', '--data-path', data, '--replica', 'evil', '--applied-lsn', '0'], {input: '{"lsn":1,"payload_hex":"00"}\n'})
  assert.equal(relay.exitCode, 3)
  assert.match(relay.stderr, /must not leave its directory/)
})

/** A small tmpfs holding a copy of the sample layout; skips where mounting is not allowed, except in CI, which runs as root and fails instead. */
async function mounted(t: TestContext, size: string): Promise<{dir: string; data: string; unmount: () => void} | undefined> {
  const {dir, cleanup} = await tempDir('redrepl-mount-')
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], {stdio: 'ignore'})
  } catch (error) {
    await cleanup()
    lacks(t, `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`)
    return undefined
  }
  execFileSync('cp', ['-r', `${fixturePath('layouts', 'primary-basic')}/.`, dir])
  execFileSync('chmod', ['-R', 'u+w', dir])
  const unmount = () => {
    execFileSync('umount', [dir])
    rmSync(dir, {recursive: true, force: true})
  }
  return {dir, data: path.join(dir, 'data.rdb'), unmount}
}

test('disk full: a base backup fails with one line and leaves no manifest, no staging dir', async (t) => {
  const node = await mounted(t, '320k')
  if (!node) return
  try {
    const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(400 * 1024, 3)])
    const result = await runCli(['basebackup', 'create', '--data-path', node.data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '99', '--chunk-size', '64KiB'], {input: snapshot})
    assert.equal(result.exitCode, 1, result.stderr)
    assert.match(result.stderr, /no space left on device/)
    assert.equal(result.stderr.trimEnd().split('\n').length, 1)
    const backups = readdirSync(path.join(node.dir, T1, 'basebackup'))
    assert.deepEqual(backups.filter((name) => name.includes('00000000000000000099')), [])
    const full = await runCli(['basebackup', 'materialize', '--data-path', node.data, '--to', path.join(node.dir, 'big.rdb')])
    assert.ok(full.exitCode === 0 || full.exitCode === 1)
    if (full.exitCode === 1) assert.ok(!existsSync(path.join(node.dir, 'big.rdb')))
  } finally {
    node.unmount()
  }
})

test('a read-only file system: writers fail with one line, nothing half-written', async (t) => {
  const node = await mounted(t, '1m')
  if (!node) return
  try {
    execFileSync('mount', ['-o', 'remount,ro', node.dir])
    const relay = await runCli(['relay', 'append', '--data-path', node.data, '--replica', 'replica-a', '--applied-lsn', '0'], {input: '{"lsn":99,"payload_hex":"00"}\n'})
    assert.equal(relay.exitCode, 1, relay.stderr)
    assert.match(relay.stderr, /read-only file system/)
    const promote = await runCli(['timeline', 'promote', '--data-path', node.data, '--replica', 'a', '--applied-lsn', '1'])
    assert.equal(promote.exitCode, 1)
    assert.equal(promote.stderr.trimEnd().split('\n').length, 1)
  } finally {
    execFileSync('mount', ['-o', 'remount,rw', node.dir])
    node.unmount()
  }
})
