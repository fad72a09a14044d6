import {spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {crc32} from '../src/core/codec/crc.js'
import {createDatabaseHead} from '../src/core/format/embedded-rdb.js'
import {relayManifestCodec} from '../src/core/format/relay-manifest.js'
import {relaySegmentChecksum, relaySegmentCodec, relaySegmentFromRecords} from '../src/core/format/relay-segment.js'
import {slotCatalogCodec} from '../src/core/format/slot-catalog.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../src/core/format/wal-segment.js'
import {Layout, relaySegmentName} from '../src/core/layout.js'
import type {RelayManifest, WalSegment} from '../src/core/model.js'
import {S3Server} from '../test/support/s3.js'
import {incrementalBench} from './incremental.js'

/**
 * npm run bench: every figure is a median of RUNS, reported as a ratio to
 * a baseline measured in the same run on the same inputs.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
/** One or more snapshot sizes, e.g. `1024,4096`. */
const SNAPSHOT_MIBS = (process.env.BENCH_SNAPSHOT_MIB ?? '1024,4096').split(',').map(Number)
const WAL_FILES = Number(process.env.BENCH_WAL_FILES ?? 100_000)
const REPO_MIB = Number(process.env.BENCH_REPO_MIB ?? 2048)
const S = 1_048_576n
const ENV = {...process.env, REDREPL_NOW_MS: '1700000000000', NO_COLOR: '1'}

interface Row {
  what: string
  ours: string
  baseline: string
  ratio: string
  target: string
}
const rows: Row[] = []

interface Contender {
  command: string
  args: string[]
  /** Untimed set-up before each run (removing the previous run's output). */
  before?: () => void
  /** Leave what `before` wrote dirty in the page cache (to time its write-back). */
  keepDirty?: boolean
}

function timeOnce({command, args, before, keepDirty}: Contender): number {
  before?.()
  // Nothing dirty from an earlier run may be written back on this run's time.
  if (!keepDirty) spawnSync('sync')
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {env: ENV, stdio: ['ignore', 'ignore', 'pipe']})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
  return elapsed
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/**
 * Median time of each contender over `runs` rounds, taken round-robin (one
 * run of each per round) so that a machine whose disk or CPU speed drifts
 * during the benchmark slows every contender alike.
 */
function timeRounds<K extends string>(contenders: Record<K, Contender>, runs = RUNS): Record<K, Timing> {
  const names = Object.keys(contenders) as K[]
  const times = new Map<K, number[]>(names.map((name) => [name, []]))
  for (let round = 0; round < runs; round++) for (const name of names) times.get(name)!.push(timeOnce(contenders[name]))
  return Object.fromEntries(names.map((name) => [name, {median: median(times.get(name)!), best: Math.min(...times.get(name)!)}])) as Record<K, Timing>
}

/** Median and fastest of several runs: noise on a shared machine only ever slows a run down. */
interface Timing {
  median: number
  best: number
}

/** How many times `ours` takes the baseline's time: medians, then best runs. */
function timesSlower(ours: Timing, baseline: Timing): string {
  return `${(ours.median / baseline.median).toFixed(2)}× (best runs ${(ours.best / baseline.best).toFixed(2)}×)`
}

/** Throughput relative to the baseline's: medians, then best runs. */
function throughputOf(ours: Timing, baseline: Timing): string {
  return `${(baseline.median / ours.median).toFixed(2)}× (best runs ${(baseline.best / ours.best).toFixed(2)}×)`
}

/** Peak RSS in MiB, from /usr/bin/time -v. */
function peakRss(args: string[], before?: () => void): number {
  before?.()
  const result = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, ...args], {env: ENV, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe']})
  const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)
  if (!match) throw new Error(`no RSS reading: ${result.stderr}`)
  return Number(match[1]) / 1024
}

const ms = (timing: Timing) => `${timing.median.toFixed(0)} ms`
const say = (text: string) => process.stderr.write(`${text}\n`)

