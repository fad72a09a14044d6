import {spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {crc32} from '../src/core/codec/crc.js'
import {createDatabaseHead} from '../src/core/format/embedded-rdb.js'
import {relayManifestCodec} from '../src/core/format/relay-manifest.js'
import {relaySegmentChecksum, relaySegmentCodec, relaySegmentFromRecords} from '../src/core/format/relay-segment.js'
import {slotCatalogCodec} from '../src/core/format/slot-catalog.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../src/core/format/wal-segment.js'
import {basebackupManifestName, dataPathArtifacts, Layout, relaySegmentName} from '../src/core/layout.js'
import type {RelayManifest, WalSegment} from '../src/core/model.js'
import {S3Server} from '../test/support/s3.js'
import {incrementalBench} from './incremental.js'

/**
 * npm run bench: every figure is reported as a ratio to a baseline measured
 * in the same run on the same inputs. The copies (snapshot and repo groups)
 * are measured in pairs, redrepl and its baseline back to back, the ratio
 * taken pair by pair, with CPU seconds and peak RSS from GNU time; the rest
 * are medians of RUNS rounds.
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

/** How many pairs each paired row takes (BENCH_PAIRS, at least 7 by default). */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 7)
/** GNU time reports a run's CPU and peak RSS, its waited-for children's included (`sh -c 'cp && sync'`). */
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

/** One timed run: wall milliseconds, and where GNU time is there, CPU seconds (user + system) and peak RSS in MiB. */
interface Sample {
  ms: number
  cpu: number
  rssMib: number
}

