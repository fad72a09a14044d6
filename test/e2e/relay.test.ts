import assert from 'node:assert/strict'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import type {JsonObject} from '../../src/core/codec/json.js'
import {relayManifestCodec} from '../../src/core/format/relay-manifest.js'
import {documentOf, jsonOf, modelOf} from '../support/node.js'
import {lacks, straceMissing, traceCli} from '../support/syscalls.js'
import {primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()

async function primary() {
  const copy = await primaryCopy(scratch)
  return {...copy, relay: (id: string) => copy.layout.relayDir(1n, id)}
}

const lines = (records: Array<[number, string]>) => records.map(([lsn, hex]) => `{"lsn":${lsn},"payload_hex":"${hex}"}`).join('\n') + '\n'

test('two batches become two segments and a manifest RedDB reads back', async () => {
  const {data, relay} = await primary()
  const first = jsonOf(await runCli(['relay', 'append', '--data-path', data, '--replica', 'r1', '--create', '--applied-lsn', '1', '--json'], {input: lines([[1, '61'], [2, '62'], [3, '']])}))
  assert.deepEqual(first.new_segment, {relative_path: 'relay-00000000000000000001-00000000000000000003.redwal', start_lsn: 1n, end_lsn: 3n, checksum: (first.new_segment as any).checksum})
  const second = jsonOf(
    await runCli(['relay', 'append', '--data-path', data, '--replica', 'r1', '--applied-lsn', '99', '--json'], {input: '{"lsn":2,"payload_hex":"62"}\n{"lsn":5,"payload_base64":"aGk="}\n'}),
  )
  assert.equal(second.appended_records, 1n)
  const manifest = modelOf(await runCli(['inspect', '--json', path.join(relay('r1'), 'relay.redmanifest')]))
  assert.deepEqual([manifest.replica_id, manifest.timeline, manifest.received_lsn, manifest.flushed_lsn, manifest.applied_lsn], ['r1', 1n, 5n, 5n, 5n])
  assert.deepEqual((manifest.segments as any[]).map((s) => s.relative_path), ['relay-00000000000000000001-00000000000000000003.redwal', 'relay-00000000000000000005-00000000000000000005.redwal'])
  const segment = modelOf(await runCli(['inspect', '--json', path.join(relay('r1'), 'relay-00000000000000000005-00000000000000000005.redwal')]))
  assert.deepEqual(segment.records, [{lsn: 5n, payload_hex: '6869'}])
})

test('a batch at or below flushed only moves applied; an empty batch changes nothing', async () => {
  const {data, relay} = await primary()
  const base = ['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--json']
  const old = modelOf(await runCli(['inspect', '--json', path.join(relay('replica-a'), 'relay.redmanifest')]))
  const moved = jsonOf(await runCli([...base, '--applied-lsn', '40'], {input: lines([[10, '00']])}))
  assert.equal(moved.new_segment, null)
  assert.equal((moved.manifest as any).applied_lsn, 40n)
  assert.deepEqual((moved.manifest as any).segments, old.segments)
  const empty = jsonOf(await runCli(['relay', 'append', '--data-path', data, '--replica', 'fresh', '--create', '--applied-lsn', '0', '--json'], {input: '\n'}))
  assert.equal(empty.appended_records, 0n)
  assert.ok(!existsSync(relay('fresh')))
})

test('bad replica ids and bad lines are usage errors and write nothing', async () => {
  const {data, relay} = await primary()
  for (const id of ['../x', 'a/b', '', '..']) {
    const result = await runCli(['relay', 'append', '--data-path', data, '--replica', id, '--applied-lsn', '0'], {input: lines([[1, '00']])})
    assert.equal(result.exitCode, 2, `${id}: ${result.stderr}`)
  }
  const bad = await runCli(['relay', 'append', '--data-path', data, '--replica', 'r2', '--create', '--applied-lsn', '0'], {input: '{"lsn":1,"payload_hex":"00"}\n{"lsn":-2,"payload_hex":"00"}\n'})
  assert.equal(bad.exitCode, 2)
  assert.match(bad.stderr, /record line 2/)
  assert.ok(!existsSync(relay('r2')))
})

test('--from-wal ships the primary\'s own records', async () => {
  const {data, relay} = await primary()
  const report = jsonOf(await runCli(['relay', 'append', '--data-path', data, '--replica', 'shipped', '--create', '--applied-lsn', '0', '--from-wal', '--from-lsn', '1', '--to-lsn', '5', '--json']))
  const wal = modelOf(await runCli(['inspect', '--json', path.join(path.dirname(path.dirname(relay('x'))), 'wal', '00000000000000000000.redwal')]))
  const expected = (wal.records as any[]).filter((r) => r.lsn >= 1n && r.lsn <= 5n).map((r) => ({lsn: r.lsn, payload_hex: r.payload_hex}))
  const segment = modelOf(await runCli(['inspect', '--json', path.join(relay('shipped'), (report.new_segment as any).relative_path)]))
  assert.ok(expected.length > 0)
  assert.deepEqual(segment.records, expected)
})

test('an inconsistent relay log stops the append (exit 3)', async () => {
  const {data, relay} = await primary()
  const segment = path.join(relay('replica-a'), 'relay-00000000000000000021-00000000000000000040.redwal')
  const bytes = readFileSync(segment)
  bytes[bytes.length - 10] ^= 0xff
  writeFileSync(segment, bytes)
  const before = readFileSync(path.join(relay('replica-a'), 'relay.redmanifest'))
  const result = await runCli(['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '0'], {input: lines([[41, '00']])})
  assert.equal(result.exitCode, 3)
  assert.match(result.stderr, /relay\.redmanifest: relay manifest is inconsistent/)
  assert.deepEqual(readFileSync(path.join(relay('replica-a'), 'relay.redmanifest')), before)
})

test('layout verify reports a damaged and a missing relay segment both as files and through the manifest that names them', async () => {
  const {data, relay} = await primary()
  const dir = relay('replica-a')
  const first = path.join(dir, 'relay-00000000000000000001-00000000000000000020.redwal')
  const second = path.join(dir, 'relay-00000000000000000021-00000000000000000040.redwal')
  const damaged = readFileSync(first)
  damaged[damaged.length - 1] ^= 1
  writeFileSync(first, damaged)
  rmSync(second)
  const result = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(result.exitCode, 3, result.stderr)
  const relative = (file: string) => path.relative(path.dirname(data), file)
  const relayFindings = (documentOf(result.stdout).findings as JsonObject[]).filter((f) => String(f.path).includes(`${path.sep}relay${path.sep}`)).map((f) => [f.code, f.path, String(f.message).replace(/ [0-9a-fx]+, computed [0-9a-fx]+$/, '')])
  assert.deepEqual(relayFindings, [
    ['artifact.corrupt', relative(first), 'replica relay log segment checksum mismatch: stored'],
    ['relay.inconsistent', relative(path.join(dir, 'relay.redmanifest')), 'relay-00000000000000000001-00000000000000000020.redwal: replica relay log segment checksum mismatch: stored'],
    ['relay.inconsistent', relative(path.join(dir, 'relay.redmanifest')), 'relay-00000000000000000021-00000000000000000040.redwal: referenced segment is missing'],
  ])
})

test('layout verify names a sound relay segment that its manifest entry contradicts, and only through the manifest', async () => {
  const {data, relay} = await primary()
  const manifestPath = path.join(relay('replica-a'), 'relay.redmanifest')
  const manifest = relayManifestCodec.decode(readFileSync(manifestPath), {nowMs: 0n})
  const [first, ...rest] = manifest.segments
  writeFileSync(manifestPath, relayManifestCodec.encode({...manifest, segments: [{...first, end_lsn: first.end_lsn - 1n, checksum: (first.checksum + 1) >>> 0}, ...rest]}, {nowMs: 0n}))
  const result = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(result.exitCode, 3, result.stderr)
  const relayFindings = (documentOf(result.stdout).findings as JsonObject[]).filter((f) => String(f.path).includes(`${path.sep}relay${path.sep}`)).map((f) => [f.code, String(f.message)])
  assert.deepEqual(relayFindings, [
    ['relay.inconsistent', `${first.relative_path}: covers ${first.start_lsn}..${first.end_lsn}, manifest says ${first.start_lsn}..${first.end_lsn - 1n}`],
    ['relay.inconsistent', `${first.relative_path}: checksum ${first.checksum}, manifest says ${(first.checksum + 1) >>> 0}`],
  ])
})

test('layout verify opens each relay segment once, for its own check and the manifest\'s', async (t) => {
  if (lacks(t, straceMissing())) return
  const {data, relay} = await primary()
  const run = traceCli(['layout', 'verify', '--data-path', data, '--json'], {calls: ['openat'], traceFile: path.join(path.dirname(data), 'verify.trace')})
  assert.equal(run.status, 0, run.stderr)
  const opened = run.lines.filter((line) => line.includes(`${relay('replica-a')}${path.sep}relay-`) && !line.includes('ENOENT'))
  const names = opened.map((line) => /relay-[0-9]+-[0-9]+\.redwal/.exec(line)![0]).sort()
  assert.deepEqual(names, ['relay-00000000000000000001-00000000000000000020.redwal', 'relay-00000000000000000021-00000000000000000040.redwal'])
})