/** A database of `mib` MiB of snapshot bytes (a fixed pattern, RDST first) at `data`. */
function writeDatabase(data: string, mib: number): void {
  mkdirSync(Layout.fromDataPath(data).root, {recursive: true})
  const block = Buffer.alloc(16 * 1024 * 1024)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  const first = Buffer.from(block)
  first.write('RDST', 0)
  const blocks = Math.max(1, Math.round(mib / 16))
  let crc = crc32(first)
  for (let b = 1; b < blocks; b++) crc = crc32(block, crc)
  const fd = openSync(data, 'w')
  writeSync(fd, createDatabaseHead(1, BigInt(blocks) * 16n * 1024n * 1024n, crc, 1700000000000n))
  writeSync(fd, first)
  for (let b = 1; b < blocks; b++) writeSync(fd, block)
  closeSync(fd)
}

const FLOOR = path.join(ROOT, 'dist', 'bench', 'durable-copy.js')

function snapshotBench(dir: string): void {
  let createMibPerSecond = Infinity
  for (const mib of SNAPSHOT_MIBS) createMibPerSecond = Math.min(createMibPerSecond, snapshotBenchOf(dir, mib))
  maxRateBench(dir, createMibPerSecond)
}

/** Returns the speed of create measured, in MiB/s. */
function snapshotBenchOf(dir: string, mib: number): number {
  say(`snapshot: writing a ${mib} MiB database…`)
  const data = path.join(dir, 'node', 'data.rdb')
  writeDatabase(data, mib)
  const backups = Layout.fromDataPath(data).basebackupDir(1n)
  const copy = path.join(dir, 'copy.rdb')
  const restored = path.join(dir, 'restored.rdb')
  const freshBackup = () => rmSync(backups, {recursive: true, force: true})
  const noCopy = () => rmSync(copy, {force: true})
  const noRestore = () => rmSync(restored, {force: true})
  const bytes = mib * 1024 * 1024

  // A backup to restore from must exist before the first materialize.
  timeOnce({command: process.execPath, args: [BIN, 'basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1']})
  const {cpSync, floor, create, materialize} = timeRounds({
    cpSync: {command: 'sh', args: ['-c', 'cp "$0" "$1" && sync -f "$1"', data, copy], before: noCopy},
    floor: {command: process.execPath, args: [FLOOR, data, copy], before: noCopy},
    create: {command: process.execPath, args: [BIN, 'basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1'], before: freshBackup},
    materialize: {command: process.execPath, args: [BIN, 'basebackup', 'materialize', '--data-path', data, '--to', restored], before: noRestore},
  })
  const rate = (t: Timing) => `${(bytes / 1024 / 1024 / (t.median / 1000)).toFixed(0)} MiB/s`
  const baseline = `cp && sync -f ${ms(cpSync)} (${rate(cpSync)})`
  rows.push({what: `durable copy in Node (1 MiB sync I/O, CRC, flush-behind), ${mib} MiB`, ours: `${ms(floor)} (${rate(floor)})`, baseline, ratio: throughputOf(floor, cpSync), target: "(Node's floor)"})
  for (const [what, ours] of [
    ['basebackup create', create],
    ['basebackup materialize', materialize],
  ] as const) {
    rows.push({what: `${what}, ${mib} MiB`, ours: `${ms(ours)} (${rate(ours)})`, baseline, ratio: throughputOf(ours, cpSync), target: '≥ 0.9×'})
    rows.push({what: `${what}, ${mib} MiB, against the Node floor`, ours: ms(ours), baseline: `durable-copy ${ms(floor)}`, ratio: throughputOf(ours, floor), target: "(redrepl's own share)"})
  }
  if (existsSync('/usr/bin/time')) {
    const rssCreate = peakRss(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1'], freshBackup)
    const rssMaterialize = peakRss(['basebackup', 'materialize', '--data-path', data, '--to', restored], noRestore)
    rows.push({what: `peak RSS, create / materialize, ${mib} MiB`, ours: `${rssCreate.toFixed(0)} / ${rssMaterialize.toFixed(0)} MiB`, baseline: '-', ratio: '-', target: '≤ 128 MiB'})
  } else {
    rows.push({what: `peak RSS, create / materialize, ${mib} MiB`, ours: 'not measured: no /usr/bin/time (Debian package `time`)', baseline: '-', ratio: '-', target: '≤ 128 MiB'})
  }
  rmSync(path.join(dir, 'node'), {recursive: true, force: true})
  noCopy()
  noRestore()
  return mib / (create.median / 1000)
}

/**
 * One throttled create at a quarter of the speed create itself reached
 * above (at most 32 MiB/s, so the run lasts 8 s or more and start-up is a
 * small part of it): the throughput it keeps should be the limit. A limit
 * taken from `cp` instead can lie above what the machine gives Node when
 * its CPUs are shared.
 */
function maxRateBench(dir: string, createMibPerSecond: number): void {
  const mib = 256
  const limitMib = Math.max(1, Math.min(32, Math.floor(createMibPerSecond / 4)))
  say(`snapshot: create of ${mib} MiB with --max-rate ${limitMib}MiB…`)
  const data = path.join(dir, 'node', 'data.rdb')
  writeDatabase(data, mib)
  const backups = Layout.fromDataPath(data).basebackupDir(1n)
  rmSync(backups, {recursive: true, force: true})
  spawnSync('sync')
  // --progress on a pipe prints plain lines; the last one's rate is the stream's own, without start-up and the final fsyncs.
  const started = process.hrtime.bigint()
  const result = spawnSync(process.execPath, [BIN, 'basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1', '--max-rate', `${limitMib}MiB`, '--progress'], {env: ENV, stdio: ['ignore', 'ignore', 'pipe']})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`basebackup create --max-rate failed: ${result.stderr}`)
  const rates = [...String(result.stderr).matchAll(/at ([\d.]+) MiB\/s/g)].map((match) => Number(match[1]))
  const streamed = rates.at(-1) ?? Number.NaN
  rows.push({
    what: `basebackup create, ${mib} MiB, --max-rate ${limitMib}MiB`,
    ours: `${streamed.toFixed(1)} MiB/s streamed (${elapsed.toFixed(0)} ms with start-up and fsyncs: ${(mib / (elapsed / 1000)).toFixed(1)} MiB/s)`,
    baseline: `limit ${limitMib} MiB/s`,
    ratio: `${(streamed / limitMib).toFixed(3)}× the limit`,
    target: 'within 5 %',
  })
  rmSync(path.join(dir, 'node'), {recursive: true, force: true})
}

