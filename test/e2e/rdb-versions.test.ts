import assert from 'node:assert/strict'
import {chmodSync, closeSync, copyFileSync, cpSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead, decodeSuperblock, encodeSuperblock} from '../../src/core/format/embedded-rdb.js'
import {runCli, useScratch} from '../support/cli.js'
import {fixturesDir, fixturesDir123} from '../support/fixtures.js'
import {documentOf, jsonOf, modelOf} from '../support/node.js'

// RedDB 1.23's format-2 databases through the built CLI: read, verified and
// materialized. Fixture files are copied into scratch dirs, never written.

const scratch = useScratch()
const valid123 = path.join(fixturesDir123, 'valid', 'embedded-rdb')
const invalid123 = path.join(fixturesDir123, 'invalid', 'embedded-rdb')
const valid112 = path.join(fixturesDir, 'valid', 'embedded-rdb')

/** A copy of a fixture layout of RedDB 1.23.2's set (its data.rdb is format 2), writable. */
async function node123(name = 'primary-basic'): Promise<{dir: string; data: string}> {
  const dir = await scratch.dir()
  cpSync(path.join(fixturesDir123, 'layouts', name), dir, {recursive: true})
  chmodTree(dir)
  return {dir, data: path.join(dir, 'data.rdb')}
}

async function node112(): Promise<{dir: string; data: string}> {
  const dir = await scratch.dir()
  cpSync(path.join(fixturesDir, 'layouts', 'primary-basic'), dir, {recursive: true})
  chmodTree(dir)
  return {dir, data: path.join(dir, 'data.rdb')}
}

function chmodTree(dir: string): void {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name)
    chmodSync(file, entry.isDirectory() ? 0o755 : 0o644)
    if (entry.isDirectory()) chmodTree(file)
  }
}

/** Puts a fixture database in place as the node's data file. */
function useAsDataFile(fixture: string, data: string): void {
  rmSync(data, {force: true})
  copyFileSync(fixture, data)
}

const expectedJson = (dir: string, base: string) => stringifyJson(parseJson(readFileSync(path.join(dir, `${base}.json`), 'utf8')))

test('inspect --reddb 1.23 prints the model of every 1.23 database; format-2 files need no flag', async () => {
  const names = readdirSync(valid123).filter((name) => name.endsWith('.rdb') && !name.includes('.reencoded.'))
  assert.ok(names.length >= 25)
  for (const name of names) {
    const base = name.slice(0, -4)
    const flagged = await runCli(['inspect', '--json', '--reddb', '1.23', path.join(valid123, name)])
    assert.equal(flagged.exitCode, 0, `${name}: ${flagged.stderr}`)
    assert.equal(flagged.stdout, `${expectedJson(valid123, base)}\n`, name)
    if (!base.startsWith('version-1-')) {
      const shown = await runCli(['inspect', '--json', path.join(valid123, name)])
      assert.equal(shown.stdout, flagged.stdout, `${name}: its layout-2 superblocks say 1.23`)
    }
  }
})

