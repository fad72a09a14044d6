import assert from 'node:assert/strict'
import {readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {appendWalRecord} from '../../src/core/format/wal-segment.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {activeSlot, MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

const T = (timeline: number) => `timeline-${String(timeline).padStart(20, '0')}`
const walDir = (data: string, timeline = 1) => path.join(path.dirname(data), 'data.primary-replica', T(timeline), 'wal')
const segmentFile = (data: string, index: number, timeline = 1) => path.join(walDir(data, timeline), `${String(index).padStart(20, '0')}.redwal`)
const onDisk = (data: string, timeline = 1) => readdirSync(walDir(data, timeline)).sort().map((name) => Number(name.slice(0, 20)))
const codes = (report: Record<string, unknown>) => (report.findings as Array<{code: string}>).map((f) => f.code)

/** A node with 2 MiB segments 0..5 whose active slot replica-a restarts at segment 2 (LSN 4 MiB). */
async function twoMiBNode(): Promise<string> {
  return writeWalNode(await scratch.dir(), {
    segmentBytes: 2n * MiB,
    segments: {0: 3, 1: 3, 2: 3, 3: 3, 4: 3, 5: 3},
    slots: [activeSlot('replica-a', 4n * MiB, 4n * MiB + 2n)],
  })
}

test('a --segment-bytes the headers contradict is refused and nothing is removed; their size is the default', async () => {
  const data = await twoMiBNode()
  const wrong = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1'])
  assert.equal(wrong.exitCode, 4, wrong.stderr)
  assert.match(wrong.stderr, /the WAL segment headers say the segment size is 2097152 \(segment 1 starts at LSN 2097152\), not 1048576; leave out --segment-bytes/)
  assert.deepEqual(onDisk(data), [0, 1, 2, 3, 4, 5])
  const dry = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--min-segments', '1', '--json']))
  assert.equal(dry.segment_bytes, 2n * MiB)
  assert.equal(dry.segment_bytes_source, 'headers')
  const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, '--min-segments', '1', '--json']))
  assert.deepEqual((pruned.removed_segments as Array<{index: bigint}>).map((s) => s.index), [0n, 1n])
  assert.deepEqual(onDisk(data), [2, 3, 4, 5], 'replica-a keeps what it needs')
  assert.deepEqual(codes(jsonOf(await runCli(['slots', 'show', '--data-path', data, '--json']))), [])
})

test('with 1 MiB segments and no --segment-bytes, a cron prune prunes (64 MiB was assumed before)', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: MiB,
    segments: Object.fromEntries(Array.from({length: 20}, (_, i) => [i, 2])),
    slots: [activeSlot('replica-a', 18n * MiB, 18n * MiB + 1n)],
  })
  const run = await runCli(['wal', 'prune', '--data-path', data, '--quiet'])
  assert.deepEqual([run.exitCode, run.stdout, run.stderr], [0, '', ''])
  assert.deepEqual(onDisk(data), Array.from({length: 16}, (_, i) => i + 4), 'the 16-segment window up to segment 19 stays')
})

test('with only segment 0 no header states the size: the default or the flag is used and said so, never one its LSNs overflow', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: 64n * MiB,
    segments: {0: 3},
    slots: [activeSlot('replica-a', 0n, 1n)],
    tamper: (_, segment) => appendWalRecord(segment, 3n * MiB / 2n, new Uint8Array([1]), 64n * MiB),
  })
  const byDefault = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--json']))
  assert.deepEqual([byDefault.segment_bytes, byDefault.segment_bytes_source], [64n * MiB, 'default'])
  const human = await runCli(['wal', 'plan', '--data-path', data])
  assert.match(human.stdout, /segment size 67108864 \(RedDB's default; no segment header can state it\)/)
  const given = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--segment-bytes', '2MiB', '--json']))
  assert.deepEqual([given.segment_bytes, given.segment_bytes_source], [2n * MiB, 'flag'])
  const tooSmall = await runCli(['wal', 'plan', '--data-path', data, '--segment-bytes', '1MiB'])
  assert.equal(tooSmall.exitCode, 4)
  assert.match(tooSmall.stderr, /the WAL holds LSNs that need a segment size of at least 1572865, not 1048576/)
})

test('a header that names another segment than its file stops every command that reads the WAL (exit 3)', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: MiB,
    segments: {0: 3, 1: 3, 2: 3},
    slots: [activeSlot('replica-a', 0n, 1n)],
    tamper: (index, segment) => (index === 0 ? {...segment, segment_index: 200n} : segment),
  })
  for (const args of [['wal', 'plan'], ['wal', 'prune', '--dry-run'], ['slots', 'show'], ['catchup', 'plan', '--replica-lsn', '0'], ['rejoin', 'plan', '--node-timeline', '1', '--node-flushed-lsn', '0'], ['wal', 'dump', '--from-lsn', '1']]) {
    const result = await runCli([...args, '--data-path', data])
    assert.equal(result.exitCode, 3, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, /00000000000000000000\.redwal: header says segment 200, file name says 0; RedDB refuses to plan with such a file/, args.join(' '))
  }
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(verify.exitCode, 3)
  assert.ok((documentOf(verify.stdout) as any).findings.some((f: {code: string}) => f.code === 'wal.name-mismatch'))
})