const VERIFY_WAL_FILES = Number(process.env.BENCH_VERIFY_WAL_FILES ?? 100_000)
const VERIFY_RELAY_SEGMENTS = 1000
const VERIFY_BACKUPS = 10
const VERIFY_BACKUP_MIB = Number(process.env.BENCH_VERIFY_BACKUP_MIB ?? 100)

/** Writes `count` WAL segments of one record each (segment size 1 MiB) and a slot catalog that holds them. */
function writeWal(layout: Layout, count: number): void {
  mkdirSync(layout.walDir(1n), {recursive: true})
  for (let i = 0n; i < BigInt(count); i++) {
    let segment: WalSegment = emptyWalSegment(1n, i, S)
    segment = appendWalRecord(segment, i * S + 1n, Buffer.from('x'), S)
    writeFileSync(layout.walSegmentPath(1n, i), walSegmentCodec.encode(segment, {nowMs: 0n}))
  }
  const slot = {replica_id: 'r', restart_lsn: 0n, confirmed_write_lsn: 5n * S, confirmed_flush_lsn: 5n * S, confirmed_apply_lsn: 5n * S, active: true, last_seen_at_unix_ms: 0n, invalidation_reason: null, invalidated_at_unix_ms: null}
  writeFileSync(layout.slotCatalogPath(1n), slotCatalogCodec.encode({timeline: 1n, slots: [slot]}, {nowMs: 0n}))
}

