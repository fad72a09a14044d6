import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {basebackupChunkRelativePath, basebackupManifestName} from '../../src/core/layout.js'
import {plantBackup} from '../support/backups.js'
import {runCli, useScratch} from '../support/cli.js'
import {repoRoot} from '../support/fixtures.js'
import {documentOf, jsonOf} from '../support/node.js'
import {primaryCopy} from '../support/layout-node.js'

/**
 * "Usable" means complete: a backup with a chunk gone, or a manifest no
 * writer makes, is never the one kept, listed usable, recommended, restored
 * or counted; and a snapshot RedDB would not open never becomes a backup.
 */

const scratch = useScratch()
/** primary-basic's own backup, intact: checkpoint 5242882, the WAL head. */
const INTACT = 5242882n

const primary = () => primaryCopy(scratch)

async function create(data: string, checkpoint: bigint, snapshot: Buffer, chunkSize = '4KiB') {
  return runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', chunkSize, '--json'], {input: snapshot})
}

/** The --json report of a run that exits `code` with one (layout verify, check). */
function reportOf(result: {exitCode: number; stdout: string; stderr: string}, code: number) {
  assert.equal(result.exitCode, code, result.stderr)
  return documentOf(result.stdout)
}

const rdst = (fill: number, bytes = 9000) => Buffer.concat([Buffer.from('RDST'), Buffer.alloc(bytes, fill)])

test('a newest backup with a chunk missing is usable nowhere: list, expire, catchup, materialize, check and verify pass over it or fail on it', async () => {
  const {dir, data, backups} = await primary()
  const newer = 5242890n
  jsonOf(await create(data, newer, rdst(5)))
  const manifest = path.join(backups, basebackupManifestName(0n, newer))
  rmSync(path.join(backups, basebackupChunkRelativePath(0n, newer, 1)))

  const list = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  const entries = list.basebackups as Array<Record<string, unknown>>
  assert.deepEqual(entries.map((b) => [b.checkpoint_lsn, b.usable_for_catchup]), [[INTACT, true], [newer, false]])
  assert.match(String(entries[1].damage), /chunk 1 .* is missing/)
  assert.equal(entries[0].damage, null)
  const human = await runCli(['basebackup', 'list', '--data-path', data])
  assert.match(human.stdout, /damaged/)

  const catchup = jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '0', '--json']))
  assert.equal(catchup.mode, 'basebackup-then-wal')
  assert.equal((catchup.selected_basebackup as Record<string, unknown>).checkpoint_lsn, INTACT)

  // CRITICAL for the damage itself (basebackup.chunk), while the age is measured on the intact one.
  const check = reportOf(await runCli(['check', '--data-path', data, '--json']), 2)
  assert.equal(((check.basebackups as Record<string, unknown>).newest_usable as Record<string, unknown>).checkpoint_lsn, INTACT)

  const verify = await runCli(['basebackup', 'verify', '--data-path', data])
  assert.equal(verify.exitCode, 3, 'verify looks at the newest backup, not the newest intact one')
  assert.match(verify.stderr, /chunk 1 .* is missing/)

  const restored = path.join(dir, 'restored.rdb')
  const materialized = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', restored, '--json']))
  assert.equal(materialized.checkpoint_lsn, INTACT)

  const expired = jsonOf(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-last', '1', '--confirm', '--json']))
  const verdicts = expired.backups as Array<Record<string, unknown>>
  assert.deepEqual(verdicts.map((b) => [b.checkpoint_lsn, b.action]), [[INTACT, 'keep'], [newer, 'keep']])
  assert.match(String(verdicts[0].reason), /newest usable/)
  assert.ok(existsSync(path.join(backups, basebackupManifestName(0n, INTACT))), 'the intact older backup survives')
  assert.ok(existsSync(manifest))
})

test('a manifest claiming an 8 EiB snapshot is damage: never usable, never recommended, and layout verify names it', async () => {
  const {data} = await primary()
  const huge = 1n << 63n
  plantBackup(path.dirname(data), 5242900n, [Buffer.from('RDST')], {
    snapshot_bytes: huge,
    chunks: [{ordinal: 0, snapshot_offset: 0n, bytes: huge, checksum: crc32(Buffer.from('RDST')), relative_path: basebackupChunkRelativePath(0n, 5242900n, 0)}],
  })
  const list = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  const entry = (list.basebackups as Array<Record<string, unknown>>).find((b) => b.checkpoint_lsn === 5242900n)!
  assert.equal(entry.usable_for_catchup, false)
  assert.match(String(entry.damage), /more than a database file can hold/)
  const catchup = jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '0', '--json']))
  assert.equal((catchup.selected_basebackup as Record<string, unknown>).checkpoint_lsn, INTACT)
  const verify = reportOf(await runCli(['layout', 'verify', '--data-path', data, '--json']), 3)
  const codes = (verify.findings as Array<Record<string, unknown>>).map((f) => f.code)
  assert.ok(codes.includes('basebackup.unrestorable'), String(codes))
})

test('chunks not cut the way every writer cuts them make a backup damaged', async () => {
  const {data} = await primary()
  plantBackup(path.dirname(data), 5242901n, [Buffer.from('RDST'), Buffer.alloc(4096, 1), Buffer.alloc(10, 2)])
  const list = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  const entry = (list.basebackups as Array<Record<string, unknown>>).find((b) => b.checkpoint_lsn === 5242901n)!
  assert.equal(entry.usable_for_catchup, false)
  assert.match(String(entry.damage), /chunk 0 holds 4 bytes where a writer cutting 4-byte chunks puts 4|chunk 1 holds 4096 bytes/)
})

