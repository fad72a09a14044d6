/**
 * Monitoring never stays green through loss: each test breaks a node the
 * way it breaks in production and asserts what `check` says (state, the
 * finding on the status line) and what `metrics` exports.
 */
import assert from 'node:assert/strict'
import {lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'

import type {JsonObject} from '../../src/core/codec/json.js'
import type {ReplicationSlot} from '../../src/core/model.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdLayoutLock} from '../support/lock.js'
import {documentOf, stop} from '../support/node.js'
import {MiB, writeWalNode} from '../support/wal-node.js'
import {T1} from '../support/layout-node.js'

const scratch = useScratch()

const BACKUPS = path.join(T1, 'basebackup')
const MINUTE_MS = 60_000n

const check = (data: string, ...flags: string[]) => runCli(['check', '--data-path', data, ...flags])
const firstLine = (stdout: string) => stdout.split('\n')[0]
const findingsOf = (report: JsonObject) => report.findings as Array<{code: string; severity: string; message: string; data: Record<string, unknown>}>

function metricsOf(text: string) {
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]))
  return (name: string, labels: Record<string, string> = {}) =>
    families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value
}

async function metrics(data: string, ...flags: string[]) {
  const result = await runCli(['metrics', '--data-path', data, ...flags])
  assert.equal(result.exitCode, 0, result.stderr)
  return metricsOf(result.stdout)
}

function slot(replica_id: string, floor: bigint, over: Partial<ReplicationSlot> = {}): ReplicationSlot {
  return {
    replica_id,
    restart_lsn: floor,
    confirmed_write_lsn: floor,
    confirmed_flush_lsn: floor,
    confirmed_apply_lsn: floor,
    active: true,
    last_seen_at_unix_ms: NOW_MS,
    invalidation_reason: null,
    invalidated_at_unix_ms: null,
    ...over,
  }
}

/** primary-basic with its one backup replaced by one at `checkpoint` (taken from its own data file), dated an hour ago. */
async function primaryWithBackupAt(checkpoint: bigint) {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  rmSync(path.join(dir, BACKUPS), {recursive: true})
  const made = await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', String(checkpoint), '--json'])
  assert.equal(made.exitCode, 0, made.stderr)
  const manifest = documentOf(made.stdout).manifest_path as string
  const hourAgo = (Number(NOW_MS) - 3_600_000) / 1000
  utimesSync(manifest, hourAgo, hourAgo)
  return {dir, data}
}

test('a missing WAL segment that an active replica and the only backup need is CRITICAL: the replica must be recloned and no backup counts as usable', async () => {
  // primary-basic lacks segment 4 (LSNs 4194304..5242879); replica-b resumes at 2097162, below it, and so does this backup.
  const {data} = await primaryWithBackupAt(3_145_733n)
  const plan = await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '2097162', '--json'])
  assert.equal(documentOf(plan.stdout).mode, 'reclone', 'catchup plan agrees: nothing can bring replica-b back')
  const listed = documentOf((await runCli(['basebackup', 'list', '--data-path', data, '--json'])).stdout)
  assert.deepEqual([listed.available_from_lsn, (listed.basebackups as JsonObject[])[0].usable_for_catchup], [5_242_880n, false], 'basebackup list counts as catchup plan does')

  const result = await check(data)
  assert.equal(result.exitCode, 2, result.stdout)
  assert.match(firstLine(result.stdout), /^REDREPL CRITICAL - slot "replica-b" \(active\) needs WAL from LSN 2097162, but the WAL left serves only from LSN 5242880: .*reclone/)
  assert.doesNotMatch(firstLine(result.stdout), /'basebackup_age'=/, 'a backup that cannot be caught up has no age to report')
  const report = documentOf((await check(data, '--json')).stdout)
  const codes = findingsOf(report).map((f) => `${f.code}:${f.severity}`)
  assert.ok(codes.includes('slot.lost:error'), codes.join())
  assert.ok(codes.includes('basebackup.none:error'), codes.join())
  assert.ok(codes.includes('wal.gap:note'), 'the gap itself stays a note: the loss findings say what it costs')
  const backups = report.basebackups as JsonObject
  assert.equal(backups.count, 1n)
  assert.equal(backups.usable_count, 0n)
  assert.equal(backups.newest_usable, null)
  const replicaB = (report.slots as JsonObject[]).find((s) => s.replica_id === 'replica-b')
  assert.equal(replicaB?.catchup_mode, 'reclone')

  const value = await metrics(data)
  assert.equal(value('redrepl_check_status'), '2')
  assert.equal(value('redrepl_slot_catchup_possible', {replica: 'replica-b'}), '0')
  assert.equal(value('redrepl_slot_catchup_possible', {replica: 'replica-a'}), '2')
  assert.equal(value('redrepl_basebackup_usable_count'), '0')
  assert.equal(value('redrepl_basebackup_last_checkpoint_lsn'), undefined)
  assert.equal(value('redrepl_check_findings', {code: 'slot.lost', severity: 'error'}), '1')
})