/** A relay log of `segments` segments of 10 records each for replica `r`. */
function writeRelay(layout: Layout, segments: number): void {
  const relayDir = layout.relayDir(1n, 'r')
  mkdirSync(relayDir, {recursive: true})
  let manifest: RelayManifest = {replica_id: 'r', timeline: 1n, received_lsn: 0n, flushed_lsn: 0n, applied_lsn: 0n, segments: []}
  const refs: RelayManifest['segments'] = []
  for (let s = 0; s < segments; s++) {
    const records = Array.from({length: 10}, (_, k) => ({lsn: BigInt(s * 10 + k + 1), payload: Buffer.from('payload')}))
    const segment = relaySegmentFromRecords(1n, records)
    const bytes = relaySegmentCodec.encode(segment, {nowMs: 0n})
    const name = relaySegmentName(segment.start_lsn, segment.end_lsn)
    writeFileSync(path.join(relayDir, name), bytes)
    refs.push({relative_path: name, start_lsn: segment.start_lsn, end_lsn: segment.end_lsn, checksum: relaySegmentChecksum(bytes)})
  }
  const end = refs.at(-1)?.end_lsn ?? 0n
  manifest = {...manifest, received_lsn: end, flushed_lsn: end, segments: refs}
  writeFileSync(layout.relayManifestPath(1n, 'r'), relayManifestCodec.encode(manifest, {nowMs: 0n}))
}

/**
 * check, metrics and layout verify over a large layout: 100,000 WAL
 * segments, 1,000 relay segments and 10 base backups of 100 MiB. The quick
 * runs (check, metrics) stat what they do not decode, so their baseline is
 * `find -printf '%s'` over the layout; a run that reads every byte (layout
 * verify, basebackup verify) is measured against `cat` of the same files.
 */
function verifyBench(dir: string): void {
  say(`verify: writing ${VERIFY_WAL_FILES} WAL segments, ${VERIFY_RELAY_SEGMENTS} relay segments and ${VERIFY_BACKUPS} backups of ${VERIFY_BACKUP_MIB} MiB…`)
  const data = path.join(dir, 'verify-node', 'data.rdb')
  const layout = Layout.fromDataPath(data)
  writeDatabase(data, 16)
  writeWal(layout, VERIFY_WAL_FILES)
  writeRelay(layout, VERIFY_RELAY_SEGMENTS)
  const snapshot = path.join(dir, 'snapshot.bin')
  const block = Buffer.alloc(1024 * 1024, 0x5a)
  block.write('RDST', 0)
  const fd = openSync(snapshot, 'w')
  for (let m = 0; m < VERIFY_BACKUP_MIB; m++) writeSync(fd, block)
  closeSync(fd)
  for (let b = 1; b <= VERIFY_BACKUPS; b++) timeOnce({command: process.execPath, args: [BIN, 'basebackup', 'create', '--data-path', data, '--snapshot', snapshot, '--checkpoint-lsn', String(BigInt(b) * S)]})
  rmSync(snapshot)
  const root = layout.root
  const backups = layout.basebackupDir(1n)
  const oneBackup = `base-00000000000000000000-${String(S).padStart(20, '0')}.redbase`
  // check and layout verify exit non-zero for what they find (a slot behind, a stalled retention): timed all the same, never for a crash.
  const tolerant = (args: string[]) => ({command: 'sh', args: ['-c', '"$@" > /dev/null; [ $? -le 3 ]', 'sh', process.execPath, BIN, ...args]})
  const {find, check, metrics, cat, verify, catOne, verifyOne} = timeRounds({
    find: {command: 'sh', args: ['-c', `find "$0" -type f -printf '%s\\n' > /dev/null`, root]},
    check: tolerant(['check', '--data-path', data, '--json']),
    metrics: tolerant(['metrics', '--data-path', data]),
    cat: {command: 'sh', args: ['-c', `find "$0" -type f -exec cat {} + > /dev/null`, root]},
    verify: tolerant(['layout', 'verify', '--data-path', data, '--json']),
    catOne: {command: 'sh', args: ['-c', 'cat "$0"/*.redchunk > /dev/null', path.join(backups, `${oneBackup}.parts`)]},
    verifyOne: {command: process.execPath, args: [BIN, 'basebackup', 'verify', '--data-path', data, '--manifest', path.join(backups, oneBackup)]},
  })
  const what = `${VERIFY_WAL_FILES} WAL + ${VERIFY_RELAY_SEGMENTS} relay segments + ${VERIFY_BACKUPS} × ${VERIFY_BACKUP_MIB} MiB backups`
  rows.push({what: `check (quick), ${what}`, ours: ms(check), baseline: `find -printf ${ms(find)}`, ratio: timesSlower(check, find), target: '≤ 3×'})
  rows.push({what: `metrics (quick), same layout`, ours: ms(metrics), baseline: `find -printf ${ms(find)}`, ratio: timesSlower(metrics, find), target: '≤ 3×'})
  rows.push({what: 'layout verify (reads everything), same layout', ours: ms(verify), baseline: `cat of every file ${ms(cat)}`, ratio: throughputOf(verify, cat), target: '≥ 0.8× (throughput)'})
  rows.push({what: `basebackup verify, one ${VERIFY_BACKUP_MIB} MiB backup`, ours: ms(verifyOne), baseline: `cat of its chunks ${ms(catOne)}`, ratio: throughputOf(verifyOne, catOne), target: '≥ 0.8× (throughput)'})
  rmSync(path.join(dir, 'verify-node'), {recursive: true, force: true})
}

