import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {slotCatalogCodec} from '../../src/core/format/slot-catalog.js'
import {timelineHistoryCodec} from '../../src/core/format/timeline-history.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {Layout} from '../../src/core/layout.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {activeSlot, MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

/** Segments 0..7 of 1 MiB; replica-b's floor releases 0, 1 and 2 under a window of one segment. */
async function primary(floorB = 3n * MiB + 5n): Promise<{dataPath: string; layout: Layout; planPath: string}> {
  const dir = await scratch.dir('redrepl-walplan-')
  const dataPath = writeWalNode(dir, {
    segmentBytes: MiB,
    segments: {0: 3, 1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3},
    slots: [activeSlot('replica-a', 7n * MiB, 7n * MiB + 1n), activeSlot('replica-b', floorB, floorB)],
  })
  return {dataPath, layout: Layout.fromDataPath(dataPath), planPath: path.join(dir, 'prune.plan')}
}

const segmentsOf = (layout: Layout) => readdirSync(layout.walDir(1n)).sort()
const names = (...indexes: number[]) => indexes.map((i) => `${String(i).padStart(20, '0')}.redwal`)

function moveSlot(layout: Layout, floorB: bigint): void {
  const catalog = {timeline: 1n, slots: [activeSlot('replica-a', 7n * MiB, 7n * MiB + 1n), activeSlot('replica-b', floorB, floorB)]}
  writeFileSync(layout.slotCatalogPath(1n), slotCatalogCodec.encode(catalog, {nowMs: NOW_MS}))
}

async function savePlan(node: {dataPath: string; planPath: string}) {
  return jsonOf(await runCli(['wal', 'plan', '--data-path', node.dataPath, '--min-segments', '1', '--out', node.planPath, '--json']))
}

const applyPlan = (node: {dataPath: string; planPath: string}, ...extra: string[]) => runCli(['wal', 'prune', '--data-path', node.dataPath, '--plan', node.planPath, ...extra])

test('wal plan --out saves a plan; wal prune --plan removes exactly its segments', async () => {
  const node = await primary()
  const planned = await savePlan(node)
  assert.equal(planned.plan_path, node.planPath)
  assert.match(String(planned.inputs_fingerprint), /^sha256:[0-9a-f]{64}$/)
  const doc = parseJson(readFileSync(node.planPath, 'utf8')) as Record<string, any>
  assert.equal(doc.schema, 'redrepl-plan/1')
  assert.equal(doc.kind, 'wal-prune')
  assert.equal(doc.root_path, path.resolve(node.layout.root))
  assert.deepEqual(doc.policy, {min_segments: 1n, max_bytes: 4n << 30n, keep_until_replicas_ack: true})
  assert.deepEqual(doc.segments.map((s: any) => s.name), names(0, 1, 2))
  assert.equal(doc.inputs_fingerprint, planned.inputs_fingerprint)

  const dry = jsonOf(await applyPlan(node, '--dry-run', '--json'))
  assert.deepEqual((dry.removable_segments as any[]).map((s) => s.index), [0n, 1n, 2n])
  assert.deepEqual(dry.removed_segments, [])
  assert.equal(segmentsOf(node.layout).length, 8)

  const run = jsonOf(await applyPlan(node, '--json'))
  assert.deepEqual((run.removed_segments as any[]).map((s) => s.index), [0n, 1n, 2n])
  assert.equal((run.plan as any).fingerprint_matches, true)
  assert.deepEqual((run.plan as any).more_released_segment_indexes, [])
  assert.deepEqual(segmentsOf(node.layout), names(3, 4, 5, 6, 7))
})

test('when the layout now releases more, only the plan\'s segments go, and the rest is said', async () => {
  const node = await primary()
  await savePlan(node)
  moveSlot(node.layout, 5n * MiB + 5n)
  const run = await applyPlan(node)
  assert.equal(run.exitCode, 0, run.stderr)
  assert.match(run.stdout, /slot replica-b advanced \(LSN 3145733 → 5242885\)/)
  assert.match(run.stdout, /releases 2 more segment\(s\), left in place/)
  assert.match(run.stdout, /removed 3 segment\(s\)/)
  assert.deepEqual(segmentsOf(node.layout), names(3, 4, 5, 6, 7))
})

test('a new history file that keeps the timeline still applies, and says the history changed', async () => {
  const node = await primary()
  await savePlan(node)
  writeFileSync(node.layout.historyPath, timelineHistoryCodec.encode({entries: [{timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: NOW_MS, reason: 'initial'}]}, {nowMs: NOW_MS}))
  const run = jsonOf(await applyPlan(node, '--json'))
  assert.deepEqual((run.plan as any).input_changes, ['history changed'])
  assert.equal((run.plan as any).fingerprint_matches, false)
  assert.deepEqual(segmentsOf(node.layout), names(3, 4, 5, 6, 7))
})

/** Each change to the layout after the plan, and the line the refusal must carry. */
const changes: Array<{name: string; change: (layout: Layout) => void; says: RegExp}> = [
  {
    name: 'a segment rewritten with more records',
    change: (layout) => {
      let segment = emptyWalSegment(1n, 1n, MiB)
      for (let k = 0n; k < 4n; k++) segment = appendWalRecord(segment, MiB + k, new TextEncoder().encode(`op-${MiB + k}`), MiB)
      writeFileSync(layout.walSegmentPath(1n, 1n), walSegmentCodec.encode(segment, {nowMs: NOW_MS}))
    },
    says: /segment 00000000000000000001 changed size \(\d+ → \d+ bytes\)/,
  },
  {
    name: 'a segment rewritten to the same size',
    change: (layout) => {
      let segment = emptyWalSegment(1n, 2n, MiB)
      for (let k = 0n; k < 3n; k++) segment = appendWalRecord(segment, 2n * MiB + k, new TextEncoder().encode(`OP-${2n * MiB + k}`), MiB)
      writeFileSync(layout.walSegmentPath(1n, 2n), walSegmentCodec.encode(segment, {nowMs: NOW_MS}))
    },
    says: /segment 00000000000000000002 was rewritten \(header CRC 0x[0-9a-f]{8} → 0x[0-9a-f]{8}\)/,
  },
  {
    name: 'a slot moved back',
    change: (layout) => moveSlot(layout, MiB + 5n),
    says: /segment 00000000000000000001 is kept now \(slot floor \(replica-b, LSN 1048581\)\).*slot replica-b regressed \(LSN 3145733 → 1048581\)/,
  },
  {
    name: 'a new timeline in the history',
    change: (layout) =>
      writeFileSync(
        layout.historyPath,
        timelineHistoryCodec.encode(
          {
            entries: [
              {timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: NOW_MS, reason: 'initial'},
              {timeline: 2n, parent_timeline: 1n, fork_lsn: 7n * MiB + 1n, created_at_unix_ms: NOW_MS, reason: 'promote replica-a'},
            ],
          },
          {nowMs: NOW_MS},
        ),
      ),
    says: /the plan is for timeline 1, the current timeline is 2; history changed/,
  },
]

for (const {name, change, says} of changes) {
  test(`wal prune --plan refuses after ${name}, and removes nothing`, async () => {
    const node = await primary()
    await savePlan(node)
    change(node.layout)
    const before = segmentsOf(node.layout)
    const run = await applyPlan(node)
    assert.equal(run.exitCode, 4, run.stderr)
    assert.match(run.stderr, /the layout changed since the plan was made: /)
    assert.match(run.stderr, says)
    assert.match(run.stderr, /nothing was removed; make a new plan/)
    assert.deepEqual(segmentsOf(node.layout), before)
  })
}

test('a tampered plan is refused before anything is removed', async () => {
  const node = await primary()
  await savePlan(node)
  const original = readFileSync(node.planPath, 'utf8')
  const edits: Array<[(doc: any) => void, RegExp, number]> = [
    [(doc) => (doc.segments[0].name = '../../../data.rdb'), /names "..\/..\/..\/data.rdb", not the WAL segment file of index 0/, 4],
    [(doc) => (doc.segments[2].index = 6), /names "00000000000000000002.redwal", not the WAL segment file of index 6/, 4],
    [(doc) => (doc.root_path = '/elsewhere/data.primary-replica'), /the plan is for the layout \/elsewhere\/data.primary-replica/, 4],
    [(doc) => (doc.timeline = 2), /the plan is for timeline 2, the current timeline is 1/, 4],
    [(doc) => doc.segments.push({name: names(6)[0], index: 6, bytes: 0, header_crc32: 0}), /segment 00000000000000000006 changed size/, 4],
    [(doc) => (doc.segments[0].bytes = 'many'), /segments\[0\]\.bytes must be an unsigned 64-bit integer/, 3],
  ]
  for (const [edit, says, exit] of edits) {
    const doc = parseJson(original) as any
    edit(doc)
    writeFileSync(node.planPath, stringifyJson(doc))
    const run = await applyPlan(node)
    assert.equal(run.exitCode, exit, run.stderr)
    assert.match(run.stderr, says)
    assert.equal(segmentsOf(node.layout).length, 8)
  }
  writeFileSync(node.planPath, original.slice(0, 40))
  const truncated = await applyPlan(node)
  assert.equal(truncated.exitCode, 3, truncated.stderr)
  assert.match(truncated.stderr, /prune.plan: not a JSON document/)
})

test('a plan given for another node\'s data path is refused', async () => {
  const node = await primary()
  const other = await primary()
  await savePlan(node)
  const run = await runCli(['wal', 'prune', '--data-path', other.dataPath, '--plan', node.planPath])
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, /the plan is for the layout .* not /)
  assert.equal(segmentsOf(other.layout).length, 8)
})