test('the same gap with a backup above it stays a note: replica-b catches up from that backup (the golden layout as shipped)', async () => {
  const {data} = await primaryWithBackupAt(5_242_882n)
  const report = documentOf((await check(data, '--warning-invalidated-slots', '1', '--json')).stdout)
  assert.equal(report.status, 'OK', findingsOf(report).map((f) => f.message).join('; '))
  assert.deepEqual(findingsOf(report).map((f) => f.code).sort(), ['slot.invalidated', 'wal.gap'])
  assert.equal((report.slots as JsonObject[]).find((s) => s.replica_id === 'replica-b')?.catchup_mode, 'basebackup-then-wal')
  assert.equal((await metrics(data))('redrepl_slot_catchup_possible', {replica: 'replica-b'}), '1')
})

/** A primary whose WAL starts at segment 5: everything below was pruned while replica-s was away (inactive, never invalidated). */
async function strandedSlot() {
  const dir = await scratch.dir()
  const data = writeWalNode(dir, {
    segmentBytes: MiB,
    segments: {5: 3, 6: 3, 7: 2},
    slots: [slot('replica-a', 7n * MiB + 1n), slot('replica-s', 1_048_600n, {active: false, last_seen_at_unix_ms: NOW_MS - 120n * MINUTE_MS})],
  })
  return {dir, data}
}

test('a stranded slot (inactive, not invalidated, below the oldest WAL) says "cannot catch up from WAL any more" in slots show, layout verify and check', async () => {
  const {data} = await strandedSlot()
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  const lost = findingsOf(documentOf(verify.stdout)).filter((f) => f.code === 'slot.lost')
  assert.equal(lost.length, 1)
  assert.equal(verify.exitCode, 3, 'a lost slot is a problem of the layout')
  assert.equal(lost[0].data.replica_id, 'replica-s')

  const result = await check(data)
  assert.equal(result.exitCode, 2, result.stdout)
  assert.match(firstLine(result.stdout), /^REDREPL CRITICAL - slot "replica-s" \(inactive\) needs WAL from LSN 1048600, but the WAL left serves only from LSN 5242880: its replica cannot catch up from WAL any more; no usable base backup/)
  const value = await metrics(data)
  assert.equal(value('redrepl_slot_catchup_possible', {replica: 'replica-s'}), '0')
  assert.equal(value('redrepl_check_status'), '2')
})

test('a stranded slot with a usable backup is a WARNING naming that backup; once the slot is invalidated it is the invalidated-slot finding only', async () => {
  const {dir, data} = await strandedSlot()
  const made = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', '18', '--checkpoint-lsn', String(7n * MiB + 1n), '--json'], {input: 'RDST snapshot data'})
  assert.equal(made.exitCode, 0, made.stderr)
  // Only the loss counts here: how long the slot has been away is another threshold's business.
  const quiet = ['--warning-slot-inactive', 'off', '--critical-slot-inactive', 'off']
  const report = documentOf((await check(data, ...quiet, '--json')).stdout)
  const lost = findingsOf(report).filter((f) => f.code === 'slot.lost')
  assert.deepEqual(lost.map((f) => f.severity), ['warning'])
  assert.match(lost[0].message, /catch it up from the base backup at checkpoint 7340033/)
  assert.equal(report.status, 'WARNING', findingsOf(report).map((f) => `${f.severity} ${f.message}`).join('; '))
  assert.equal((await metrics(data, ...quiet))('redrepl_slot_catchup_possible', {replica: 'replica-s'}), '1')

  const invalidated = await runCli(['slots', 'invalidate', 'replica-s', '--reason', 'wal-removed', '--data-path', data, '--json'])
  assert.equal(invalidated.exitCode, 0, invalidated.stderr)
  const after = documentOf((await check(data, ...quiet, '--json')).stdout)
  assert.deepEqual(findingsOf(after).filter((f) => f.code === 'slot.lost'), [])
  void dir
})