function walPlanBench(dir: string): void {
  say(`wal plan: writing ${WAL_FILES} segment files…`)
  const data = path.join(dir, 'wal-node', 'data.rdb')
  const layout = Layout.fromDataPath(data)
  writeWal(layout, WAL_FILES)
  const {find, plan} = timeRounds({
    find: {command: 'sh', args: ['-c', `find "$0" -name '*.redwal' -printf '%s\\n' > /dev/null`, layout.walDir(1n)]},
    plan: {command: 'sh', args: ['-c', `"$0" "$1" wal plan --data-path "$2" --segment-bytes 1MiB --json > /dev/null`, process.execPath, BIN, data]},
  })
  rows.push({what: `wal plan over ${WAL_FILES} segment files`, ours: ms(plan), baseline: `find -printf ${ms(find)}`, ratio: timesSlower(plan, find), target: '≤ 3×'})
  rmSync(path.join(dir, 'wal-node'), {recursive: true, force: true})
}

function relayBench(dir: string): void {
  for (const segments of [10, 100, 1000]) {
    say(`relay append: a log of ${segments} segments…`)
    const data = path.join(dir, `relay-${segments}`, 'data.rdb')
    const layout = Layout.fromDataPath(data)
    writeRelay(layout, segments)
    const batch = path.join(dir, `batch-${segments}.jsonl`)
    const from = segments * 10 + 1
    writeFileSync(batch, Array.from({length: 1000}, (_, k) => `{"lsn":${from + k},"payload_hex":"0102030405060708"}`).join('\n'))
    // Each run appends past the last: a fresh copy of the log per run keeps the size fixed.
    const pristine = path.join(dir, `relay-${segments}-pristine`)
    spawnSync('cp', ['-r', path.dirname(data), pristine])
    const reset = () => {
      rmSync(path.dirname(data), {recursive: true, force: true})
      spawnSync('cp', ['-r', pristine, path.dirname(data)])
    }
    const {append, node} = timeRounds({
      append: {command: 'sh', args: ['-c', `"$0" "$1" relay append --data-path "$2" --replica r --applied-lsn 0 < "$3"`, process.execPath, BIN, data, batch], before: reset},
      node: {command: process.execPath, args: ['-e', '0']},
    })
    rows.push({what: `relay append, 1,000 records onto ${segments} segments`, ours: ms(append), baseline: `node -e 0 ${ms(node)}`, ratio: timesSlower(append, node), target: 'growth with the log'})
  }
}

function inspectBench(dir: string): void {
  say('inspect: a 64 MiB WAL segment…')
  const file = path.join(dir, '00000000000000000000.redwal')
  let segment: WalSegment = emptyWalSegment(1n, 0n, 64n * S)
  const payload = Buffer.alloc(4000, 7)
  for (let lsn = 1n; segment.records.length < 16_500; lsn++) segment = appendWalRecord(segment, lsn, payload, 64n * S)
  writeFileSync(file, walSegmentCodec.encode(segment, {nowMs: 0n}))
  const {inspect, xxd} = timeRounds({
    inspect: {command: 'sh', args: ['-c', `"$0" "$1" inspect --json "$2" > /dev/null`, process.execPath, BIN, file]},
    xxd: {command: 'sh', args: ['-c', `xxd -p "$0" > /dev/null`, file]},
  })
  rows.push({what: 'inspect --json of a 64 MiB WAL segment', ours: ms(inspect), baseline: `xxd -p ${ms(xxd)}`, ratio: timesSlower(inspect, xxd), target: '(hex of the same bytes)'})
}

