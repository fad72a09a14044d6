import {spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync} from 'node:fs'
import path from 'node:path'

import {Layout} from '../src/core/layout.js'

/**
 * The `repo-incremental` group: what a push of a base backup stores when the
 * repository already holds an earlier one (docs/repository.md "Pieces").
 * A snapshot of random bytes (nothing in it repeats, so every saving is a
 * shared piece) is pushed; then 1 % of it is overwritten in 64 KiB runs
 * scattered through it, and pushed as a second backup; then 1 KiB is
 * inserted in its middle (everything after shifts), pushed as a third. Each
 * figure is the bytes the repository grew by, as a share of the snapshot.
 * The first push is compared with a push by an older redrepl that stores
 * chunks whole (`BENCH_BASELINE_BIN`: its bin/run.js), in time and bytes;
 * without one, with `cp -r && sync` of the backup's directory.
 */

export interface IncrementalRow {
  what: string
  ours: string
  baseline: string
  ratio: string
  target: string
}

export interface IncrementalContext {
  bin: string
  env: NodeJS.ProcessEnv
  say: (line: string) => void
  mib: number
}

const KiB = 1024
const MiB = 1024 * 1024

function run(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  spawnSync('sync')
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 24})
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`)
  return elapsed
}

/** Every byte stored under a directory. */
function storedBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, {recursive: true, withFileTypes: true})) if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size
  return total
}

/** Random bytes to `file`, 16 MiB at a time, starting with RedDB's snapshot magic. */
function writeRandom(file: string, bytes: number): void {
  const fd = openSync(file, 'w')
  try {
    const block = Buffer.alloc(16 * MiB)
    for (let at = 0; at < bytes; at += block.length) {
      const random = spawnSync('head', ['-c', String(Math.min(block.length, bytes - at)), '/dev/urandom'], {maxBuffer: 32 * MiB}).stdout
      if (at === 0) random.write('RDST', 0)
      writeSync(fd, random)
    }
  } finally {
    closeSync(fd)
  }
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)} %`
const mibOf = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

export function incrementalBench(dir: string, context: IncrementalContext): IncrementalRow[] {
  const {bin, env, say, mib} = context
  const bytes = mib * MiB
  const rows: IncrementalRow[] = []
  say(`repo-incremental: a ${mib} MiB snapshot of random bytes…`)
  const data = path.join(dir, 'incremental-node', 'data.rdb')
  mkdirSync(Layout.fromDataPath(data).root, {recursive: true})
  const snapshot = path.join(dir, 'incremental-snapshot')
  writeRandom(snapshot, bytes)
  const create = (checkpoint: number, file: string) => run(process.execPath, [bin, 'basebackup', 'create', '--data-path', data, '--snapshot', file, '--checkpoint-lsn', String(checkpoint)], env)
  create(1, snapshot)
  const repo = path.join(dir, 'incremental-repo')
  const push = (command: string, binary: string) => run(command, [binary, 'repo', 'push', '--data-path', data, '--repo', repo, '--node', 'bench'], env)
  try {
    // The first push, against a whole-object push of the same backup.
    const baselineBin = process.env.BENCH_BASELINE_BIN
    let baselineMs: number
    let baselineBytes: number
    let baselineName: string
    if (baselineBin) {
      rmSync(repo, {recursive: true, force: true})
      baselineMs = push(process.execPath, baselineBin)
      baselineBytes = storedBytes(repo)
      baselineName = 'whole-object push (older redrepl)'
    } else {
      const copy = path.join(dir, 'incremental-copy')
      rmSync(copy, {recursive: true, force: true})
      baselineMs = run('sh', ['-c', 'cp -r "$0" "$1" && sync', Layout.fromDataPath(data).basebackupDir(1n), copy], env)
      baselineBytes = storedBytes(copy)
      rmSync(copy, {recursive: true, force: true})
      baselineName = 'cp -r && sync'
    }
    rmSync(repo, {recursive: true, force: true})
    const firstMs = push(process.execPath, bin)
    const firstBytes = storedBytes(repo)
    rows.push({what: `repo-incremental: first push to a directory, ${mib} MiB random snapshot (time)`, ours: `${firstMs.toFixed(0)} ms`, baseline: `${baselineName} ${baselineMs.toFixed(0)} ms`, ratio: `${(firstMs / baselineMs).toFixed(2)}×`, target: '≤ 1.1×'})
    rows.push({what: `repo-incremental: first push, bytes stored`, ours: mibOf(firstBytes), baseline: `${baselineName} ${mibOf(baselineBytes)}`, ratio: `${(firstBytes / baselineBytes).toFixed(4)}×`, target: '≤ 1.1×'})

    // 1 % overwritten in 64 KiB runs at scattered offsets (a fixed stride, so every run is the same).
    const runs = Math.round((bytes * 0.01) / (64 * KiB))
    const fd = openSync(snapshot, 'r+')
    try {
      for (let i = 0; i < runs; i++) {
        const at = Math.floor(((i + 0.5) * bytes) / runs) - 32 * KiB
        writeSync(fd, spawnSync('head', ['-c', String(64 * KiB), '/dev/urandom']).stdout, 0, 64 * KiB, at)
      }
    } finally {
      closeSync(fd)
    }
    create(2, snapshot)
    let before = storedBytes(repo)
    const secondMs = push(process.execPath, bin)
    const overwritten = storedBytes(repo) - before
    rows.push({what: `repo-incremental: second push after 1 % overwritten in ${runs} runs of 64 KiB`, ours: `${mibOf(overwritten)} stored, ${secondMs.toFixed(0)} ms`, baseline: `${mib} MiB snapshot`, ratio: pct(overwritten, bytes), target: '≤ 3 %'})

    // 1 KiB inserted in the middle: every byte after it moves.
    const inserted = path.join(dir, 'incremental-inserted')
    const half = Math.floor(bytes / 2)
    run('sh', ['-c', `{ head -c ${half} "$0"; head -c 1024 /dev/urandom; tail -c +${half + 1} "$0"; } > "$1"`, snapshot, inserted], env)
    create(3, inserted)
    rmSync(inserted, {force: true})
    before = storedBytes(repo)
    const thirdMs = push(process.execPath, bin)
    const shifted = storedBytes(repo) - before
    rows.push({what: `repo-incremental: third push after 1 KiB inserted in the middle`, ours: `${mibOf(shifted)} stored, ${thirdMs.toFixed(0)} ms`, baseline: `${mib} MiB snapshot`, ratio: pct(shifted, bytes), target: '≤ 5 %'})
  } finally {
    rmSync(repo, {recursive: true, force: true})
    rmSync(snapshot, {force: true})
    rmSync(path.join(dir, 'incremental-node'), {recursive: true, force: true})
  }
  return rows
}