test('the status line names the worst finding: loss before any other error, whatever order the findings were found in', async () => {
  const {dir, data} = await strandedSlot()
  // A relay manifest that does not decode: an error layout verify finds first, but no replica or backup is lost by it.
  mkdirSync(path.join(dir, T1, 'relay', 'replica-z'), {recursive: true})
  writeFileSync(path.join(dir, T1, 'relay', 'replica-z', 'relay.redmanifest'), 'not a manifest')
  const report = documentOf((await check(data, '--json')).stdout)
  const errors = findingsOf(report).filter((f) => f.severity === 'error').map((f) => f.code)
  assert.equal(errors[0], 'artifact.corrupt', `found in this order: ${errors.join()}`)
  assert.ok(errors.includes('slot.lost'), errors.join())
  const result = await check(data)
  assert.match(firstLine(result.stdout), /^REDREPL CRITICAL - slot "replica-s" \(inactive\) needs WAL from LSN 1048600.* \(\+3 more\) \| /)
})

test('a prune that strands an inactive slot says so beforehand (wal plan, --dry-run) and on stderr even with --quiet; afterwards check is CRITICAL', async () => {
  const dir = await scratch.dir()
  // 24 segments of 1 MiB: past the 16-segment window, so RedDB's retention releases the oldest 8 (replica-a, active, is at the head).
  const segments = Object.fromEntries(Array.from({length: 24}, (_, i) => [i, 2]))
  const data = writeWalNode(dir, {segmentBytes: MiB, segments, slots: [slot('replica-a', 23n * MiB + 1n), slot('replica-s', 1_048_600n, {active: false, last_seen_at_unix_ms: NOW_MS - 2n * MINUTE_MS})]})
  // This node keeps no local backup on purpose; only the slot is under test.
  const noBackups = ['--warning-basebackup-age', 'off', '--critical-basebackup-age', 'off']
  const before = await check(data, ...noBackups)
  assert.equal(before.exitCode, 0, before.stdout)

  const plan = documentOf((await runCli(['wal', 'plan', '--data-path', data, '--json'])).stdout)
  const strands = findingsOf(plan).filter((f) => f.code === 'slot.prune-strands')
  assert.deepEqual(strands.map((f) => [f.severity, f.data.replica_id, f.data.kept_from_lsn]), [['warning', 'replica-s', 8n * MiB]])
  const dry = await runCli(['wal', 'prune', '--data-path', data, '--dry-run', '--json'])
  assert.ok(findingsOf(documentOf(dry.stdout)).some((f) => f.code === 'slot.prune-strands'))

  const prune = await runCli(['wal', 'prune', '--data-path', data, '--quiet'])
  assert.equal(prune.exitCode, 0, prune.stderr)
  assert.equal(prune.stdout, '')
  assert.match(prune.stderr, /^redrepl: warning: .*inactive slot "replica-s" needs WAL from LSN 1048600; removing segments 0\.\.7 leaves WAL from LSN 8388608.* \[slot\.prune-strands\]$/m)

  const after = await check(data, ...noBackups)
  assert.equal(after.exitCode, 2, after.stdout)
  assert.match(firstLine(after.stdout), /^REDREPL CRITICAL - slot "replica-s" \(inactive\) needs WAL from LSN 1048600, but the WAL left serves only from LSN 8388608/)
  const shown = documentOf((await runCli(['slots', 'show', '--data-path', data, '--json'])).stdout)
  assert.deepEqual(findingsOf(shown).map((f) => `${f.code} ${f.data.replica_id}`), ['slot.lost replica-s'])
})