function startupBench(dir: string): void {
  const small = path.join(ROOT, '..', 'shared', 'fixtures', 'v1.12.0', 'layouts', 'primary-basic', 'data.rdb')
  const {node, version, plan} = timeRounds(
    {
      node: {command: process.execPath, args: ['-e', '0']},
      version: {command: process.execPath, args: [BIN, '--version']},
      plan: {command: process.execPath, args: [BIN, 'wal', 'plan', '--data-path', small, '--segment-bytes', '1MiB', '--json']},
    },
    RUNS * 2,
  )
  rows.push({what: 'redrepl --version', ours: ms(version), baseline: `node -e 0 ${ms(node)}`, ratio: timesSlower(version, node), target: '≤ 2×'})
  rows.push({what: 'redrepl wal plan, small layout', ours: ms(plan), baseline: `node -e 0 ${ms(node)}`, ratio: timesSlower(plan, node), target: '≤ 3×'})
  void dir
}

/**
 * repo push and restore of one base backup, to a directory and to the S3
 * server the tests start (s3rver, on 127.0.0.1), against `cp -r` of the
 * backup's files and a `sync`: the same bytes made durable elsewhere. The
 * Node floor copies a restored database as restore writes one: how fast
 * Node itself writes one durable file, apart from what redrepl adds.
 */