test('policy flags are refused with --plan, as typed; config settings for them are ignored', async () => {
  const node = await primary()
  await savePlan(node)
  for (const flag of [['--min-segments', '4'], ['--max-bytes=1MiB'], ['--no-keep-until-replicas-ack'], ['--fork-lsn', '5'], ['--adopt-catalog-timeline'], ['--segment-bytes', '1MiB'], ['--current-lsn', '7340033']]) {
    const run = await applyPlan(node, ...flag)
    assert.equal(run.exitCode, 2, `${flag}: ${run.stderr}`)
    assert.match(run.stderr, /--plan carries its own policy: leave out --/)
  }
  assert.equal(segmentsOf(node.layout).length, 8)
  const config = path.join(path.dirname(node.planPath), 'redrepl.conf')
  writeFileSync(config, '[defaults]\nmin-segments = 6\n')
  const run = await applyPlan(node, '--config', config, '--json')
  assert.deepEqual((jsonOf(run).removed_segments as any[]).map((s) => s.index), [0n, 1n, 2n])
})

test('a plan file that is a symlink or a FIFO is refused without following or hanging', async () => {
  const node = await primary()
  await savePlan(node)
  const link = `${node.planPath}.link`
  symlinkSync(node.planPath, link)
  const viaLink = await runCli(['wal', 'prune', '--data-path', node.dataPath, '--plan', link])
  assert.equal(viaLink.exitCode, 3, viaLink.stderr)
  assert.match(viaLink.stderr, /prune.plan.link: is a symbolic link, not a regular file/)
  const fifo = `${node.planPath}.fifo`
  execFileSync('mkfifo', [fifo])
  const viaFifo = await runCli(['wal', 'prune', '--data-path', node.dataPath, '--plan', fifo], {timeoutMs: 10_000})
  assert.equal(viaFifo.exitCode, 3, viaFifo.stderr)
  assert.match(viaFifo.stderr, /is a FIFO \(named pipe\), not a regular file/)
  assert.equal(segmentsOf(node.layout).length, 8)
})