test('an active replica that has gone silent warns after 5 minutes and is critical after 30, as an inactive one is after its own thresholds', async () => {
  const node = async (silentMs: bigint) => {
    const dir = await scratch.dir()
    return writeWalNode(dir, {segmentBytes: MiB, segments: {0: 3, 1: 2}, slots: [slot('replica-a', MiB + 1n), slot('replica-q', MiB + 1n, {last_seen_at_unix_ms: NOW_MS - silentMs})]})
  }
  const noBackups = ['--warning-basebackup-age', 'off', '--critical-basebackup-age', 'off']
  const cases: Array<[bigint, number, string]> = [
    [4n * MINUTE_MS, 0, 'OK'],
    [15n * MINUTE_MS, 1, 'WARNING - slot replica-q active but silent, last seen 15m ago > 5m'],
    [45n * MINUTE_MS, 2, 'CRITICAL - slot replica-q active but silent, last seen 45m ago > 30m'],
  ]
  for (const [silentMs, exitCode, line] of cases) {
    const data = await node(silentMs)
    const result = await check(data, ...noBackups)
    assert.equal(result.exitCode, exitCode, result.stdout)
    assert.ok(firstLine(result.stdout).startsWith(`REDREPL ${line}`), firstLine(result.stdout))
    const value = await metrics(data, ...noBackups)
    assert.equal(value('redrepl_check_status'), String(exitCode))
    assert.equal(value('redrepl_check_findings', {code: 'slot.silent'}), exitCode === 0 ? undefined : '1')
    assert.equal(value('redrepl_slot_last_seen_timestamp_seconds', {replica: 'replica-q'}), `${(NOW_MS - silentMs) / 1000n}.000`)
  }
  const off = await check(await node(45n * MINUTE_MS), ...noBackups, '--warning-slot-silent', 'off', '--critical-slot-silent', 'off')
  assert.equal(off.exitCode, 0, off.stdout)
})

test('a quiet node whose push job died: the archive lag in bytes stays small, the wait of the oldest unarchived segment pages', async () => {
  const dir = await scratch.dir()
  const repo = await scratch.dir('redrepl-repo-')
  const segments = Object.fromEntries(Array.from({length: 76}, (_, i) => [i, 1]))
  const data = writeWalNode(dir, {segmentBytes: MiB, segments, slots: [slot('replica-a', 75n * MiB)]})
  const threeDaysAgo = Number(NOW_MS / 1000n) - 3 * 86_400
  const wal = path.join(dir, T1, 'wal')
  for (let i = 0; i < 75; i++) utimesSync(path.join(wal, `${String(i).padStart(20, '0')}.redwal`), threeDaysAgo, threeDaysAgo)
  const flags = ['--repo', repo, '--node', 'db1', '--warning-wal-segments', '100', '--warning-basebackup-age', 'off', '--critical-basebackup-age', 'off', '--warning-repo-backup-age', 'off', '--critical-repo-backup-age', 'off', '--warning-drill-age', 'off', '--critical-drill-age', 'off']

  const report = documentOf((await check(data, ...flags, '--json')).stdout)
  const repository = report.repository as JsonObject
  assert.equal(repository.archive_lag_segments, 75n)
  assert.ok((repository.archive_lag_bytes as bigint) < 256n << 20n, 'far below the byte threshold')
  assert.equal(repository.oldest_unarchived_age_ms, 3n * 86_400_000n)
  assert.deepEqual(findingsOf(report).map((f) => `${f.code}:${f.severity}`), ['repo.archive-age:error'])
  const result = await check(data, ...flags)
  assert.equal(result.exitCode, 2, result.stdout)
  assert.match(result.stdout, /^REDREPL CRITICAL - sealed WAL segment 0 of timeline 1 has waited 3d for the repository > 6h \(75 waiting, none archived yet\): is the push job running\? \| .*'archive_age'=259200s;3600;21600;0;/)
  const before = await metrics(data, ...flags)
  assert.equal(before('redrepl_archive_oldest_waiting_seconds'), '259200.000')
  assert.equal(before('redrepl_archive_last_timestamp_seconds'), undefined)
  assert.equal(before('redrepl_check_status'), '2')

  const push = await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json'])
  assert.equal(push.exitCode, 0, push.stderr)
  const after = await check(data, ...flags)
  assert.equal(after.exitCode, 0, after.stdout)
  const value = await metrics(data, ...flags)
  assert.equal(value('redrepl_archive_oldest_waiting_seconds'), '0.000')
  assert.match(value('redrepl_archive_last_timestamp_seconds') ?? '', /^\d+\.\d{3}$/)
})