test('headers that disagree on the segment size stop wal plan (exit 3)', async () => {
  const data = writeWalNode(await scratch.dir(), {
    segmentBytes: MiB,
    segments: {0: 3, 1: 3, 2: 0, 3: 3},
    slots: [activeSlot('replica-a', 0n, 1n)],
    tamper: (index, segment) => (index === 2 ? {...segment, start_lsn: 4n * MiB, end_lsn: 4n * MiB} : segment),
  })
  const result = await runCli(['wal', 'plan', '--data-path', data])
  assert.equal(result.exitCode, 3)
  assert.match(result.stderr, /00000000000000000002\.redwal: starts at LSN 4194304, so its segment size is 2097152; segment 1 says 1048576/)
})

test('an active slot whose WAL is gone is reported by slots show and layout verify', async () => {
  const data = await twoMiBNode()
  // What a prune with the wrong size used to do: remove segments 2 and 3, which replica-a needs.
  for (const index of [0, 1, 2, 3]) rmSync(segmentFile(data, index))
  const shown = jsonOf(await runCli(['slots', 'show', '--data-path', data, '--json']))
  assert.deepEqual(codes(shown), ['slot.behind-wal'])
  assert.equal(shown.oldest_wal_lsn, 8n * MiB)
  const human = await runCli(['slots', 'show', '--data-path', data])
  assert.match(human.stdout, /error: .*replication-slots\.redslots: active slot "replica-a" needs WAL from LSN 4194306 \(its retention floor\), but the oldest WAL left \(segment 4\) starts at LSN 8388608: the replica cannot resume from WAL \[slot\.behind-wal\]/)
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(verify.exitCode, 3)
  assert.deepEqual((documentOf(verify.stdout) as any).findings.map((f: {code: string; severity: string}) => `${f.severity} ${f.code}`), ['error slot.behind-wal'])
})

test('catchup plan offers only the unbroken WAL that ends at the head, and names the hole', async () => {
  const data = writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {0: 3, 1: 3, 2: 3, 3: 3, 5: 3}, slots: [activeSlot('replica-a', 0n, 1n)]})
  const plan = jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '10', '--json']))
  assert.equal(plan.available_from_lsn, 5n * MiB)
  assert.equal(plan.mode, 'reclone')
  assert.deepEqual(codes(plan), ['wal.gap'])
  const human = await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '10'])
  assert.match(human.stdout, /^reclone: replica at 10, WAL available from 5242880 \(timeline 1\)/)
  assert.match(human.stdout, /note: .*wal: segment 4 is missing between segments 3 and 5 \(LSNs 4194304\.\.5242879\).*\[wal\.gap\]/)
  assert.equal(jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', String(5n * MiB), '--json'])).mode, 'wal-only')
  const verify = documentOf((await runCli(['layout', 'verify', '--data-path', data, '--json'])).stdout) as any
  assert.deepEqual(verify.findings.map((f: {code: string}) => f.code), ['wal.gap'])
})

test('after a failover without a slot catalog on the new timeline, prune warns on stderr every run, even --quiet', async () => {
  const dir = await scratch.layout('after-failover')
  const data = path.join(dir, 'data.rdb')
  rmSync(path.join(dir, 'data.primary-replica', T(2), 'replication-slots.redslots'))
  writeWalNode(dir, {timeline: 2n, segmentBytes: MiB, segments: {0: 3, 1: 3, 2: 3}, slots: null})
  const run = await runCli(['wal', 'prune', '--data-path', data, '--quiet', '--min-segments', '1'])
  assert.equal(run.exitCode, 0, run.stderr)
  assert.equal(run.stdout, '')
  assert.match(run.stderr, /^redrepl: warning: data\.primary-replica\/timeline-00000000000000000002\/replication-slots\.redslots: no slot catalog on timeline 2: RedDB's retention prunes no WAL without one; 2 segment\(s\) below the head's \(\d+ bytes\) stay until that changes \[wal\.retention-stalled\]\n$/)
  assert.deepEqual(onDisk(data, 2), [0, 1, 2])
  const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--json']))
  assert.deepEqual(codes(plan), ['wal.retention-stalled'])
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(verify.exitCode, 3)
  assert.ok((documentOf(verify.stdout) as any).findings.some((f: {code: string; data: {reason: string}}) => f.code === 'wal.retention-stalled' && f.data.reason === 'no-catalog'))
})