test('verify applies RedDB\'s open rules: a backup whose snapshot does not start with RDST fails, though every CRC matches', async () => {
  const {data} = await primary()
  plantBackup(path.dirname(data), 5242902n, [Buffer.from('XXXX0000'), Buffer.from('1111')])
  const verify = await runCli(['basebackup', 'verify', '--data-path', data, '--checkpoint-lsn', '5242902'])
  assert.equal(verify.exitCode, 3)
  assert.match(verify.stderr, /does not start with RDST/)
  assert.equal(verify.stderr.trim().split('\n').length, 1)
  const layout = reportOf(await runCli(['layout', 'verify', '--data-path', data, '--json']), 3)
  assert.ok((layout.findings as Array<Record<string, unknown>>).some((f) => f.code === 'basebackup.unrestorable' && /RDST/.test(String(f.message))))
  const deep = reportOf(await runCli(['check', '--data-path', data, '--deep', '--json']), 2)
  assert.ok((deep.findings as Array<Record<string, unknown>>).some((f) => f.code === 'basebackup.unrestorable'))
  const materialize = await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '5242902', '--to', path.join(path.dirname(data), 'x.rdb')])
  assert.equal(materialize.exitCode, 3)
})

test('verify proves catch-up: a backup whose checkpoint lies below a WAL gap fails; an intact one reports the WAL it catches up over', async () => {
  const {data} = await primary()
  // primary-basic lacks segment 4: WAL runs without a gap from 5242880 only.
  jsonOf(await create(data, 100n, rdst(1)))
  const below = await runCli(['basebackup', 'verify', '--data-path', data, '--checkpoint-lsn', '100'])
  assert.equal(below.exitCode, 3)
  assert.match(below.stderr, /could not catch up: the WAL kept runs without a gap from LSN 5242880 only/)
  const ok = jsonOf(await runCli(['basebackup', 'verify', '--data-path', data, '--checkpoint-lsn', String(INTACT), '--json']))
  assert.equal(ok.wal_available_from_lsn, 5242880n)
  assert.equal(ok.wal_head_lsn, INTACT)
})

test('create refuses a snapshot RedDB would not open, and a stdin stream cut short or running long, writing nothing', async () => {
  const {dir, data, backups} = await primary()
  const before = readdirSync(backups).sort()
  const notRdst = Buffer.alloc(9000, 7)
  const file = path.join(dir, 'snapshot.bin')
  writeFileSync(file, notRdst)
  for (const run of [
    await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', file, '--checkpoint-lsn', '9']),
    await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', '9000', '--checkpoint-lsn', '9'], {input: notRdst}),
  ]) {
    assert.equal(run.exitCode, 3, run.stderr)
    assert.match(run.stderr, /does not start with RDST.*no base backup was written/)
  }
  const snapshot = rdst(3, 262_140)
  const cut = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '9'], {input: snapshot.subarray(0, 200_000)})
  assert.equal(cut.exitCode, 3)
  assert.match(cut.stderr, /^redrepl: stdin: ended after 200000 of the 262144 bytes announced/)
  const long = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', '200000', '--checkpoint-lsn', '9'], {input: snapshot})
  assert.equal(long.exitCode, 3)
  assert.match(long.stderr, /more than the 200000 bytes announced/)
  const unsized = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--checkpoint-lsn', '9'], {input: snapshot})
  assert.equal(unsized.exitCode, 2)
  assert.match(unsized.stderr, /--snapshot-bytes/)
  assert.deepEqual(readdirSync(backups).sort(), before, 'no manifest, parts or staging dir left')
  // The announced size, given right, makes the backup.
  const made = jsonOf(await create(data, 9n, snapshot, '64KiB'))
  assert.equal(made.snapshot_bytes, 262_144n)
  // Snapshots under 4 bytes are opened without a magic (§9.1): still accepted.
  jsonOf(await create(data, 10n, Buffer.from('ab')))
})

test('the quick check keeps chunks inside basebackup/: a parts dir or a chunk linked out of it is damage, not a usable backup', async () => {
  const {dir, data, backups} = await primary()
  const parts = path.join(backups, `${basebackupManifestName(0n, INTACT)}.parts`)
  const outside = path.join(await scratch.dir(), 'parts')
  renameSync(parts, outside)
  symlinkSync(outside, parts)
  const linkedDir = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  const entry = (linkedDir.basebackups as Array<Record<string, unknown>>)[0]
  assert.deepEqual([entry.usable_for_catchup, /leads outside/.test(String(entry.damage))], [false, true], String(entry.damage))
  rmSync(parts)
  mkdirSync(parts)
  for (const name of readdirSync(outside)) symlinkSync(path.join(outside, name), path.join(parts, name))
  const linkedChunks = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  assert.match(String((linkedChunks.basebackups as Array<Record<string, unknown>>)[0].damage), /leads outside/)
  assert.ok(existsSync(path.join(dir, 'data.rdb')))
})

test('create with small chunks holds a bounded number of files open: 4096 chunks under a limit of 1024 descriptors', async () => {
  const {dir, data} = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(4 * 1024 * 1024 - 4, 6)])
  const file = path.join(dir, 'small-chunks.bin')
  writeFileSync(file, snapshot)
  const run = spawnSync('sh', ['-c', 'ulimit -n 1024 && exec "$0" "$@"', process.execPath, path.join(repoRoot, 'bin', 'run.js'), 'basebackup', 'create', '--data-path', data, '--snapshot', file, '--checkpoint-lsn', '5242899', '--chunk-size', '1KiB', '--json'], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})
  assert.equal(run.status, 0, run.stderr)
  const made = documentOf(run.stdout)
  assert.equal((made.manifest as Record<string, unknown[]>).chunks.length, 4096)
  jsonOf(await runCli(['basebackup', 'verify', '--data-path', data, '--checkpoint-lsn', '5242899', '--json']))
})