test('leftovers of a killed run carry their size: in the finding, perfdata and a metric, and 96 MiB of dead staging warns', async () => {
  const {dir, data} = await primaryWithBackupAt(5_242_882n)
  const quiet = ['--warning-invalidated-slots', '1']
  const clean = await check(data, ...quiet)
  assert.equal(clean.exitCode, 0, clean.stdout)
  assert.match(firstLine(clean.stdout), /'leftovers'=0B;67108864;1073741824;0;/)

  // What a base backup killed by SIGKILL leaves: its staging dir with the chunk it was writing (sparse: its size is what counts).
  const staging = path.join(dir, BACKUPS, 'base-00000000000000000000-00000000000009999999.redbase.parts.tmp-999999999-5')
  mkdirSync(staging)
  writeFileSync(path.join(staging, '00000000000000000000.redchunk'), '')
  truncateSync(path.join(staging, '00000000000000000000.redchunk'), 96 * 1024 * 1024)

  const result = await check(data, ...quiet)
  assert.equal(result.exitCode, 1, result.stdout)
  assert.match(firstLine(result.stdout), /^REDREPL WARNING - leftovers of interrupted runs hold 96\.0 MiB > 64\.0 MiB \(layout clean removes them\) \| .*'leftovers'=100663296B;67108864;1073741824;0;/)
  assert.match(result.stdout, /\nNOTE \[leftover\.staging\] .*\.parts\.tmp-999999999-5: .* \(96\.0 MiB\)$/m)
  const report = documentOf((await check(data, ...quiet, '--json')).stdout)
  assert.equal(report.leftover_bytes, 100_663_296n)
  assert.equal(findingsOf(report).find((f) => f.code === 'leftover.staging')?.data.bytes, 100_663_296n)
  const value = await metrics(data, ...quiet)
  assert.equal(value('redrepl_leftover_bytes'), '100663296')
  assert.equal(value('redrepl_check_status'), '1')

  const cleaned = await runCli(['layout', 'clean', '--data-path', data, '--confirm', '--json'])
  assert.equal(documentOf(cleaned.stdout).freed_bytes, 100_663_296n, 'the size reported is what layout clean frees')
  assert.equal((await metrics(data, ...quiet))('redrepl_leftover_bytes'), '0')
})

test('a cluster declared to run RedDB 1.23 (reddb = "1.23" in the config) pages on a format-1 database, quick or deep; a format-2 one passes', async () => {
  const {dir, data} = await primaryWithBackupAt(5_242_882n)
  const config = path.join(dir, 'redrepl.conf')
  writeFileSync(config, '[defaults]\nreddb = "1.23"\nwarning-invalidated-slots = 1\n')
  const env = {REDREPL_CONFIG: config}
  const undeclared = await runCli(['check', '--data-path', data, '--warning-invalidated-slots', '1'])
  assert.equal(undeclared.exitCode, 0, 'nothing declared: the release the files show is all there is to go by')

  for (const deep of [[], ['--deep']]) {
    const result = await runCli(['check', '--data-path', data, ...deep], {env})
    assert.equal(result.exitCode, 2, result.stdout)
    assert.match(firstLine(result.stdout), /^REDREPL CRITICAL - format-1 database.*\(the cluster is declared to run RedDB 1\.23\)/)
    const report = documentOf((await runCli(['check', '--data-path', data, '--json', ...deep], {env})).stdout)
    assert.equal(report.reddb, '1.23')
    assert.deepEqual(findingsOf(report).filter((f) => f.code.startsWith('rdb.')).map((f) => `${f.code}:${f.severity}`), ['rdb.version-1-under-1-23:error'])
  }
  const value = metricsOf((await runCli(['metrics', '--data-path', data], {env})).stdout)
  assert.equal(value('redrepl_check_findings', {code: 'rdb.version-1-under-1-23', severity: 'error'}), '1')

  // The way out the finding names: a format-2 copy in its place.
  const copy = path.join(dir, 'copy.rdb')
  const made = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', copy, '--rdb-version', '2', '--json'])
  assert.equal(made.exitCode, 0, made.stderr)
  rmSync(data)
  writeFileSync(data, readFileSync(copy))
  const upgraded = await runCli(['check', '--data-path', data], {env})
  assert.equal(upgraded.exitCode, 0, upgraded.stdout)
})