test('manifest-damaged: valid by 1.12 (fallback, with a warning that 1.23 refuses it), exit 3 by 1.23', async () => {
  const file = path.join(valid112, 'manifest-damaged.rdb')
  const shown = await runCli(['inspect', file])
  assert.equal(shown.exitCode, 0, shown.stderr)
  assert.match(shown.stdout, /format 1, opened by RedDB 1\.12 and RedDB 1\.23; read by RedDB 1\.12's rules/)
  assert.match(shown.stdout, /RedDB 1\.23 would refuse it \(manifest zone failed validation.*\[rdb\.refused-by-1-23\]/)
  const strict = await runCli(['inspect', '--reddb', '1.23', file])
  assert.equal(strict.exitCode, 3)
  assert.match(strict.stderr, /manifest-damaged\.rdb: manifest zone failed validation/)
  for (const name of readdirSync(invalid123).filter((n) => n.endsWith('.rdb'))) {
    const result = await runCli(['inspect', '--reddb', '1.23', path.join(invalid123, name)])
    assert.equal(result.exitCode, 3, `${name}: ${result.stderr}`)
  }
})

test('inspect names the format and the releases that read it; a format-1 file gets the 1.23 note', async () => {
  const v2 = await runCli(['inspect', path.join(valid123, 'wal-wrapped.rdb')])
  assert.match(v2.stdout, /format 2, opened by RedDB 1\.23; read by RedDB 1\.23's rules \(a superblock in layout 2/)
  assert.doesNotMatch(v2.stdout, /rdb\.version-1-under-1-23/)
  const appended = await runCli(['inspect', path.join(valid123, 'version-1-appended.rdb')])
  assert.match(appended.stdout, /format 1, .*read by RedDB 1\.23's rules/)
  assert.match(appended.stdout, /RedDB 1\.12 would open an older state.*\[rdb\.version-1-under-1-23\]/)
  const help = await runCli(['inspect', '--help'])
  assert.match(help.stdout.replace(/\s+/g, ' '), /format 1, written by RedDB 1\.12 and read by RedDB 1\.12 and 1\.23; format 2, written and read by RedDB 1\.23/)
})

test('layout verify: the 1.23 layouts verify clean, with a wrapped WAL and a slot-1 manifest as the data file too', async () => {
  for (const name of ['primary-basic', 'after-failover']) {
    const {data} = await node123(name)
    const report = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
    assert.equal(report.ok, true, name)
    assert.deepEqual((report.findings as any[]).filter((f) => f.code.startsWith('rdb.')), [], name)
  }
  for (const fixture of ['wal-wrapped', 'wal-wrapped-twice', 'wal-wrapped-header-split', 'checkpointed-three-times', 'wal-fills-region']) {
    const {data} = await node123()
    useAsDataFile(path.join(valid123, `${fixture}.rdb`), data)
    const result = await runCli(['layout', 'verify', '--data-path', data, '--json'])
    assert.equal(result.exitCode, 0, `${fixture}: ${result.stdout}${result.stderr}`)
  }
})

test('layout verify: a format-1 data file under 1.23 (a layout-2 superblock) and one only 1.12 opens', async () => {
  const {data} = await node123()
  useAsDataFile(path.join(valid123, 'version-1-appended.rdb'), data)
  const appended = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
  assert.equal(appended.ok, true)
  assert.deepEqual((appended.findings as any[]).filter((f) => f.code.startsWith('rdb.')).map((f) => [f.code, f.severity, f.data.rules]), [['rdb.version-1-under-1-23', 'note', 'reddb-1.23']])
  useAsDataFile(path.join(valid112, 'manifest-damaged.rdb'), data)
  const damaged = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(damaged.exitCode, 3)
  assert.ok((documentOf(damaged.stdout) as any).findings.some((f: any) => f.code === 'rdb.refused-by-1-23' && f.severity === 'warning'))
})

test('materialize --rebootstrap on a 1.23 node writes format 2 and says so; the pending database verifies', async () => {
  const {dir, data} = await node123()
  useAsDataFile(path.join(valid123, 'wal-wrapped.rdb'), data)
  const report = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--json']))
  assert.deepEqual([report.rdb_version, report.rdb_version_source, report.read_by], [2n, 'data-file', ['RedDB 1.23']])
  const pending = path.join(dir, 'data.rebootstrap.pending.rdb')
  const opened = modelOf(await runCli(['inspect', '--json', pending])) as any
  assert.deepEqual([opened.manifest.version, opened.selected_superblock.wal_region_offset, opened.selected_superblock.snapshot_offset], [2n, 16384n, 81920n])
  const human = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap'])
  assert.match(human.stdout, /database format 2 \(the data file's\), opened by RedDB 1\.23/)
  const verify = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
  assert.equal(verify.ok, true)
  assert.deepEqual((verify.findings as any[]).filter((f) => f.code.startsWith('rdb.')), [])
  const refusedRun = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--rdb-version', '1'])
  assert.equal(refusedRun.exitCode, 4)
  assert.match(refusedRun.stderr, /the node runs RedDB 1\.23/)
})

test('create --from format-2 databases (one with a twice-wrapped WAL); materialize --to writes byte for byte what RedDB 1.23 creates', async () => {
  const {dir, data} = await node123()
  useAsDataFile(path.join(valid123, 'snapshot.rdb'), data)
  const created = await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '7000000', '--json'])
  assert.equal(created.exitCode, 0, created.stderr)
  const out = path.join(dir, 'out.rdb')
  const report = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '7000000', '--to', out, '--json']))
  assert.equal(report.rdb_version, 2n)
  assert.deepEqual(readFileSync(out), readFileSync(path.join(valid123, 'snapshot.rdb')), 'created_at pinned by REDREPL_NOW_MS')
  useAsDataFile(path.join(valid123, 'wal-wrapped-twice.rdb'), data)
  const wrapped = await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '7000001', '--json'])
  assert.equal(wrapped.exitCode, 0, wrapped.stderr)
  const snapshotHex = (parseJson(readFileSync(path.join(valid123, 'wal-wrapped-twice.json'), 'utf8')) as any).snapshot_hex as string
  assert.equal((jsonOf(wrapped).manifest as any).snapshot_bytes, BigInt(snapshotHex.length / 2))
})

