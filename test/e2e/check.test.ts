import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync, truncateSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import type {JsonObject} from '../../src/core/codec/json.js'
import {slotCatalogCodec} from '../../src/core/format/slot-catalog.js'
import type {ReplicationSlot} from '../../src/core/model.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {closePrimaryBasicHole, MiB, writeWalNode} from '../support/wal-node.js'
import {documentOf, jsonOf} from '../support/node.js'
import {lacks, straceMissing, traceCli} from '../support/syscalls.js'
import {T1} from '../support/layout-node.js'

const scratch = useScratch()

const MANIFEST = path.join(T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase')
const CHUNK = path.join(T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase.parts', '00000000000000000001.redchunk')
const HOUR_MS = 3_600_000

/** primary-basic (3 slots, replica-c invalidated; 6 WAL segments, 5965 B once the hole is closed; one usable backup) with its backup made `backupAgeMs` before the pinned now. */
async function node(backupAgeMs = 2 * HOUR_MS, name = 'primary-basic') {
  const dir = await scratch.layout(name)
  if (name === 'primary-basic') {
    // The fixture's WAL has a hole at segment 4 (a wal.gap warning); these tests are about thresholds.
    closePrimaryBasicHole(dir)
    const seconds = (Number(NOW_MS) - backupAgeMs) / 1000
    utimesSync(path.join(dir, MANIFEST), seconds, seconds)
  }
  return {dir, data: path.join(dir, 'data.rdb')}
}

const check = (data: string, ...flags: string[]) => runCli(['check', '--data-path', data, ...flags])
const firstLine = (stdout: string) => stdout.split('\n')[0]
/** The report --json printed, whatever the state's exit code. */
const reportOf = documentOf

test('OK: exit 0, the summary line with perfdata, notes listed below it', async () => {
  const {data} = await node()
  const result = await check(data, '--warning-invalidated-slots', '1')
  assert.equal(result.exitCode, 0, result.stdout + result.stderr)
  assert.equal(result.stderr, '')
  assert.match(firstLine(result.stdout), /^REDREPL OK - 3 slots, WAL 6 segments 5\.8 KiB, newest backup 2h ago \| /)
  const lines = result.stdout.trimEnd().split('\n')
  assert.deepEqual(lines.slice(1), [
    'NOTE [slot.invalidated] data.primary-replica/timeline-00000000000000000001/replication-slots.redslots: slot replica-c invalidated (wal-removed): its replica needs a new base backup',
  ])
})

test('WARNING: exit 1, the worst finding on the status line, one line per finding', async () => {
  const {data} = await node()
  const result = await check(data)
  assert.equal(result.exitCode, 1, result.stdout + result.stderr)
  assert.match(firstLine(result.stdout), /^REDREPL WARNING - slot replica-c invalidated \(wal-removed\): its replica needs a new base backup \| /)
  assert.match(result.stdout, /\nWARNING \[slot\.invalidated\] /)
})

test('CRITICAL: exit 2; the critical finding leads and the others are counted', async () => {
  const {data} = await node()
  const result = await check(data, '--warning-slot-lag', '1000', '--critical-slot-lag', '1000000')
  assert.equal(result.exitCode, 2, result.stdout + result.stderr)
  assert.match(firstLine(result.stdout), /^REDREPL CRITICAL - slot replica-b lag 3145720 LSNs > 1000000 \(\+1 more\) \| /)
  const lines = result.stdout.trimEnd().split('\n').slice(1)
  assert.deepEqual(
    lines.map((line) => line.split(' ')[0]),
    ['CRITICAL', 'WARNING'],
    'worst first',
  )
})

test('UNKNOWN: exit 3 with one line on stdout for anything that stops the check, never another code', async () => {
  const {dir, data} = await node()
  const cases: Array<[string[], RegExp]> = [
    [['check', '--data-path', path.join(dir, 'typo.rdb')], /^REDREPL UNKNOWN - no RedDB layout at .*typo\.primary-replica/],
    [['check'], /^REDREPL UNKNOWN - no data path: pass --data-path D or set REDDB_DATA_PATH$/],
    [['check', '--data-path', data, '--bogus'], /^REDREPL UNKNOWN - Nonexistent flag: --bogus/],
    [['check', '--data-path', data, '--warning-wal-bytes', '12parsecs'], /^REDREPL UNKNOWN - .*--warning-wal-bytes must be a byte count/],
    [['check', '--data-path', data, '--critical-basebackup-age', 'soon'], /^REDREPL UNKNOWN - .*--critical-basebackup-age must be a duration/],
    [['check', '--data-path', data, '--critical-wal-bytes', '1GiB'], /^REDREPL UNKNOWN - --warning-wal-bytes 3\.0 GiB \(default\) is above --critical-wal-bytes 1\.0 GiB; set both, or turn one off$/],
  ]
  for (const [args, expected] of cases) {
    const result = await runCli(args, {env: {REDDB_DATA_PATH: undefined}})
    assert.equal(result.exitCode, 3, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
    assert.equal(result.stdout.split('\n').length, 2, result.stdout)
    assert.match(result.stdout.trimEnd(), expected)
  }
  const json = await runCli(['check', '--data-path', path.join(dir, 'typo.rdb'), '--json'])
  assert.equal(json.exitCode, 3)
  const document = reportOf(json.stdout)
  assert.equal(document.status, 'UNKNOWN')
  assert.match(String(document.message), /no RedDB layout/)
})

test('thresholds take units: sizes in KiB/MiB/GiB, counts, durations like 36h, 7d, 1h30m; "off" turns one off', async () => {
  const {data} = await node(40 * HOUR_MS)
  const quiet = ['--warning-invalidated-slots', 'off']
  const age = await check(data, ...quiet)
  assert.equal(age.exitCode, 1)
  assert.match(firstLine(age.stdout), /^REDREPL WARNING - newest usable base backup \(checkpoint 5242882\) is 40h old > 36h \| /)
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', '12h', '--critical-basebackup-age', '1d')).exitCode, 2)
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', '1d16h1m', '--critical-basebackup-age', '7d')).exitCode, 0)
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', '143999')).exitCode, 1, 'a bare number is seconds: 40h is 144000 s')
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', '144000')).exitCode, 0, 'equal to the threshold is not past it')
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', '144001')).exitCode, 0)
  assert.equal((await check(data, ...quiet, '--warning-basebackup-age', 'off')).exitCode, 0)

  const young = (await node()).data
  const bytes = await check(young, ...quiet, '--warning-wal-bytes', '5KiB', '--json')
  assert.equal(bytes.exitCode, 1)
  const found = (reportOf(bytes.stdout).findings as JsonObject[]).find((f) => f.code === 'wal.retained-bytes')
  assert.deepEqual(found?.data, {retained_bytes: 5965n, threshold_bytes: 5120n})
  assert.equal((await check(young, ...quiet, '--warning-wal-bytes', '5965')).exitCode, 0, 'equal to the threshold is not past it')
  assert.equal((await check(young, ...quiet, '--warning-wal-bytes', '5898')).exitCode, 1)
  assert.equal((await check(young, ...quiet, '--critical-wal-bytes', '5KiB', '--warning-wal-bytes', '4k')).exitCode, 2)
  assert.equal((await check(young, ...quiet, '--critical-wal-segments', '4', '--warning-wal-segments', '3')).exitCode, 2)
  assert.equal((await check(young, ...quiet, '--warning-wal-bytes', '1MiB', '--critical-wal-bytes', '1GiB')).exitCode, 0)
  assert.equal((await check(young, ...quiet, '--warning-slot-lag', '3Mi')).exitCode, 0, '3145720 LSNs is less than 3Mi = 3145728')
  assert.equal((await check(young, ...quiet, '--warning-slot-lag', '3000000', '--critical-slot-lag', '3145719')).exitCode, 2)
})

test('perfdata: \'label\'=value[UOM];warn;crit;min;max, exact values, labels that cannot break the line', async () => {
  const {dir, data} = await node()
  const result = await check(data)
  const [, perf] = firstLine(result.stdout).split(' | ')
  const items = perf.split(' ')
  for (const item of items) assert.match(item, /^'(?:[^'=|]|'')+'=\d+(?:B|s)?;\d*;\d*;0;$/, item)
  assert.ok(items.includes("'wal_retained'=5965B;3221225472;4294967296;0;"))
  assert.ok(items.includes("'wal_segments'=6;64;256;0;"))
  assert.ok(items.includes("'slot_lag_replica-b'=3145720;67108864;1073741824;0;"))
  assert.ok(items.includes("'basebackup_age'=7200s;129600;604800;0;"))
  assert.ok(items.includes("'slots_invalidated'=1;0;;0;"), 'an absent threshold is an empty field')
  assert.ok(!items.some((item) => item.startsWith("'slot_lag_replica-c'")), 'an invalidated slot has no lag to watch')

  // A replica id may hold anything a string can: a quote, '=', '|', a newline.
  const hostile = "it's=a|b\nc"
  const slot: ReplicationSlot = {
    replica_id: hostile,
    restart_lsn: 5242880n,
    confirmed_write_lsn: 5242882n,
    confirmed_flush_lsn: 5242882n,
    confirmed_apply_lsn: 5242880n,
    active: true,
    last_seen_at_unix_ms: NOW_MS,
    invalidation_reason: null,
    invalidated_at_unix_ms: null,
  }
  writeFileSync(path.join(dir, T1, 'replication-slots.redslots'), slotCatalogCodec.encode({timeline: 1n, slots: [slot]}, {nowMs: NOW_MS}))
  const odd = await check(data, '--warning-slot-lag', '1')
  assert.equal(odd.exitCode, 1)
  const lines = odd.stdout.trimEnd().split('\n')
  assert.equal(lines.length, 2, 'status line and one finding line: the newline stays escaped')
  assert.equal(lines[0].split('|').length, 2, 'one | on the status line, before the perfdata')
  assert.ok(lines[0].split(' | ')[1].split(' ').includes("'slot_lag_it''s_a/b\\x0ac'=2;1;1073741824;0;"), lines[0])
})

test('--json: the state, the thresholds used, the measurements and every finding with code, severity, path, message and data', async () => {
  const {data} = await node()
  const result = await check(data, '--critical-wal-segments', '4', '--warning-wal-segments', 'off', '--json')
  assert.equal(result.exitCode, 2)
  const report = reportOf(result.stdout)
  assert.equal(report.status, 'CRITICAL')
  assert.equal(report.deep, false)
  assert.deepEqual(report.thresholds, {
    slot_lag_lsn: {warning: 67108864n, critical: 1073741824n},
    slot_inactive_ms: {warning: 300000n, critical: 3600000n},
    slot_silent_ms: {warning: 300000n, critical: 1800000n},
    invalidated_slots: {warning: 0n, critical: null},
    wal_retained_bytes: {warning: 3221225472n, critical: 4294967296n},
    wal_segments: {warning: null, critical: 4n},
    basebackup_age_ms: {warning: 129600000n, critical: 604800000n},
    archive_lag_bytes: {warning: 268435456n, critical: 1073741824n},
    archive_age_ms: {warning: 3600000n, critical: 21600000n},
    leftover_bytes: {warning: 67108864n, critical: 1073741824n},
    prune_skipped_runs: {warning: 3n, critical: 12n},
    repo_backup_age_ms: {warning: 129600000n, critical: 604800000n},
    drill_age_ms: {warning: 691200000n, critical: 1296000000n},
  })
  assert.equal(report.repository, null, 'no repository configured, none measured')
  assert.deepEqual(report.wal, {head_lsn: 5242882n, segments: 6n, retained_bytes: 5965n})
  assert.deepEqual((report.slots as JsonObject[]).map((s) => [s.replica_id, s.lag_lsn, s.active]), [
    ['replica-a', 1n, true],
    ['replica-b', 3145720n, true],
    ['replica-c', 5242862n, false],
  ])
  assert.deepEqual((report.basebackups as JsonObject).newest_usable, {
    path: path.join(path.dirname(data), MANIFEST),
    checkpoint_lsn: 5242882n,
    snapshot_bytes: 9004n,
    created_unix_ms: NOW_MS - 7_200_000n,
    age_ms: 7_200_000n,
  })
  const findings = report.findings as JsonObject[]
  for (const f of findings) assert.deepEqual(Object.keys(f).sort(), ['code', 'data', 'message', 'path', 'severity'])
  assert.deepEqual(
    findings.map((f) => [f.code, f.severity, f.data]),
    [
      ['slot.invalidated', 'warning', {replica_id: 'replica-c', reason: 'wal-removed', invalidated_slots: 1n}],
      ['wal.segments', 'error', {segments: 6n, threshold: 4n}],
    ],
  )
})

test('every layout verify finding counts, whatever its code: errors CRITICAL, notes listed; quick reads no chunk, --deep every one', async () => {
  const {dir, data} = await node()
  const calm = ['--warning-invalidated-slots', 'off']
  writeFileSync(path.join(dir, T1, 'wal', 'relay.tmp'), 'half')
  const leftover = await check(data, ...calm)
  assert.equal(leftover.exitCode, 0, leftover.stdout)
  assert.match(leftover.stdout, /\nNOTE \[leftover\.temp-file\] data\.primary-replica\/timeline-00000000000000000001\/wal\/relay\.tmp: /)

  const bytes = readFileSync(path.join(dir, CHUNK))
  bytes[10] ^= 0xff
  writeFileSync(path.join(dir, CHUNK), bytes)
  assert.equal((await check(data, ...calm)).exitCode, 0, 'quick: the flipped byte is not read')
  const deep = await check(data, ...calm, '--deep')
  assert.equal(deep.exitCode, 2, deep.stdout)
  assert.match(firstLine(deep.stdout), /^REDREPL CRITICAL - chunk 1 checksum mismatch/)
  assert.match(deep.stdout, /\nCRITICAL \[basebackup\.chunk\] /)

  writeFileSync(path.join(dir, CHUNK), bytes.subarray(1))
  const short = await check(data, ...calm)
  assert.equal(short.exitCode, 2, 'quick still checks each chunk\'s size')
  assert.match(firstLine(short.stdout), /^REDREPL CRITICAL - chunk 1 holds \d+ bytes, the manifest says \d+/)
})

test('a corrupt slot catalog is CRITICAL (the finding), not UNKNOWN; after a failover the 1.12 catalog quirk is a note', async () => {
  const {dir, data} = await node()
  const catalog = path.join(dir, T1, 'replication-slots.redslots')
  const bytes = readFileSync(catalog)
  bytes[bytes.length - 1] ^= 1
  writeFileSync(catalog, bytes)
  const broken = await check(data, '--json')
  assert.equal(broken.exitCode, 2, broken.stdout)
  const report = reportOf(broken.stdout)
  assert.equal(report.slots, null)
  assert.deepEqual((report.findings as JsonObject[]).map((f) => [f.code, f.severity, f.path]), [['artifact.corrupt', 'error', path.join(T1, 'replication-slots.redslots')]])

  const failover = await node(0, 'after-failover')
  const quirk = await check(failover.data, '--critical-basebackup-age', 'off', '--warning-basebackup-age', 'off')
  assert.equal(quirk.exitCode, 0, quirk.stdout)
  assert.match(quirk.stdout, /\nNOTE \[slot\.catalog-timeline\] /)
  const none = await check(failover.data)
  assert.equal(none.exitCode, 2)
  assert.match(firstLine(none.stdout), /^REDREPL CRITICAL - no base backup usable for catch-up on timeline 2 \(none on disk\) \| /)
  assert.equal((await check(failover.data, '--critical-basebackup-age', 'off')).exitCode, 1, 'none at all takes the worst level set')
})

test('basebackup list: created time, age, size, chunks, usability and the WAL after the checkpoint', async () => {
  const {dir, data} = await node(3 * HOUR_MS)
  const listing = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  assert.equal(listing.wal_head_lsn, 5242882n)
  assert.deepEqual(listing.basebackups, [
    {
      path: path.join(dir, MANIFEST),
      timeline: 1n,
      start_lsn: 0n,
      checkpoint_lsn: 5242882n,
      snapshot_bytes: 9004n,
      chunks: 3n,
      created_unix_ms: NOW_MS - 10_800_000n,
      age_ms: 10_800_000n,
      usable_for_catchup: true,
      damage: null,
      wal_lsns_after_checkpoint: 0n,
    },
  ])
  const older = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', '4', '--checkpoint-lsn', '100', '--json'], {input: 'RDST'})
  assert.equal(older.exitCode, 0, older.stderr)
  const both = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  const first = (both.basebackups as JsonObject[])[0]
  assert.equal(first.checkpoint_lsn, 100n)
  assert.equal(first.wal_lsns_after_checkpoint, 5242782n, 'WAL head 5242882 − checkpoint 100, all still on disk')
  const human = await runCli(['basebackup', 'list', '--data-path', data])
  assert.equal(human.exitCode, 0)
  assert.match(human.stdout, /2023-11-14T19:13:20\.000Z .*3h ago/)
})

test('an inactive slot warns after 5m unseen and is critical after 1h; one never seen counts as unseen for ever', async () => {
  const {dir, data} = await node()
  const catalog = path.join(dir, T1, 'replication-slots.redslots')
  const slot = (replica_id: string, lastSeenAgoMs: bigint | null): ReplicationSlot => ({
    replica_id,
    restart_lsn: 5242880n,
    confirmed_write_lsn: 5242882n,
    confirmed_flush_lsn: 5242882n,
    confirmed_apply_lsn: 5242882n,
    active: false,
    last_seen_at_unix_ms: lastSeenAgoMs === null ? 0n : NOW_MS - lastSeenAgoMs,
    invalidation_reason: null,
    invalidated_at_unix_ms: null,
  })
  // An active, caught-up slot beside them keeps retention moving (no wal.retention-stalled).
  const live = {...slot('live', 0n), active: true, last_seen_at_unix_ms: NOW_MS}
  const write = (...slots: ReplicationSlot[]) => writeFileSync(catalog, slotCatalogCodec.encode({timeline: 1n, slots: [live, ...slots]}, {nowMs: NOW_MS}))
  write(slot('r1', 4n * 60_000n))
  assert.equal((await check(data)).exitCode, 0)
  write(slot('r1', 10n * 60_000n))
  const warned = await check(data)
  assert.equal(warned.exitCode, 1)
  assert.match(firstLine(warned.stdout), /^REDREPL WARNING - slot r1 inactive, last seen 10m ago > 5m \| /)
  write(slot('r1', 2n * 3_600_000n), slot('r2', null))
  const critical = await check(data, '--json')
  assert.equal(critical.exitCode, 2)
  assert.deepEqual(
    (reportOf(critical.stdout).findings as JsonObject[]).map((f) => [f.code, f.severity, f.message]),
    [
      ['slot.inactive', 'error', 'slot r1 inactive, last seen 2h ago > 1h'],
      ['slot.inactive', 'error', `slot r2 inactive, never seen > 1h`],
    ],
  )
  assert.equal((await check(data, '--critical-slot-inactive', '3h', '--warning-slot-inactive', '2h1s')).exitCode, 2, 'r2, never seen, is past any threshold')
  write(slot('r1', 2n * 3_600_000n))
  assert.equal((await check(data, '--critical-slot-inactive', '3h', '--warning-slot-inactive', '2h1s')).exitCode, 0)
  assert.equal((await check(data, '--critical-slot-inactive', '3h', '--warning-slot-inactive', '1h59m')).exitCode, 1)
})

test('quick reads every WAL segment\'s size and the headers the measurements stand on: damaged records, and a damaged header no measurement uses, wait for --deep; a damaged header it uses, a FIFO or an oversized file is a finding at once', async () => {
  const {dir, data} = await node()
  const calm = ['--warning-invalidated-slots', 'off', '--json']
  const wal = path.join(dir, T1, 'wal')
  const segment = (index: number) => path.join(wal, `${String(index).padStart(20, '0')}.redwal`)
  const codes = (stdout: string) => (reportOf(stdout).findings as JsonObject[]).filter((f) => f.severity !== 'note').map((f) => [f.code, f.path])

  const sealed = readFileSync(segment(2))
  sealed[sealed.length - 1] ^= 1
  writeFileSync(segment(2), sealed)
  const quick = await check(data, ...calm)
  assert.equal(quick.exitCode, 0, quick.stdout)
  const deep = await check(data, ...calm, '--deep')
  assert.equal(deep.exitCode, 2, deep.stdout)
  assert.deepEqual(codes(deep.stdout), [['artifact.corrupt', path.join(T1, 'wal', '00000000000000000002.redwal')]])

  // Segments 0, 1, 2, 3 and 5: quick reads the headers of 0 (the oldest), 1 (the segment size) and 5 (the newest, which holds records).
  writeFileSync(segment(2), Buffer.concat([Buffer.from('XXXXXXXX'), sealed.subarray(8)]))
  assert.equal((await check(data, ...calm)).exitCode, 0, 'a header no measurement stands on is left to --deep')
  assert.deepEqual(codes((await check(data, ...calm, '--deep')).stdout), [['artifact.corrupt', path.join(T1, 'wal', '00000000000000000002.redwal')]])

  const header = readFileSync(segment(1))
  header[0] ^= 0xff
  writeFileSync(segment(1), header)
  execFileSync('mkfifo', [segment(6)])
  // Sparse: past the 1 GiB cap without taking the disk; its header still places segment 3, so no gap is reported.
  truncateSync(segment(3), 1100 * 1024 * 1024)
  const started = Date.now()
  const damaged = await check(data, ...calm)
  assert.ok(Date.now() - started < 30_000, 'the FIFO is not waited on')
  assert.equal(damaged.exitCode, 2, damaged.stdout)
  assert.deepEqual(codes(damaged.stdout), [
    ['artifact.corrupt', path.join(T1, 'wal', '00000000000000000001.redwal')],
    ['artifact.too-large', path.join(T1, 'wal', '00000000000000000003.redwal')],
    ['artifact.not-regular', path.join(T1, 'wal', '00000000000000000006.redwal')],
  ])
})

const asShipped = async (name: string, dataFile: string) => path.join(await scratch.layout(name), dataFile)
for (const [what, data] of [
  ['primary-basic', async () => (await node()).data],
  ['primary-basic with its WAL hole', () => asShipped('primary-basic', 'data.rdb')],
  ['after-failover', () => asShipped('after-failover', 'data.rdb')],
  ['legacy-slots', () => asShipped('legacy-slots', 'node.rdb')],
  // No slot catalog, so retention is stalled and the finding counts what lies below the head, which is in segment 5, not in the empty newest.
  ['WAL whose newest segment is empty, retention stalled', async () => writeWalNode(await scratch.dir(), {segmentBytes: MiB, segments: {2: 3, 3: 3, 5: 3, 6: 0}, slots: null})],
] as const) {
  test(`${what}: quick and --deep give the same report on a sound layout (but for the databases only --deep reads), whichever WAL headers quick leaves unread`, async () => {
    const quickData = await data()
    const quick = reportOf((await check(quickData, '--json')).stdout)
    const deep = reportOf((await check(quickData, '--json', '--deep')).stdout)
    assert.equal(quick.deep, false)
    // Only --deep reads the databases: their findings and their count are its own.
    const withoutDatabases = (report: JsonObject) => ({...report, deep: null, artifacts_checked: null, findings: (report.findings as JsonObject[]).filter((f) => !String(f.code).startsWith('rdb.'))})
    assert.deepEqual(withoutDatabases(quick), withoutDatabases(deep))
  })
}

test('a file past the size cap in the newest segment\'s place is a CRITICAL finding, not an UNKNOWN check', async () => {
  const {dir, data} = await node()
  const newest = path.join(dir, T1, 'wal', '00000000000000000005.redwal')
  // Sparse: past the 1 GiB cap without taking the disk.
  truncateSync(newest, 1100 * 1024 * 1024)
  for (const flags of [[], ['--deep']]) {
    const result = await check(data, '--json', ...flags)
    assert.equal(result.exitCode, 2, result.stdout)
    const report = reportOf(result.stdout)
    assert.equal(report.status, 'CRITICAL')
    assert.ok((report.findings as JsonObject[]).some((f) => f.code === 'artifact.too-large' && f.path === path.join(T1, 'wal', '00000000000000000005.redwal')), result.stdout)
  }
})

test('quick check reads the oldest WAL segment once and the newest twice (its header, then its records for the head)', async (t) => {
  if (lacks(t, straceMissing())) return
  const {dir, data} = await node()
  const run = traceCli(['check', '--data-path', data, '--json'], {calls: ['openat'], traceFile: path.join(dir, 'check.trace'), env: {REDREPL_NOW_MS: String(NOW_MS)}})
  assert.ok(run.status !== null && run.status <= 2, run.stderr)
  const opens = (index: number) => run.lines.filter((line) => line.includes(`${String(index).padStart(20, '0')}.redwal"`) && !line.includes('ENOENT')).length
  assert.equal(opens(0), 1, 'the oldest segment')
  assert.equal(opens(5), 2, 'the newest segment')
  assert.equal(opens(2), 0, 'a segment in between is only stat\'ed')
})
