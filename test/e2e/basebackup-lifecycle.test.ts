import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {layoutIn} from '../support/layout-node.js'

const scratch = useScratch()
const name = (checkpoint: bigint) => `base-00000000000000000000-${checkpoint.toString().padStart(20, '0')}.redbase`

/** primary-basic (one backup at 5242882) plus backups at the given checkpoints. */
async function nodeWithBackups(...checkpoints: bigint[]) {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  for (const checkpoint of checkpoints) {
    const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, Number(checkpoint % 250n))])
    jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  }
  return {dir, data, backups: layoutIn(dir).basebackupDir(1n)}
}

test('delete removes one backup, manifest and chunks; the newest usable one only with --force', async () => {
  const {data, backups} = await nodeWithBackups(5242890n)
  const refusedRun = await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242890'])
  assert.equal(refusedRun.exitCode, 4)
  assert.match(refusedRun.stderr, /newest base backup usable for catch-up/)
  const dry = jsonOf(await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--dry-run', '--json']))
  assert.equal(dry.dry_run, true)
  assert.ok(existsSync(path.join(backups, name(5242882n))), 'a dry run deletes nothing')
  const done = jsonOf(await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--json']))
  assert.equal(done.removed_files, 4n)
  assert.deepEqual(readdirSync(backups).sort(), [name(5242890n), `${name(5242890n)}.parts`])
  const missing = await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882'])
  assert.equal(missing.exitCode, 6)
  jsonOf(await runCli(['basebackup', 'delete', '--data-path', data, '--manifest', path.join(backups, name(5242890n)), '--force', '--json']))
  assert.deepEqual(readdirSync(backups), [])
})

test('delete never follows a link planted in the parts dir, and refuses a manifest outside the layout', async () => {
  const {dir, data, backups} = await nodeWithBackups(5242890n)
  const victim = path.join(dir, 'victim')
  writeFileSync(victim, 'keep me')
  const parts = path.join(backups, `${name(5242882n)}.parts`)
  symlinkSync(victim, path.join(parts, 'extra.redchunk'))
  const done = jsonOf(await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--json']))
  assert.deepEqual(done.left_in_parts_dir, [path.join(parts, 'extra.redchunk')])
  assert.ok(existsSync(victim))
  assert.ok(!existsSync(path.join(backups, name(5242882n))))
  const outside = await runCli(['basebackup', 'delete', '--data-path', data, '--manifest', path.join(dir, 'elsewhere.redbase')])
  assert.notEqual(outside.exitCode, 0)
  const usage = await runCli(['basebackup', 'delete', '--data-path', data])
  assert.equal(usage.exitCode, 2)
})

test('expire is a dry run until --confirm, keeps the newest usable backup, and says why for each', async () => {
  const {data, backups} = await nodeWithBackups(5242890n, 5242900n)
  const dry = jsonOf(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-last', '1', '--json']))
  assert.equal(dry.dry_run, true)
  assert.deepEqual((dry.backups as any[]).map((b) => [b.checkpoint_lsn, b.action]), [[5242882n, 'delete'], [5242890n, 'delete'], [5242900n, 'keep']])
  assert.equal(readdirSync(backups).filter((n) => n.endsWith('.redbase')).length, 3)
  const done = jsonOf(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-last', '2', '--confirm', '--json']))
  assert.equal(done.deleted, 1n)
  assert.deepEqual(readdirSync(backups).filter((n) => n.endsWith('.redbase')).sort(), [name(5242890n), name(5242900n)])
  // By age: the manifests' times decide; the newest usable one stays even when old.
  for (const n of readdirSync(backups).filter((n) => n.endsWith('.redbase'))) utimesSync(path.join(backups, n), 1000, 1000)
  const aged = jsonOf(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-within', '7d', '--confirm', '--json']))
  assert.equal(aged.deleted, 1n)
  assert.deepEqual(readdirSync(backups).filter((n) => n.endsWith('.redbase')), [name(5242900n)])
  assert.equal((await runCli(['basebackup', 'expire', '--data-path', data])).exitCode, 2)
  assert.equal((await runCli(['basebackup', 'expire', '--data-path', data, '--keep-within', 'soon'])).exitCode, 2)
})

test('layout clean lists leftovers, removes them only with --confirm, and never what is not what its name claims', async () => {
  const {dir, data, backups} = await nodeWithBackups()
  const staging = path.join(backups, 'base-00000000000000000000-00000000000000000009.redbase.parts.tmp-999999999-5')
  mkdirSync(staging)
  writeFileSync(path.join(staging, '00000000000000000000.redchunk'), 'abc')
  const orphan = path.join(backups, 'base-00000000000000000000-00000000000000000010.redbase.parts')
  mkdirSync(orphan)
  const hostile = path.join(backups, 'base-00000000000000000000-00000000000000000011.redbase.parts')
  mkdirSync(hostile)
  writeFileSync(path.join(hostile, 'precious.txt'), 'x')
  const temp = path.join(layoutIn(dir).walDir(1n), '00000000000000000001.tmp')
  writeFileSync(temp, 'partial')
  const linkTarget = path.join(dir, 'target')
  writeFileSync(linkTarget, 'x')
  symlinkSync(linkTarget, path.join(dir, 'data.primary-replica', 'relay.tmp'))
  const dry = jsonOf(await runCli(['layout', 'clean', '--data-path', data, '--json']))
  assert.equal(dry.dry_run, true)
  assert.deepEqual((dry.leftovers as any[]).map((l) => l.kind).sort(), ['orphan-parts', 'staging-dir', 'temp-file'])
  assert.deepEqual((dry.skipped as any[]).map((s) => path.basename(s.path)).sort(), [path.basename(hostile), 'relay.tmp'])
  assert.ok(existsSync(staging) && existsSync(temp))
  const done = jsonOf(await runCli(['layout', 'clean', '--data-path', data, '--confirm', '--json']))
  assert.equal(done.removed, 3n)
  assert.ok(!existsSync(staging) && !existsSync(orphan) && !existsSync(temp))
  assert.ok(existsSync(path.join(hostile, 'precious.txt')) && existsSync(linkTarget))
  const verify = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
  assert.deepEqual((verify.findings as any[]).filter((f) => f.code.startsWith('leftover.')).map((f) => f.path).filter((p) => !p.includes('00000000000000000011') && !p.endsWith('relay.tmp')), [])
})

test('a crash right after delete removed the manifest leaves an orphan parts dir: a note, which layout clean removes', async () => {
  const {data, backups} = await nodeWithBackups(5242890n)
  const crashed = await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882'], {env: {REDREPL_CRASH_AT: 'basebackup-delete:after-manifest'}})
  assert.notEqual(crashed.exitCode, 0)
  assert.ok(!existsSync(path.join(backups, name(5242882n))) && existsSync(path.join(backups, `${name(5242882n)}.parts`)))
  const verify = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
  assert.deepEqual([verify.ok, (verify.findings as any[]).map((f) => f.code).filter((code: string) => code.startsWith('leftover.'))], [true, ['leftover.orphan-parts']])
  const list = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  assert.deepEqual((list.basebackups as any[]).map((b) => b.checkpoint_lsn), [5242890n])
  jsonOf(await runCli(['layout', 'clean', '--data-path', data, '--confirm', '--json']))
  assert.deepEqual(readdirSync(backups).sort(), [name(5242890n), `${name(5242890n)}.parts`])
})