test('wal plan --out replaces a link at the path instead of writing through it', async () => {
  const node = await primary()
  const victim = path.join(path.dirname(node.planPath), 'victim')
  writeFileSync(victim, 'keep me')
  symlinkSync(victim, node.planPath)
  await savePlan(node)
  assert.equal(readFileSync(victim, 'utf8'), 'keep me')
  assert.match(readFileSync(node.planPath, 'utf8'), /"kind": "wal-prune"/)
})

test('wal plan --out never replaces a file that is not a plan, nor writes inside the layout', async () => {
  const node = await primary()
  writeFileSync(node.dataPath, 'the database')
  const overData = await runCli(['wal', 'plan', '--data-path', node.dataPath, '--out', node.dataPath])
  assert.equal(overData.exitCode, 4, overData.stderr)
  assert.match(overData.stderr, /exists and is not a redrepl plan; nothing was written/)
  assert.equal(readFileSync(node.dataPath, 'utf8'), 'the database')

  const segment = node.layout.walSegmentPath(1n, 3n)
  const before = readFileSync(segment)
  const intoWal = await runCli(['wal', 'plan', '--data-path', node.dataPath, '--out', segment])
  assert.equal(intoWal.exitCode, 4, intoWal.stderr)
  assert.match(intoWal.stderr, /lies inside the layout/)
  assert.ok(readFileSync(segment).equals(before))
  const fresh = await runCli(['wal', 'plan', '--data-path', node.dataPath, '--out', path.join(node.layout.root, 'new.plan')])
  assert.equal(fresh.exitCode, 4, fresh.stderr)

  await savePlan(node)
  await savePlan(node)
  assert.match(readFileSync(node.planPath, 'utf8'), /"kind": "wal-prune"/)
})

