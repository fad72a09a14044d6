import assert from 'node:assert/strict'
import {cpSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {verifyLayout} from '../../src/core/ops/layout/verify.js'
import {Layout, pad20} from '../../src/core/layout.js'
import {fixturePath, listFixtures, NOW_MS, readFixture, readFixtureJson} from '../support/fixtures.js'
import {useScratch} from '../support/cli.js'
import {activeSlot, closePrimaryBasicHole, MiB, writeWalNode} from '../support/wal-node.js'
import {layoutIn, T1} from '../support/layout-node.js'

const scratch = useScratch()

async function sample(name = 'primary-basic') {
  const copy = {dir: await scratch.layout(name)}
  return copy.dir
}


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

test('the fixture layouts verify clean; the hole primary-basic has at segment 4 is noted', async () => {
  for (const name of ['primary-basic', 'after-failover', 'legacy-slots']) {
    const expected = readFixtureJson('layouts', `${name}.expected.json`) as {data_path: string}
    const report = await verifyLayout(path.join(await sample(name), expected.data_path), NOW_MS)
    assert.deepEqual(report.findings.filter((f) => f.severity !== 'note'), [], name)
    assert.equal(report.ok, true, name)
    if (name === 'primary-basic') {
      assert.deepEqual(
        report.findings.filter((f) => f.code === 'wal.gap').map((f) => [f.code, f.severity, f.path, f.data]),
        [['wal.gap', 'note', path.join(T1, 'wal'), {first_missing_index: 4n, last_missing_index: 4n, first_missing_lsn: 4194304n, last_missing_lsn: 5242879n}]],
      )
    }
    assert.ok(report.artifacts_checked > 0)
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
  mkdirSync(layoutIn(dir).timelineDir(7n))
  const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
  assert.ok(report.findings.some((p) => p.code === 'layout.unknown-timeline' && /timeline 7 is not in the timeline history/.test(p.message)))
})

test('leftovers of interrupted runs alone are notes: the layout still verifies', async () => {
  const dir = await sample()
  closePrimaryBasicHole(dir)
  writeFileSync(path.join(dir, T1, 'wal', '00000000000000000009.tmp'), 'x')
  const report = await verifyLayout(path.join(dir, 'data.rdb'), NOW_MS)
  assert.equal(report.ok, true)
  // The database's format note depends on which RedDB made the fixture set.
  assert.deepEqual(report.findings.map((f) => f.code).filter((code) => code !== 'rdb.version-1-under-1-23'), ['leftover.temp-file'])
})

const codesOf = (report: Awaited<ReturnType<typeof verifyLayout>>) => report.findings.map((f) => `${f.severity} ${f.code}: ${f.message}`)

test('an active slot whose retention floor lies below the oldest WAL left is an error; an inactive one, or a restart LSN alone below it, is not', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: 2n * MiB,
    segments: {2: 3, 3: 3, 4: 3, 5: 3},
    slots: [
      activeSlot('replica-a', 2n * MiB, 2n * MiB + 5n),
      activeSlot('replica-b', 6n * MiB, 8n * MiB),
      // RedDB's own retention keeps WAL from min(flush, apply), so WAL below a restart LSN is routinely gone.
      activeSlot('pruned-past-restart', 0n, 5n * MiB),
      activeSlot('gone', 0n, 0n, false),
    ],
  })
  const report = await verifyLayout(data, NOW_MS)
  assert.deepEqual(codesOf(report), [
    'error slot.behind-wal: active slot "replica-a" needs WAL from LSN 2097157 (its retention floor), but the oldest WAL left (segment 2) starts at LSN 4194304: the replica cannot resume from WAL',
  ])
  assert.equal(report.ok, false)
})

test('holes are a warning, one per run of missing segments', async () => {
  const data = writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {0: 3, 1: 3, 2: 3, 6: 3, 7: 3, 9: 1}, slots: [activeSlot('a', 0n, 1n)]})
  const report = await verifyLayout(data, NOW_MS)
  assert.deepEqual(report.findings.map((f) => `${f.severity} ${f.code} ${f.data.first_missing_index}..${f.data.last_missing_index}`), ['note wal.gap 3..5', 'note wal.gap 8..8'])
})

test('a header whose start LSN implies another segment size is an error', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: MiB,
    segments: {0: 3, 1: 3, 2: 0, 3: 1},
    slots: [activeSlot('a', 0n, 1n)],
    tamper: (index, segment) => (index === 2 ? {...segment, start_lsn: 4n * MiB, end_lsn: 4n * MiB} : segment),
  })
  const report = await verifyLayout(data, NOW_MS)
  assert.deepEqual(codesOf(report), [`error wal.segment-size: starts at LSN ${4n * MiB}, so its segment size is ${2n * MiB}; segment 1 says ${MiB}`])
  assert.equal(report.findings[0].path, path.relative(path.dirname(data), Layout.fromDataPath(data).walSegmentPath(1n, 2n)))
})

test('a stalled retention on the current timeline is a warning; a lone current segment is not a stall', async () => {
  const dir = await scratch.dir()
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {0: 3, 1: 3, 2: 3}, slots: null})
  // No replica ever registered (no catalog, relay log or legacy store anywhere): what a restored node lacks by nature.
  const restored = await verifyLayout(data, NOW_MS)
  assert.deepEqual(codesOf(restored), [
    `note wal.retention-stalled: no replica has registered on this node yet (no slot catalog or relay log on any timeline, no legacy slot store: a node restored or newly built); RedDB creates the catalog when the first one registers and prunes no WAL until then; 2 segment(s) below the head's (${restored.findings[0].data.held_bytes} bytes) stay meanwhile`,
  ])
  assert.equal(restored.ok, true)
  // A relay log shows replication ran here: its catalog missing is a stall to act on.
  mkdirSync(layoutIn(dir).relayRoot(1n))
  const stalled = await verifyLayout(data, NOW_MS)
  assert.deepEqual(codesOf(stalled), [
    `warning wal.retention-stalled: no slot catalog on timeline 1: RedDB's retention prunes no WAL without one; 2 segment(s) below the head's (${stalled.findings[0].data.held_bytes} bytes) stay until that changes`,
  ])
  const idle = await verifyLayout(writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {0: 3, 1: 3}, slots: [activeSlot('a', 0n, 1n, false)]}), NOW_MS)
  assert.deepEqual(idle.findings.map((f) => [f.code, f.data.reason]), [['wal.retention-stalled', 'no-active-slot']])
  const fresh = await verifyLayout(writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {0: 3}, slots: null}), NOW_MS)
  assert.deepEqual(fresh.findings, [])
})
