import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson} from '../../src/core/codec/json.js'
import {Layout} from '../../src/core/layout.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdLayoutLock} from '../support/lock.js'
import {documentOf, jsonOf, stop} from '../support/node.js'
import {lacks, straceMissing, traceCli} from '../support/syscalls.js'
import {primaryCopy, T1} from '../support/layout-node.js'

/**
 * The write-side safety rules, attacked through the built CLI: the layout
 * lock, temp files, "would overwrite", the rebootstrap marker's pairing
 * with its database, and durable directories.
 */

const scratch = useScratch()

const BACKUP_A = 5242882n
const BACKUP_B = 6000000n

const primary = () => primaryCopy(scratch)

const oneLine = (stderr: string) => stderr.trimEnd().split('\n').length === 1

test('symlinks planted at every temp name a writer could be expected to use: nothing is written through them', async () => {
  const {dir, data, root} = await primary()
  const outside = await scratch.dir()
  const victim = path.join(outside, 'victim')
  writeFileSync(victim, 'keep')
  const relay = path.join(dir, T1, 'relay', 'replica-a')
  const backups = path.join(dir, T1, 'basebackup')
  // The names RedDB gives its temps (format §1), which redrepl used too.
  const planted = [
    path.join(relay, 'relay.tmp'),
    path.join(relay, 'relay-00000000000000000041-00000000000000000041.tmp'),
    path.join(backups, 'base-00000000000000000000-00000000000000000777.tmp'),
    path.join(dir, 'data.rebootstrap.pending.tmp'),
    path.join(dir, 'data.rebootstrap.tmp'),
    path.join(dir, 'out.tmp'),
    path.join(root, 'timeline-history.tmp'),
  ]
  for (const [i, link] of planted.entries()) symlinkSync(i % 2 === 0 ? victim : path.join(outside, `dangling-${i}`), link)

  const runs: Array<[string[], string?]> = [
    [['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '0'], '{"lsn":41,"payload_hex":"29"}\n'],
    [['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '777']],
    [['basebackup', 'materialize', '--data-path', data, '--rebootstrap']],
    [['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'out.rdb')]],
    [['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '41', '--max-lag-lsn', '9999999']],
  ]
  for (const [args, input] of runs) {
    const result = await runCli(args, {input})
    assert.equal(result.exitCode, 0, result.stderr)
  }
  assert.equal(readFileSync(victim, 'utf8'), 'keep')
  assert.deepEqual(readdirSync(outside), ['victim'], 'no dangling link was followed to create a file')
  for (const link of planted) assert.ok(lstatSync(link).isSymbolicLink(), `${link} is left as it was`)
})

test('materialize --to never touches a neighbour named like the target, and refuses an existing target', async () => {
  const {dir, data} = await primary()
  const neighbour = path.join(dir, 'other.tmp')
  writeFileSync(neighbour, 'user data')
  const target = path.join(dir, 'other.rdb')
  const made = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', target])
  assert.equal(made.exitCode, 0, made.stderr)
  assert.equal(readFileSync(neighbour, 'utf8'), 'user data')
  const again = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', target])
  assert.equal(again.exitCode, 4)
  assert.equal(again.stderr, `redrepl: ${target}: exists; pass --force to replace it\n`)

  const chunk = path.join(dir, T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase.parts', '00000000000000000001.redchunk')
  const bytes = readFileSync(chunk)
  bytes[10] ^= 1
  writeFileSync(chunk, bytes)
  const failed = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', path.join(dir, 'second.rdb')])
  assert.equal(failed.exitCode, 3)
  assert.equal(readFileSync(neighbour, 'utf8'), 'user data')
  assert.deepEqual(readdirSync(dir).sort(), ['data.primary-replica', 'data.rdb', 'other.rdb', 'other.tmp'], 'a failed run leaves no file behind')
})

test('what is at the lock path decides nothing by its content, and a FIFO, link or directory ends at once with exit 4', async () => {
  const outside = await scratch.dir()
  writeFileSync(path.join(outside, 'file'), 'keep')
  const plants: Array<[string, (lock: string) => void, string]> = [
    ['fifo', (lock) => execFileSync('mkfifo', [lock]), 'a FIFO'],
    ['dangling link', (lock) => symlinkSync(path.join(outside, 'nowhere'), lock), 'a symbolic link'],
    ['link to a file', (lock) => symlinkSync(path.join(outside, 'file'), lock), 'a symbolic link'],
    ['directory', (lock) => mkdirSync(lock), 'a directory'],
  ]
  for (const [name, plant, kind] of plants) {
    const {data, lock} = await primary()
    plant(lock)
    const from = Date.now()
    const result = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--wait', '60'])
    assert.equal(result.exitCode, 4, `${name}: ${result.stderr}`)
    assert.ok(Date.now() - from < 20_000, `${name}: it waited`)
    assert.ok(result.stderr.startsWith(`redrepl: ${lock}: is ${kind}, not the regular file redrepl locks; remove it`), `${name}: ${result.stderr}`)
    assert.ok(oneLine(result.stderr))
  }
  assert.equal(readFileSync(path.join(outside, 'file'), 'utf8'), 'keep')

  for (const garbage of ['null', '42', '[]', '{"pid":1}', '{"pid":1,"hostname":"another-host","command":"x","acquired_at":"then"}']) {
    const {data, lock} = await primary()
    writeFileSync(lock, garbage)
    const free = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB'])
    assert.equal(free.exitCode, 0, `${garbage}: ${free.stderr}`)
    const holder = await holdLayoutLock(lock)
    try {
      writeFileSync(lock, garbage)
      const blocked = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--wait', '1'])
      assert.equal(blocked.exitCode, 5, `${garbage}: ${blocked.stderr}`)
      assert.match(blocked.stderr, new RegExp(`^redrepl: ${lock}: held by `))
      assert.doesNotMatch(blocked.stderr, /undefined|unexpected/)
      assert.ok(oneLine(blocked.stderr))
    } finally {
      await stop(holder)
    }
  }
})

test('a writer killed while holding the lock frees it at once: the next run needs no wait', async () => {
  const {data} = await primary()
  const args = ['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '0']
  const input = '{"lsn":41,"payload_hex":"29"}\n'
  const killed = await runCli(args, {input, env: {REDREPL_CRASH_AT: 'relay-manifest:after-temp-write'}})
  assert.equal(killed.exitCode, -1)
  const next = await runCli([...args, '--json'], {input})
  assert.equal(next.exitCode, 0, next.stderr)
  assert.equal((documentOf(next.stdout) as any).new_segment.relative_path, 'relay-00000000000000000041-00000000000000000041.redwal')
})

/** A second base backup (checkpoint B) of another snapshot, and each backup materialized on its own for comparison. */
async function twoBackups() {
  const node = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(20_000, 7)])
  const created = await runCli(['basebackup', 'create', '--data-path', node.data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(BACKUP_B), '--chunk-size', '4096'], {input: snapshot})
  assert.equal(created.exitCode, 0, created.stderr)
  const reference = new Map<bigint, Buffer>()
  for (const checkpoint of [BACKUP_A, BACKUP_B]) {
    const file = path.join(await scratch.dir(), 'ref.rdb')
    assert.equal((await runCli(['basebackup', 'materialize', '--data-path', node.data, '--checkpoint-lsn', String(checkpoint), '--to', file])).exitCode, 0)
    reference.set(checkpoint, readFileSync(file))
  }
  return {...node, reference}
}

test('rebootstrap: a ready marker only ever stands beside the database it names, at every crash point of a second staging', async () => {
  const template = await twoBackups()
  const stage = (data: string, checkpoint: bigint, env: Record<string, string> = {}) =>
    runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--checkpoint-lsn', String(checkpoint)], {env})
  const points = [
    'basebackup-chunks:after-chunk',
    'basebackup-materialize:after-temp-write',
    'basebackup-materialize:after-temp-fsync',
    'rebootstrap-marker:after-remove',
    'basebackup-materialize:after-rename',
    'rebootstrap-marker:after-temp-write',
    'rebootstrap-marker:after-temp-fsync',
    'rebootstrap-marker:after-rename',
  ]
  for (const point of points) {
    const dir = await scratch.dir()
    execFileSync('cp', ['-a', `${template.dir}/.`, dir])
    const data = path.join(dir, 'data.rdb')
    const pending = path.join(dir, 'data.rebootstrap.pending.rdb')
    const marker = path.join(dir, 'data.rebootstrap.ready')
    assert.equal((await stage(data, BACKUP_A)).exitCode, 0)
    const crashed = await stage(data, BACKUP_B, {REDREPL_CRASH_AT: point})
    assert.equal(crashed.exitCode, -1, `${point}: not killed there (${crashed.stderr})`)
    if (existsSync(marker)) {
      const named = (parseJson(readFileSync(marker, 'utf8')) as any).checkpoint_lsn as bigint
      assert.ok(existsSync(pending), `${point}: a marker without its database`)
      assert.deepEqual(readFileSync(pending), template.reference.get(named), `${point}: the marker names checkpoint ${named} but the pending database holds another backup`)
    }
    const verify = await runCli(['layout', 'verify', '--data-path', data, '--json'])
    assert.equal(verify.exitCode, 0, `${point}: ${verify.stdout}`)
    assert.equal((await stage(data, BACKUP_B)).exitCode, 0)
    assert.equal((parseJson(readFileSync(marker, 'utf8')) as any).checkpoint_lsn, BACKUP_B)
    assert.deepEqual(readFileSync(pending), template.reference.get(BACKUP_B), `${point}: the re-run did not finish the staging`)
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [], `${point}: the re-run left a temp file`)
  }
})

test('a ready marker that cannot be removed stops the staging before the pending database is touched, and says so', async () => {
  const {dir, data} = await primary()
  const first = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap'])
  assert.equal(first.exitCode, 0, first.stderr)
  const pending = path.join(dir, 'data.rebootstrap.pending.rdb')
  const before = readFileSync(pending)
  const marker = path.join(dir, 'data.rebootstrap.ready')
  rmSync(marker)
  mkdirSync(path.join(marker, 'in-the-way'), {recursive: true})
  const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap'])
  // A directory where a file belongs is exit 3 wherever it is met (README, "Exit codes").
  assert.equal(result.exitCode, 3)
  assert.equal(result.stderr, `redrepl: ${marker}: cannot remove the old ready marker: is a directory; the pending database was left as it was\n`)
  assert.deepEqual(readFileSync(pending), before)
  assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.tmp')), [])
})

/**
 * Runs the CLI under strace and returns the directories it created under
 * `within`, and those whose parent was not fsynced after the mkdir and
 * before anything was created inside the new directory.
 */
function durableMkdirs(within: string, args: string[], input = ''): {created: string[]; notDurable: string[]; exitCode: number | null} {
  const trace = path.join(realpathSync(path.dirname(args[args.indexOf('--data-path') + 1])), '..', `trace-${process.pid}-${Date.now()}`)
  const run = traceCli(args, {calls: ['mkdir', 'mkdirat', 'fsync', 'openat'], traceFile: trace, paths: true, input, env: {NO_COLOR: '1', REDREPL_NOW_MS: '1700000000000'}})
  const lines = run.lines
  const created: Array<{dir: string; at: number}> = []
  lines.forEach((line, at) => {
    const made = /mkdir(?:at)?\((?:AT_FDCWD(?:<[^>]*>)?, )?"([^"]+)", [0-7]+\) = 0/.exec(line)
    if (made && made[1].startsWith(`${within}/`)) created.push({dir: made[1], at})
  })
  const notDurable = created
    .filter(({dir, at}) => {
      const parent = path.dirname(dir)
      const inside = lines.findIndex((line, i) => i > at && line.includes(`"${dir}/`) && line.includes('O_CREAT'))
      const synced = lines.findIndex((line, i) => i > at && line.includes(`fsync(`) && line.includes(`<${parent}>`))
      return synced === -1 || (inside !== -1 && inside < synced)
    })
    .map(({dir}) => dir)
  return {created: created.map(({dir}) => dir), notDurable, exitCode: run.status}
}

test('every directory a writer creates is made durable (its parent fsynced) before anything inside it is written', async (t) => {
  if (lacks(t, straceMissing())) return
  const fresh = path.join(realpathSync(await scratch.dir()), 'node', 'data.rdb')
  mkdirSync(path.dirname(fresh))
  const relay = durableMkdirs(path.dirname(fresh), ['relay', 'append', '--data-path', fresh, '--replica', 'new-replica', '--create', '--applied-lsn', '0'], '{"lsn":1,"payload_hex":"01"}\n')
  assert.equal(relay.exitCode, 0)
  const made = Layout.fromDataPath(fresh)
  assert.deepEqual(relay.created, [made.root, made.timelineDir(1n), made.relayRoot(1n), made.relayDir(1n, 'new-replica')])
  assert.deepEqual(relay.notDurable, [])

  const {data} = await primary()
  const real = realpathSync(data)
  rmSync(path.join(path.dirname(real), T1, 'basebackup'), {recursive: true})
  const backup = durableMkdirs(path.dirname(real), ['basebackup', 'create', '--data-path', real, '--from', real, '--checkpoint-lsn', '9'])
  assert.equal(backup.exitCode, 0)
  assert.ok(backup.created.includes(path.join(path.dirname(real), T1, 'basebackup')), backup.created.join(', '))
  assert.deepEqual(backup.notDurable, [])
  assert.ok(jsonOf(await runCli(['layout', 'verify', '--data-path', real, '--json'])).ok)
})