test('a crash while saving a plan leaves the old plan or the new one, whole, and the next save clears the temp', async () => {
  const node = await primary()
  await savePlan(node)
  const old = readFileSync(node.planPath, 'utf8')
  moveSlot(node.layout, 5n * MiB + 5n)
  const args = ['wal', 'plan', '--data-path', node.dataPath, '--min-segments', '1', '--out', node.planPath]
  for (const point of ['after-temp-write', 'after-temp-fsync']) {
    const killed = await runCli(args, {env: {REDREPL_CRASH_AT: `plan-file:${point}`}})
    assert.notEqual(killed.exitCode, 0, point)
    assert.equal(readFileSync(node.planPath, 'utf8'), old, `${point}: the old plan, untouched`)
  }
  const renamed = await runCli(args, {env: {REDREPL_CRASH_AT: 'plan-file:after-rename'}})
  assert.notEqual(renamed.exitCode, 0)
  const doc = parseJson(readFileSync(node.planPath, 'utf8')) as Record<string, any>
  assert.deepEqual(doc.segments.map((s: any) => s.name), names(0, 1, 2, 3, 4), 'after the rename: the new plan, whole')
  jsonOf(await runCli([...args, '--json']))
  assert.deepEqual(readdirSync(path.dirname(node.planPath)).filter((name) => name.endsWith('.tmp')), [])
  const run = jsonOf(await applyPlan(node, '--json'))
  assert.deepEqual((run.removed_segments as any[]).map((s) => s.index), [0n, 1n, 2n, 3n, 4n])
})

test('a saved plan is refused when the repository given now lacks a segment it would remove', async () => {
  const node = await primary()
  await savePlan(node)
  const repo = await scratch.dir('redrepl-walplan-repo-')
  const run = await applyPlan(node, '--repo', repo)
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, /not archived/)
  assert.match(run.stderr, /nothing was removed/)
  assert.equal(segmentsOf(node.layout).length, 8)
})