test('slots show on a legacy store does not claim "no active slot" above an active row', async () => {
  const dir = await scratch.layout('legacy-slots')
  const human = await runCli(['slots', 'show', '--data-path', path.join(dir, 'node.rdb')])
  assert.equal(human.exitCode, 0, human.stderr)
  assert.doesNotMatch(human.stdout, /no active slot/)
  assert.match(human.stdout, /retention floor none \(no slot catalog, so RedDB prunes no WAL; legacy-store slots do not set it\)/)
  assert.match(human.stdout, /old-replica +│ yes/)
  const shown = jsonOf(await runCli(['slots', 'show', '--data-path', path.join(dir, 'node.rdb'), '--json']))
  assert.equal(shown.retention_floor_source, 'no-catalog')
})

test('rejoin plan does not offer "WAL from LSN 0" on a timeline without WAL', async () => {
  const dir = await scratch.layout('after-failover')
  const data = path.join(dir, 'data.rdb')
  rmSync(path.join(dir, 'data.primary-replica', T(2), 'wal'), {recursive: true})
  const follow = await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1', '--node-flushed-lsn', '20'])
  assert.equal(follow.exitCode, 6, follow.stderr)
  assert.match(follow.stderr, /timeline 2 has no WAL segment, so there is no WAL for the node \(timeline 1, flushed LSN 20\) to follow; plan again once the new primary has written WAL/)
  assert.equal(follow.stdout, '')
  const rewind = await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1', '--node-flushed-lsn', '29'])
  assert.equal(rewind.exitCode, 0, rewind.stderr)
  assert.match(rewind.stdout, /primary: timeline 2, no WAL yet/)
  assert.equal(jsonOf(await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1', '--node-flushed-lsn', '29', '--json'])).available_from_source, 'no-wal')
  const given = jsonOf(await runCli(['rejoin', 'plan', '--data-path', data, '--node-timeline', '1', '--node-flushed-lsn', '20', '--available-from-lsn', '10', '--json']))
  assert.equal(given.decision, 'follow_new_timeline')
})

test('wal dump reads only the segments it dumps; ranges not on disk exit 6 saying why', async () => {
  const data = writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {0: 3, 1: 3, 2: 3, 3: 3, 5: 3}, slots: null})
  const damaged = segmentFile(data, 3)
  const bytes = readFileSync(damaged)
  bytes[bytes.length - 10] ^= 0xff
  writeFileSync(damaged, bytes)
  const healthy = jsonOf(await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', '1', '--to-lsn', String(MiB + 1n), '--json']))
  assert.deepEqual((healthy.records as Array<{lsn: bigint}>).map((r) => r.lsn), [1n, 2n, 3n, MiB, MiB + 1n])
  assert.deepEqual(healthy.segments_read, [0n, 1n])
  const intoDamage = await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', String(3n * MiB)])
  assert.equal(intoDamage.exitCode, 3)
  assert.match(intoDamage.stderr, /00000000000000000003\.redwal: .*checksum mismatch/)

  const head = 5n * MiB + 2n
  const past = await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', String(head + 1n), '--to-lsn', String(head + 100n)])
  assert.equal(past.exitCode, 6)
  assert.match(past.stderr, new RegExp(`LSNs ${head + 1n}\\.\\.${head + 100n} are not on disk \\(past the WAL head\\); the WAL holds LSNs 0\\.\\.${head}`))
  const hole = await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', String(4n * MiB), '--to-lsn', String(4n * MiB + 5n)])
  assert.equal(hole.exitCode, 6)
  assert.match(hole.stderr, /are not on disk \(in a missing segment\)/)
  const partly = jsonOf(await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', String(4n * MiB), '--to-lsn', String(head + 5n), '--json']))
  assert.deepEqual((partly.records as Array<{lsn: bigint}>).map((r) => r.lsn), [5n * MiB, 5n * MiB + 1n, head])
  assert.deepEqual(partly.missing, [
    {from_lsn: 4n * MiB, to_lsn: 5n * MiB - 1n, why: 'missing-segment'},
    {from_lsn: head + 1n, to_lsn: head + 5n, why: 'past-wal-head'},
  ])
  rmSync(segmentFile(data, 0))
  const pruned = await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', '1', '--to-lsn', '3'])
  assert.equal(pruned.exitCode, 6)
  assert.match(pruned.stderr, /LSNs 1\.\.3 are not on disk \(before the oldest segment on disk\)/)
})

test('a --current-lsn past the WAL head is refused: the segment being written would look released', async () => {
  const data = await twoMiBNode()
  const head = 10n * MiB + 2n
  for (const verb of ['plan', 'prune']) {
    const result = await runCli(['wal', verb, '--data-path', data, '--min-segments', '1', '--current-lsn', String(head + 4n * MiB), ...(verb === 'prune' ? ['--dry-run'] : [])])
    assert.equal(result.exitCode, 4, result.stderr)
    assert.match(result.stderr, new RegExp(`current LSN ${head + 4n * MiB} is past the WAL: the WAL head is LSN ${head}.*; leave out --current-lsn`))
  }
  assert.deepEqual(onDisk(data), [0, 1, 2, 3, 4, 5])
  const atHead = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--json']))
  assert.deepEqual([atHead.current_lsn, atHead.current_lsn_source, atHead.wal_head_lsn], [head, 'wal-head', head])
})
