import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {verifyLayout} from '../../src/core/ops/layout-verify.js'
import {pad20} from '../../src/core/layout.js'
import {fixturePath, listFixtures, NOW_MS, readFixture, readFixtureJson} from '../support/fixtures.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

async function sample(name = 'primary-basic') {
  const copy = {dir: await scratch.layout(name)}
  return copy.dir
}

const T1 = path.join('data.primary-replica', 'timeline-00000000000000000001')

/** Where a file of each kind is planted in a copy of the sample layout; `i` keeps several apart where names allow. */
const PLANT: Record<string, (i: number) => string> = {
  'timeline-history': () => path.join('data.primary-replica', 'timeline-history.redtimeline'),
  'slot-catalog': () => path.join(T1, 'replication-slots.redslots'),
  'slot-catalog-legacy': () => 'data.rdb.logical.slots.json',
  'wal-segment': (i) => path.join(T1, 'wal', `${pad20(100 + i)}.redwal`),
  'basebackup-manifest': (i) => path.join(T1, 'basebackup', `base-${pad20(0)}-${pad20(900 + i)}.redbase`),
  'relay-segment': (i) => path.join(T1, 'relay', 'replica-a', `relay-${pad20(900 + i)}-${pad20(900 + i)}.redwal`),
  'relay-manifest': (i) => path.join(T1, 'relay', `planted-${i}`, 'relay.redmanifest'),
  'rebootstrap-marker': () => 'data.rebootstrap.ready',
  'embedded-rdb': () => 'data.rdb',
}

test('the fixture layouts verify clean', async () => {
  for (const name of ['primary-basic', 'after-failover', 'legacy-slots']) {
    const expected = readFixtureJson('layouts', `${name}.expected.json`) as {data_path: string}
    const report = await verifyLayout(path.join(await sample(name), expected.data_path), NOW_MS)
    assert.deepEqual(report.findings.filter((f) => f.severity !== 'note'), [], name)
    assert.equal(report.ok, true, name)
    assert.ok(report.checked > 0)
  }
})

for (const category of ['invalid', 'crashes']) {
  for (const kind of listFixtures(category)) {
    test(`layout verify reports every ${category}/${kind} file planted in a layout`, async () => {
      const files = readdirSync(fixturePath(category, kind)).filter((name) => !name.endsWith('.txt'))
      for (const [i, file] of files.entries()) {
        const dir = await sample()
        const target = path.join(dir, PLANT[kind](i))
        mkdirSync(path.dirname(target), {recursive: true})
        writeFileSync(target, readFixture(category, kind, file))
        const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
        assert.ok(!report.ok, `${file} planted at ${target} went unnoticed`)
        assert.ok(report.findings.some((p) => p.severity === 'error' && (p.path.endsWith(path.basename(target)) || p.path.includes(path.basename(path.dirname(target))))), `${file}: ${JSON.stringify(report.findings, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`)
      }
    })
  }
}

test('layout verify notes leftovers and reports a broken chunk and a marker for another data path', async () => {
  const dir = await sample()
  const backups = path.join(dir, T1, 'basebackup')
  writeFileSync(path.join(dir, T1, 'wal', '00000000000000000009.tmp'), 'x')
  mkdirSync(path.join(backups, 'base-00000000000000000000-00000000000005242882.redbase.parts.tmp-1-2'))
  const chunk = path.join(backups, 'base-00000000000000000000-00000000000005242882.redbase.parts', '00000000000000000002.redchunk')
  writeFileSync(chunk, Buffer.alloc(812))
  writeFileSync(path.join(dir, 'data.rebootstrap.ready'), '{"pending_path":"/elsewhere.rdb","checkpoint_lsn":1,"timeline":1}')
  const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
  const lines = report.findings.map((f) => `${f.severity} ${f.code}: ${f.message}`)
  assert.ok(lines.includes('note leftover.temp-file: temporary file left by an interrupted write'), lines.join('\n'))
  assert.ok(lines.some((p) => p.startsWith('note leftover.staging: staging')), lines.join('\n'))
  assert.ok(lines.some((p) => /^error basebackup.chunk: .*chunk 2 checksum mismatch/.test(p)), lines.join('\n'))
  assert.ok(lines.some((p) => /^error rebootstrap.pending-path: pending_path/.test(p)), lines.join('\n'))
  assert.equal(report.ok, false)
})

test('a timeline dir the history does not know is reported', async () => {
  const dir = await scratch.dir()
  cpSync(fixturePath('layouts', 'primary-basic'), dir, {recursive: true})
  mkdirSync(path.join(dir, 'data.primary-replica', 'timeline-00000000000000000007'))
  const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
  assert.ok(report.findings.some((p) => p.code === 'layout.unknown-timeline' && /timeline 7 is not in the timeline history/.test(p.message)))
})

test('leftovers of interrupted runs alone are notes: the layout still verifies', async () => {
  const dir = await sample()
  writeFileSync(path.join(dir, T1, 'wal', '00000000000000000009.tmp'), 'x')
  const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
  assert.equal(report.ok, true)
  // The database's format note depends on which RedDB made the fixture set.
  assert.deepEqual(report.findings.map((f) => f.code).filter((code) => code !== 'rdb.version-1-under-1-23'), ['leftover.temp-file'])
})