test('materialize --to takes --rdb-version, or the data file\'s format, and refuses to guess without either', async () => {
  const {dir, data} = await node112()
  const v1 = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'a.rdb'), '--json']))
  assert.deepEqual([v1.rdb_version, v1.rdb_version_source], [1n, 'data-file'])
  const v2 = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'b.rdb'), '--rdb-version', '2', '--json']))
  assert.deepEqual([v2.rdb_version, v2.rdb_version_source], [2n, 'flag'])
  rmSync(data)
  const guess = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'c.rdb')])
  assert.equal(guess.exitCode, 2)
  assert.match(guess.stderr, /no database there to take the format from.*--rdb-version 1 \(RedDB 1\.12\) or --rdb-version 2 \(RedDB 1\.23\)/)
})

test('layout verify notes a data file and a pending database of different formats', async () => {
  const {data} = await node112()
  const staged = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--rdb-version', '2'])
  assert.equal(staged.exitCode, 0, staged.stderr)
  const report = jsonOf(await runCli(['layout', 'verify', '--data-path', data, '--json']))
  assert.equal(report.ok, true)
  const differ = (report.findings as any[]).find((f) => f.code === 'rdb.versions-differ')
  assert.ok(differ, stringifyJson(report.findings as any))
  assert.deepEqual([differ.data.pending_rdb_format, differ.data.data_rdb_format], [2n, 1n])
  const data112 = (report.findings as any[]).find((f) => f.path === 'data.rdb')
  assert.equal(data112.code, 'rdb.version-1-under-1-23')
  assert.match(data112.message, /RedDB 1\.12 and 1\.23 both open it/, 'read by 1.23 rules for the node, but nothing in it is 1.23\'s')
})

/** A sparse database of `size` snapshot bytes ("RDST" then zeros) in the given format. */
function bigDatabase(file: string, format: 1 | 2, size: number): void {
  const zeros = Buffer.alloc(16 * 1024 * 1024)
  let crc = crc32(Buffer.from('RDST'))
  for (let left = size - 4; left > 0; left -= zeros.length) crc = crc32(zeros.subarray(0, Math.min(left, zeros.length)), crc)
  const head = createDatabaseHead(format, BigInt(size), crc, 1700000000000n)
  const fd = openSync(file, 'w')
  writeSync(fd, head)
  writeSync(fd, Buffer.from('RDST'))
  ftruncateSync(fd, head.length + size)
  closeSync(fd)
}

function patchBothSuperblocks(file: string, change: Partial<ReturnType<typeof decodeSuperblock>>): void {
  const fd = openSync(file, 'r+')
  const head = Buffer.alloc(8192)
  readSync(fd, head, 0, 8192, 0)
  for (const slot of [0, 1] as const) writeSync(fd, encodeSuperblock({...decodeSuperblock(head.subarray(slot * 4096, (slot + 1) * 4096), slot), ...change}), 0, 4096, slot * 4096)
  closeSync(fd)
}

test('a database over 256 MiB in format 2 is streamed; a lying WAL boundary is exit 3 naming the file and the rule', async () => {
  const dir = await scratch.dir()
  const file = path.join(dir, 'big.rdb')
  bigDatabase(file, 2, 300 * 1024 * 1024)
  const shown = await runCli(['inspect', file])
  assert.equal(shown.exitCode, 0, shown.stderr)
  assert.match(shown.stdout, /314572800 bytes, CRC checked/)
  assert.match(shown.stdout, /format 2, opened by RedDB 1\.23/)
  patchBothSuperblocks(file, {wal_recovery_boundary: 1n << 40n})
  const lying = await runCli(['inspect', file])
  assert.equal(lying.exitCode, 3, lying.stderr)
  assert.match(lying.stderr, /big\.rdb: WAL zone failed validation: recovery boundary 1099511627776 lies outside the WAL region/)
  const v1 = path.join(dir, 'big1.rdb')
  bigDatabase(v1, 1, 300 * 1024 * 1024)
  patchBothSuperblocks(v1, {wal_recovery_boundary: 1n << 40n})
  const lying1 = await runCli(['inspect', v1])
  assert.equal(lying1.exitCode, 3, lying1.stderr)
  assert.match(lying1.stderr, /big1\.rdb: WAL zone failed validation: recovery boundary 1099511627776 lies past the WAL region's end/)
})