function sampleOnce({command, args, before, keepDirty}: Contender, scratch: string): Sample {
  before?.()
  // Nothing dirty from an earlier run may be written back on this run's time.
  if (!keepDirty) spawnSync('sync')
  const report = path.join(scratch, 'time.txt')
  rmSync(report, {force: true})
  const [file, argv] = TIME === undefined ? [command, args] : [TIME, ['-o', report, '-f', '%U %S %M', command, ...args]]
  const started = process.hrtime.bigint()
  const result = spawnSync(file, argv, {env: ENV, stdio: ['ignore', 'ignore', 'pipe']})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
  if (TIME === undefined) return {ms: elapsed, cpu: Number.NaN, rssMib: Number.NaN}
  const [user, system, rssKib] = readFileSync(report, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
  return {ms: elapsed, cpu: user + system, rssMib: rssKib / 1024}
}

/** A row measured in pairs: redrepl's run and its baseline's, back to back. */
interface Paired {
  what: string
  ours: Contender
  baseline: Contender
  baselineName: string
  /** Bytes each run copies, for MiB/s and CPU seconds per GiB. */
  bytes: number
  target: string
}

interface PairResult {
  ours: Sample[]
  baseline: Sample[]
  /** Throughput of ours over the baseline's, pair by pair: baseline time / our time. */
  ratios: number[]
}

/**
 * Runs every row's pairs round by round: in each round, each row runs its
 * two contenders back to back, redrepl first in even rounds and the
 * baseline first in odd ones. A ratio taken within one pair moves far less
 * than absolute times on a shared machine, and rows interleaved round by
 * round see the same drift.
 */
function runPairs(rowsToRun: Paired[], scratch: string, pairs = PAIRS): PairResult[] {
  const results: PairResult[] = rowsToRun.map(() => ({ours: [], baseline: [], ratios: []}))
  for (let round = 0; round < pairs; round++) {
    say(`  pair ${round + 1} of ${pairs}`)
    for (const [r, row] of rowsToRun.entries()) {
      let ours: Sample
      let baseline: Sample
      if (round % 2 === 0) {
        ours = sampleOnce(row.ours, scratch)
        baseline = sampleOnce(row.baseline, scratch)
      } else {
        baseline = sampleOnce(row.baseline, scratch)
        ours = sampleOnce(row.ours, scratch)
      }
      results[r].ours.push(ours)
      results[r].baseline.push(baseline)
      results[r].ratios.push(baseline.ms / ours.ms)
    }
  }
  return results
}

const GIB = 1024 * 1024 * 1024

/** Median, with min and max: `0.81× (0.74–0.88)`. */
const spread = (values: number[], digits = 2) => `${median(values).toFixed(digits)}× (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`

function pairedRow(row: Paired, result: PairResult): Row {
  const side = (samples: Sample[]) => {
    const wall = median(samples.map((s) => s.ms))
    const rate = row.bytes / 1024 / 1024 / (wall / 1000)
    const cpu = TIME === undefined ? 'CPU not measured (no /usr/bin/time)' : `CPU ${(median(samples.map((s) => s.cpu)) / (row.bytes / GIB)).toFixed(2)} s/GiB, peak RSS ${Math.max(...samples.map((s) => s.rssMib)).toFixed(0)} MiB`
    return `${wall.toFixed(0)} ms (${rate.toFixed(0)} MiB/s), ${cpu}`
  }
  const cpuRatio = TIME === undefined ? '' : `; CPU ${(median(result.ours.map((s) => s.cpu)) / median(result.baseline.map((s) => s.cpu))).toFixed(2)}× the baseline's`
  return {what: row.what, ours: side(result.ours), baseline: `${row.baselineName}: ${side(result.baseline)}`, ratio: `${spread(result.ratios)}${cpuRatio}`, target: row.target}
}

const ms = (timing: Timing) => `${timing.median.toFixed(0)} ms`
const say = (text: string) => process.stderr.write(`${text} (load ${os.loadavg()[0].toFixed(2)})\n`)

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

const LOWER_BOUND = path.join(ROOT, 'dist', 'bench', 'durable-copy.js')

/** `mib` MiB of raw snapshot bytes (the pattern writeDatabase stores, RDST first) at `file`. */
function writeSnapshotFile(file: string, mib: number): void {
  const block = Buffer.alloc(16 * 1024 * 1024)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  const first = Buffer.from(block)
  first.write('RDST', 0)
  const fd = openSync(file, 'w')
  writeSync(fd, first)
  for (let b = 1; b < Math.max(1, Math.round(mib / 16)); b++) writeSync(fd, block)
  closeSync(fd)
}

function snapshotBench(dir: string): void {
  let createMibPerSecond = Infinity
  for (const mib of SNAPSHOT_MIBS) createMibPerSecond = Math.min(createMibPerSecond, snapshotBenchOf(dir, mib))
  maxRateBench(dir, createMibPerSecond)
}

/**
 * create (from a raw snapshot file and --from a data file) and materialize
 * (--to and --rebootstrap), each paired with `cp SRC DST && sync -f DST` of
 * its own input, and the lower bound for a copy that checks every byte
 * (durable-copy.ts: a kernel copy, one read of the copy for its CRC, an
 * fsync) paired with the same. Returns create's speed in MiB/s.
 */
function snapshotBenchOf(dir: string, mib: number): number {
  say(`snapshot: writing a ${mib} MiB database and a ${mib} MiB snapshot file…`)
  const data = path.join(dir, 'node', 'data.rdb')
  writeDatabase(data, mib)
  const snapshot = path.join(dir, 'snapshot.bin')
  writeSnapshotFile(snapshot, mib)
  const layout = Layout.fromDataPath(data)
  const backups = layout.basebackupDir(1n)
  const copy = path.join(dir, 'copy.rdb')
  const restored = path.join(dir, 'restored.rdb')
  const pending = dataPathArtifacts(data)
  const noCopy = () => rmSync(copy, {force: true})
  const noRestore = () => rmSync(restored, {force: true})
  const noPending = () => {
    rmSync(pending.rebootstrapReady, {force: true})
    rmSync(pending.rebootstrapPending, {force: true})
  }
  const bytes = mib * 1024 * 1024
  const cpSync = (source: string): Contender => ({command: 'sh', args: ['-c', 'cp "$0" "$1" && sync -f "$1"', source, copy], before: noCopy})
  const redrepl = (args: string[], before: () => void): Contender => ({command: process.execPath, args: [BIN, ...args], before})

  // The backup materialize restores: taken once, before the first pair, at another checkpoint than the creates'.
  const kept = ['--data-path', data, '--from', data, '--checkpoint-lsn', '1']
  sampleOnce(redrepl(['basebackup', 'create', ...kept], () => {}), dir)
  // Both creates write the same backup (same bytes, checkpoint 2): each run starts without it.
  const timed = ['--checkpoint-lsn', '2']
  const noTimedBackup = () => {
    for (const name of [basebackupManifestName(0n, 2n), `${basebackupManifestName(0n, 2n)}.parts`]) rmSync(path.join(backups, name), {recursive: true, force: true})
  }
  const paired: Paired[] = [
    {what: `lower bound: kernel copy, CRC of the copy, fsync (durable-copy.ts), ${mib} MiB`, ours: {command: process.execPath, args: [LOWER_BOUND, data, copy], before: noCopy}, baseline: cpSync(data), baselineName: 'cp && sync -f', bytes, target: '(the floor for a checked copy)'},
    {what: `basebackup create --snapshot FILE, ${mib} MiB`, ours: redrepl(['basebackup', 'create', '--data-path', data, '--snapshot', snapshot, ...timed], noTimedBackup), baseline: cpSync(snapshot), baselineName: 'cp && sync -f', bytes, target: '≥ 0.9×, CPU ≤ 2×'},
    {what: `basebackup create --from DATA, ${mib} MiB`, ours: redrepl(['basebackup', 'create', '--data-path', data, '--from', data, ...timed], noTimedBackup), baseline: cpSync(data), baselineName: 'cp && sync -f', bytes, target: '≥ 0.9×, CPU ≤ 2×'},
    {what: `basebackup materialize --to, ${mib} MiB`, ours: redrepl(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '1', '--to', restored], noRestore), baseline: cpSync(data), baselineName: 'cp && sync -f', bytes, target: '≥ 0.9×, CPU ≤ 2×'},
    {what: `basebackup materialize --rebootstrap, ${mib} MiB`, ours: redrepl(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '1', '--rebootstrap'], noPending), baseline: cpSync(data), baselineName: 'cp && sync -f', bytes, target: '≥ 0.9×, CPU ≤ 2×'},
  ]
  say(`snapshot: ${paired.length} rows × ${PAIRS} pairs at ${mib} MiB…`)
  const results = runPairs(paired, dir)
  for (const [r, row] of paired.entries()) rows.push(pairedRow(row, results[r]))
  rmSync(path.join(dir, 'node'), {recursive: true, force: true})
  rmSync(snapshot, {force: true})
  noCopy()
  noRestore()
  return mib / (median(results[1].ours.map((s) => s.ms)) / 1000)
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