async function repoBench(dir: string): Promise<void> {
  say(`repo: a ${REPO_MIB} MiB base backup…`)
  const data = path.join(dir, 'repo-node', 'data.rdb')
  const layout = Layout.fromDataPath(data)
  mkdirSync(layout.root, {recursive: true})
  const block = Buffer.alloc(16 * 1024 * 1024)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  const first = Buffer.from(block)
  first.write('RDST', 0)
  let crc = crc32(first)
  for (let b = 1; b < REPO_MIB / 16; b++) crc = crc32(block, crc)
  const fd = openSync(data, 'w')
  writeSync(fd, createDatabaseHead(1, BigInt(REPO_MIB) * 1024n * 1024n, crc, 1700000000000n))
  writeSync(fd, first)
  for (let b = 1; b < REPO_MIB / 16; b++) writeSync(fd, block)
  closeSync(fd)
  timeOnce({command: process.execPath, args: [BIN, 'basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1']})
  // The backup alone is what is pushed: the database it was taken from is not.
  rmSync(data)

  const repo = path.join(dir, 'repo-dir')
  const copy = path.join(dir, 'repo-copy')
  const restored = path.join(dir, 'repo-restored.rdb')
  const noRepo = () => rmSync(repo, {recursive: true, force: true})
  const noCopy = () => rmSync(copy, {recursive: true, force: true})
  const noRestore = () => rmSync(restored, {force: true})
  const push = (url: string, ...extra: string[]) => [BIN, 'repo', 'push', '--data-path', data, '--repo', url, '--node', 'bench', ...extra]
  const restore = (url: string, to = restored) => [BIN, 'repo', 'restore', '--repo', url, '--node', 'bench', '--to', to, '--rdb-version', '1']
  const mib = REPO_MIB
  const rate = (t: Timing) => `${(mib / (t.median / 1000)).toFixed(0)} MiB/s`

  // A repository to restore from must exist before the first restore, and a
  // restored database is the Node floor's source: one file of the same bytes.
  timeOnce({command: process.execPath, args: push(repo)})
  const floorSource = path.join(dir, 'repo-floor-source.rdb')
  timeOnce({command: process.execPath, args: restore(repo, floorSource)})
  const floorCopy = path.join(dir, 'repo-floor-copy.rdb')
  const local = timeRounds({
    cpSync: {command: 'sh', args: ['-c', `cp -r "$0" "$1" && sync`, layout.basebackupDir(1n), copy], before: noCopy},
    push: {command: process.execPath, args: push(repo), before: noRepo},
    restore: {command: process.execPath, args: restore(repo), before: noRestore},
    floor: {command: process.execPath, args: [FLOOR, floorSource, floorCopy], before: () => rmSync(floorCopy, {force: true})},
  })
  rmSync(floorSource, {force: true})
  rmSync(floorCopy, {force: true})
  const baseline = `cp -r && sync ${ms(local.cpSync)} (${rate(local.cpSync)})`
  rows.push({what: `repo push to a directory, ${mib} MiB backup`, ours: `${ms(local.push)} (${rate(local.push)})`, baseline, ratio: throughputOf(local.push, local.cpSync), target: '≥ 0.8×'})
  rows.push({what: `repo restore from a directory, ${mib} MiB`, ours: `${ms(local.restore)} (${rate(local.restore)})`, baseline, ratio: throughputOf(local.restore, local.cpSync), target: '≥ 0.8×'})
  rows.push({what: `durable copy in Node of the restored database (1 MiB sync I/O, CRC, flush-behind), ${mib} MiB`, ours: `${ms(local.floor)} (${rate(local.floor)})`, baseline, ratio: throughputOf(local.floor, local.cpSync), target: "(Node's floor for restore)"})
  const gzip = timeRounds({gzip: {command: process.execPath, args: push(repo, '--compress', 'gzip'), before: noRepo}}, 1).gzip
  rows.push({what: `repo push --compress gzip to a directory, ${mib} MiB (one run)`, ours: `${ms(gzip)} (${rate(gzip)})`, baseline, ratio: throughputOf(gzip, local.cpSync), target: '-'})
  noRepo()

  const server = new S3Server(path.join(dir, 's3rver'), ['bench'])
  await server.start()
  Object.assign(ENV, server.env())
  // s3rver keeps each object as files under its directory: removing a prefix's files empties it.
  const emptyPrefix = (prefix: string) => () => rmSync(path.join(server.directory, 'bench', prefix), {recursive: true, force: true})
  try {
    timeOnce({command: process.execPath, args: push('s3://bench/kept')})
    const s3 = timeRounds({
      push: {command: process.execPath, args: push('s3://bench/timed'), before: emptyPrefix('timed')},
      restore: {command: process.execPath, args: restore('s3://bench/kept'), before: noRestore},
    })
    rows.push({what: `repo push to S3 (s3rver on 127.0.0.1), ${mib} MiB`, ours: `${ms(s3.push)} (${rate(s3.push)})`, baseline, ratio: throughputOf(s3.push, local.cpSync), target: '-'})
    rows.push({what: `repo restore from S3 (s3rver on 127.0.0.1), ${mib} MiB`, ours: `${ms(s3.restore)} (${rate(s3.restore)})`, baseline, ratio: throughputOf(s3.restore, local.cpSync), target: '-'})
    if (existsSync('/usr/bin/time')) {
      const rss = [
        peakRss(push(repo).slice(1), noRepo),
        peakRss(restore(repo).slice(1), noRestore),
        peakRss(push('s3://bench/timed').slice(1), emptyPrefix('timed')),
        peakRss(restore('s3://bench/kept').slice(1), noRestore),
      ]
      rows.push({what: 'peak RSS, push / restore, directory / S3', ours: rss.map((v) => `${v.toFixed(0)}`).join(' / ') + ' MiB', baseline: `${mib} MiB backup`, ratio: '-', target: '≤ 160 MiB'})
    }
  } finally {
    await server.kill()
    noRepo()
    noRestore()
    rmSync(path.join(dir, 'repo-node'), {recursive: true, force: true})
  }
}

const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'redrepl-bench-'))
try {
  const only = process.argv.slice(2)
  const benches: Record<string, (dir: string) => void | Promise<void>> = {startup: startupBench, inspect: inspectBench, relay: relayBench, wal: walPlanBench, snapshot: snapshotBench, verify: verifyBench, repo: repoBench, 'repo-incremental': (d) => void rows.push(...incrementalBench(d, {bin: BIN, env: ENV, say, mib: Number(process.env.BENCH_INCREMENTAL_MIB ?? 1024)}))}
  for (const [name, bench] of Object.entries(benches)) if (only.length === 0 || only.includes(name)) await bench(dir)
} finally {
  rmSync(dir, {recursive: true, force: true})
}

console.log(`| measurement | redrepl | baseline | ratio | target |\n|---|---|---|---|---|`)
for (const row of rows) console.log(`| ${row.what} | ${row.ours} | ${row.baseline} | ${row.ratio} | ${row.target} |`)
console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${RUNS} runs each (median)`)