test('wal prune runs skipped behind a long base backup are counted: check warns after 3 in a row and is critical after 12; a prune that goes through resets the count', async () => {
  const {dir, data} = await primaryWithBackupAt(5_242_882n)
  const quiet = ['--warning-invalidated-slots', '1']
  const before = documentOf((await check(data, ...quiet, '--json')).stdout)
  assert.equal(before.prune, null, 'no prune has run: nothing to hold against')

  const prune = (...flags: string[]) => runCli(['wal', 'prune', '--data-path', data, '--quiet', ...flags])
  assert.equal((await prune('--dry-run')).exitCode, 0)
  assert.equal(documentOf((await check(data, ...quiet, '--json')).stdout).prune, null, 'a dry run is not a prune that went through')
  assert.equal((await prune()).exitCode, 0)
  const done = documentOf((await check(data, ...quiet, '--json')).stdout).prune as JsonObject
  assert.deepEqual([done.skipped_runs, done.last_success_unix_ms], [0n, NOW_MS])

  const holder = await holdLayoutLock(path.join(dir, 'data.primary-replica', '.redrepl.lock'), 'basebackup create')
  try {
    for (let run = 1; run <= 13; run++) {
      const skipped = await prune()
      assert.equal(skipped.exitCode, 5, skipped.stderr)
      assert.match(skipped.stderr, /^redrepl: .*held by redrepl basebackup create/)
      const result = await check(data, ...quiet)
      const expected = run > 12 ? 2 : run > 3 ? 1 : 0
      assert.equal(result.exitCode, expected, `after ${run} skipped: ${result.stdout}`)
      if (expected > 0) assert.match(firstLine(result.stdout), new RegExp(`^REDREPL \\w+ - ${run} wal prune runs in a row found the layout lock held and removed nothing > ${run > 12 ? 12 : 3} \\(the last went through 0s ago; last held by .*basebackup create.*\\) \\| .*'prune_skipped'=${run};3;12;0;`))
    }
    const value = await metrics(data, ...quiet)
    assert.equal(value('redrepl_wal_prune_skipped_runs'), '13')
    assert.equal(value('redrepl_wal_prune_last_success_timestamp_seconds'), '1700000000.000')
    assert.equal(value('redrepl_check_status'), '2')
  } finally {
    await stop(holder)
  }
  assert.equal((await prune()).exitCode, 0)
  assert.equal((await check(data, ...quiet)).exitCode, 0)
  assert.equal((await metrics(data, ...quiet))('redrepl_wal_prune_skipped_runs'), '0')
})

test('the prune record is never written through a link, and one that is not a regular file or not a record leaves check running', async () => {
  const {dir, data} = await primaryWithBackupAt(5_242_882n)
  const quiet = ['--warning-invalidated-slots', '1']
  const record = path.join(dir, 'data.primary-replica', '.redrepl-prune.json')
  const outside = path.join(dir, 'outside.json')
  writeFileSync(outside, 'keep me')
  symlinkSync(outside, record)
  assert.equal((await check(data, ...quiet)).exitCode, 0, 'a link is no record')
  assert.equal((await runCli(['wal', 'prune', '--data-path', data, '--quiet'])).exitCode, 0)
  assert.equal(readFileSync(outside, 'utf8'), 'keep me', 'the link was replaced, not written through')
  assert.ok(lstatSync(record).isFile())

  for (const garbage of ['not json', '{"skipped_runs": -1}', '[]', 'x'.repeat(10_000)]) {
    writeFileSync(record, garbage)
    const result = await check(data, ...quiet, '--json')
    assert.equal(result.exitCode, 0, `${garbage.slice(0, 20)}: ${result.stdout}`)
    assert.equal(documentOf(result.stdout).prune, null)
  }
  rmSync(record)
  mkdirSync(record)
  assert.equal((await check(data, ...quiet)).exitCode, 0, 'a directory is no record')
})