/** Start-up runs are short: they get BENCH_PAIRS pairs or twice BENCH_RUNS, whichever is more. */
const STARTUP_PAIRS = Math.max(PAIRS, RUNS * 2)

/**
 * Start-up, in pairs against `node -e 0`: `--version`, `--help`, `wal plan
 * --json` of a small layout and `basebackup create` of a 1 MiB snapshot,
 * each run back to back with Node doing nothing, alternating which goes
 * first. What a row adds to `node -e 0` is redrepl's start-up (and, for
 * create, its 1 MiB). CPU seconds are given beside wall times: on a shared
 * machine they move far less.
 */
function startupBench(dir: string): void {
  const small = path.join(ROOT, '..', 'shared', 'fixtures', 'v1.12.0', 'layouts', 'primary-basic', 'data.rdb')
  const data = path.join(dir, 'startup-node', 'data.rdb')
  writeDatabase(data, 1)
  const snapshot = path.join(dir, 'startup-snapshot.bin')
  writeSnapshotFile(snapshot, 1)
  const noBackup = () => rmSync(Layout.fromDataPath(data).basebackupDir(1n), {recursive: true, force: true})
  const node: Contender = {command: process.execPath, args: ['-e', '0']}
  const redrepl = (args: string[], before?: () => void): Contender => ({command: process.execPath, args: [BIN, ...args], before})
  const paired: Paired[] = [
    {what: 'redrepl --version', ours: redrepl(['--version']), baseline: node, baselineName: 'node -e 0', bytes: 0, target: '≤ 2×'},
    {what: 'redrepl --help', ours: redrepl(['--help']), baseline: node, baselineName: 'node -e 0', bytes: 0, target: '-'},
    {what: 'redrepl wal plan --json, small layout', ours: redrepl(['wal', 'plan', '--data-path', small, '--segment-bytes', '1MiB', '--json']), baseline: node, baselineName: 'node -e 0', bytes: 0, target: '≤ 3×'},
    {what: 'redrepl basebackup create --snapshot, 1 MiB', ours: redrepl(['basebackup', 'create', '--data-path', data, '--snapshot', snapshot, '--checkpoint-lsn', '1'], noBackup), baseline: node, baselineName: 'node -e 0', bytes: 0, target: '-'},
  ]
  say(`startup: ${paired.length} rows × ${STARTUP_PAIRS} pairs…`)
  const results = runPairs(paired, dir, STARTUP_PAIRS)
  for (const [r, row] of paired.entries()) rows.push(startupRow(row, results[r]))
  rmSync(path.join(dir, 'startup-node'), {recursive: true, force: true})
  rmSync(snapshot, {force: true})
}

/** A start-up row: medians of wall and CPU seconds, and how many times `node -e 0`'s they are, pair by pair (median, min–max). */
function startupRow(row: Paired, result: PairResult): Row {
  const side = (samples: Sample[]) => `${median(samples.map((s) => s.ms)).toFixed(0)} ms` + (TIME === undefined ? '' : `, CPU ${median(samples.map((s) => s.cpu)).toFixed(2)} s`)
  const slower = result.ratios.map((r) => 1 / r)
  const cpu = TIME === undefined ? '' : `; CPU ${(median(result.ours.map((s) => s.cpu)) - median(result.baseline.map((s) => s.cpu))).toFixed(2)} s more`
  return {what: row.what, ours: side(result.ours), baseline: `${row.baselineName}: ${side(result.baseline)}`, ratio: `${spread(slower)} the time${cpu}`, target: row.target}
}

/**
 * repo push and restore of one base backup, to a directory and to the S3
 * server the tests start (s3rver, on 127.0.0.1), each paired with
 * `cp -r SRC DST && sync -f DST` of the backup's files: the same bytes
 * made durable elsewhere.
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
  sampleOnce({command: process.execPath, args: [BIN, 'basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '1']}, dir)
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
  const bytes = REPO_MIB * 1024 * 1024
  const cpR: Contender = {command: 'sh', args: ['-c', 'cp -r "$0" "$1" && sync -f "$1"', layout.basebackupDir(1n), copy], before: noCopy}
  const baselineName = 'cp -r && sync -f'
  const redrepl = (args: string[], before: () => void): Contender => ({command: process.execPath, args, before})

  // A repository to restore from must exist before the first restore.
  sampleOnce(redrepl(push(repo), () => {}), dir)
  const local: Paired[] = [
    {what: `repo push to a directory, ${REPO_MIB} MiB backup`, ours: redrepl(push(repo), noRepo), baseline: cpR, baselineName, bytes, target: '≥ 0.85×, CPU ≤ 2×'},
    {what: `repo restore from a directory, ${REPO_MIB} MiB`, ours: redrepl(restore(repo), noRestore), baseline: cpR, baselineName, bytes, target: '≥ 0.85×, CPU ≤ 2×'},
  ]
  say(`repo: ${local.length} rows × ${PAIRS} pairs…`)
  const localResults = runPairs(local, dir)
  for (const [r, row] of local.entries()) rows.push(pairedRow(row, localResults[r]))
  const gzip: Paired = {what: `repo push --compress gzip to a directory, ${REPO_MIB} MiB (one pair)`, ours: redrepl(push(repo, '--compress', 'gzip'), noRepo), baseline: cpR, baselineName, bytes, target: '-'}
  rows.push(pairedRow(gzip, runPairs([gzip], dir, 1)[0]))
  noRepo()

  const server = new S3Server(path.join(dir, 's3rver'), ['bench'])
  await server.start()
  Object.assign(ENV, server.env())
  // s3rver keeps each object as files under its directory: removing a prefix's files empties it.
  const emptyPrefix = (prefix: string) => () => rmSync(path.join(server.directory, 'bench', prefix), {recursive: true, force: true})
  try {
    sampleOnce(redrepl(push('s3://bench/kept'), () => {}), dir)
    const s3: Paired[] = [
      {what: `repo push to S3 (s3rver on 127.0.0.1), ${REPO_MIB} MiB`, ours: redrepl(push('s3://bench/timed'), emptyPrefix('timed')), baseline: cpR, baselineName, bytes, target: 'peak RSS ≤ 160 MiB'},
      {what: `repo restore from S3 (s3rver on 127.0.0.1), ${REPO_MIB} MiB`, ours: redrepl(restore('s3://bench/kept'), noRestore), baseline: cpR, baselineName, bytes, target: 'peak RSS ≤ 160 MiB'},
    ]
    const s3Pairs = Math.max(1, Math.min(3, PAIRS))
    say(`repo: ${s3.length} S3 rows × ${s3Pairs} pairs…`)
    const s3Results = runPairs(s3, dir, s3Pairs)
    for (const [r, row] of s3.entries()) rows.push(pairedRow(row, s3Results[r]))
  } finally {
    await server.kill()
    noRepo()
    noRestore()
    noCopy()
    rmSync(path.join(dir, 'repo-node'), {recursive: true, force: true})
  }
}

const dir = mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'redrepl-bench-'))
try {
  const only = process.argv.slice(2)
  const benches: Record<string, (dir: string) => void | Promise<void>> = {startup: startupBench, inspect: inspectBench, relay: relayBench, wal: walPlanBench, snapshot: snapshotBench, verify: verifyBench, repo: repoBench, 'repo-incremental': (d) => void rows.push(...incrementalBench(d, {bin: BIN, env: ENV, say, mib: Number(process.env.BENCH_INCREMENTAL_MIB ?? 1024)}))}
  benches.compression = async () => void rows.push(...(await (await import('./compression.js')).compressionBench()))
  for (const [name, bench] of Object.entries(benches)) if (only.length === 0 || only.includes(name)) await bench(dir)
} finally {
  rmSync(dir, {recursive: true, force: true})
}

console.log(`| measurement | redrepl (median) | baseline (median) | ratio: throughput pair by pair, median (min–max); CPU | target |\n|---|---|---|---|---|`)
for (const row of rows) console.log(`| ${row.what} | ${row.ours} | ${row.baseline} | ${row.ratio} | ${row.target} |`)
console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; paired rows: ${PAIRS} pairs (start-up: ${STARTUP_PAIRS}), others: ${RUNS} runs each (median); load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
