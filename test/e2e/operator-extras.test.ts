import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {repoRoot} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'
import {documentOf, jsonOf} from '../support/node.js'
import {layoutIn, primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()

const primary = () => primaryCopy(scratch)

test('layout verify: exit 0 and quiet on a sound layout, exit 3 with a JSON report on damage', async () => {
  const {dir, data} = await primary()
  closePrimaryBasicHole(dir)
  const quiet = await runCli(['layout', 'verify', '--data-path', data, '--quiet'])
  assert.deepEqual([quiet.exitCode, quiet.stdout], [0, ''])
  writeFileSync(layoutIn(dir).slotCatalogPath(1n), 'garbage')
  const damaged = await runCli(['layout', 'verify', '--data-path', data, '--json'])
  assert.equal(damaged.exitCode, 3)
  const report = documentOf(damaged.stdout) as any
  assert.equal(report.ok, false)
  assert.equal(report.findings[0].code, 'artifact.corrupt')
  assert.equal(report.findings[0].data.kind, 'slot-catalog')
  assert.match(report.findings[0].path, /replication-slots\.redslots$/)
})

test('timeline show, basebackup list/verify, relay show and wal dump read the sample layout', async () => {
  const {data} = await primary()
  const timeline = jsonOf(await runCli(['timeline', 'show', '--data-path', data, '--json']))
  assert.equal(timeline.timeline, 1n)
  const list = jsonOf(await runCli(['basebackup', 'list', '--data-path', data, '--json']))
  assert.deepEqual((list.basebackups as any[]).map((b) => [b.checkpoint_lsn, b.chunks, b.usable_for_catchup]), [[5242882n, 3n, true]])
  const verified = jsonOf(await runCli(['basebackup', 'verify', '--data-path', data, '--json']))
  assert.equal(verified.chunks_checked, 3n)
  const relay = jsonOf(await runCli(['relay', 'show', '--data-path', data, '--replica', 'replica-a', '--json']))
  assert.deepEqual([relay.consistent, (relay.manifest as any).applied_lsn], [true, 40n])
  const dump = jsonOf(await runCli(['wal', 'dump', '--data-path', data, '--from-lsn', '1', '--to-lsn', '3', '--payload', 'text', '--json']))
  assert.deepEqual((dump.records as any[]).map((r) => [r.lsn, r.payload]), [[1n, 'op-1'], [2n, 'op-2'], [3n, 'op-3']])
  const missing = await runCli(['relay', 'show', '--data-path', data, '--replica', 'nobody'])
  assert.equal(missing.exitCode, 6)
})

test('every command has a man page listed in package.json, and usage errors are one line with exit 2', async () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  const pages = readdirSync(path.join(repoRoot, 'man')).filter((name) => name.endsWith('.1')).map((name) => `./man/${name}`).sort()
  assert.deepEqual([...pkg.man].sort(), pages)
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8'))
  for (const id of Object.keys(manifest.commands)) assert.ok(pages.includes(`./man/redrepl-${id.replaceAll(':', '-')}.1`), id)
  for (const args of [['no-such-command'], ['wal', 'plan', '--bogus'], ['relay', 'show']]) {
    const result = await runCli(args)
    assert.equal(result.exitCode, 2, args.join(' '))
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr)
    assert.match(result.stderr, /^redrepl: /)
  }
})

test('the demo builds three nodes and runs the failover runbook: every step exits as narrated, the refusals refuse', async () => {
  const dir = await scratch.dir()
  const result = await runCli(['demo', dir, '--json'], {timeoutMs: 120_000})
  assert.equal(result.exitCode, 0, result.stderr + result.stdout)
  const steps = jsonOf(result).steps as Array<{command: string; exit_code: number; output: string}>
  const shown = steps.map((step) => [step.command.split(' --')[0], Number(step.exit_code)])
  assert.deepEqual(shown, [
    ['redrepl cluster status', 0],
    ['redrepl wal plan', 0],
    ['redrepl wal prune', 0],
    ['redrepl basebackup create', 0],
    ['redrepl repo push', 0],
    ['redrepl cluster status', 1],
    ['redrepl cluster candidates', 0],
    ['redrepl failover plan', 4],
    ['redrepl failover plan', 0],
    ['redrepl failover apply', 4],
    ['redrepl failover apply', 0],
    ['redrepl cluster status', 1],
    ['redrepl basebackup create', 0],
    ['redrepl repo push', 0],
    ['redrepl repo restore', 4],
    ['redrepl basebackup materialize', 0],
    ['redrepl layout verify', 0],
    ['redrepl layout verify', 0],
  ])
  const node = (name: string) => path.join(dir, name, 'data.rdb')
  // All green before the primary dies; then p is unreachable and the candidates come from the replicas alone.
  assert.match(steps[0].output, /^REDREPL OK - cluster main: 3 node\(s\)/)
  assert.match(steps[2].output, /removed 4 segment\(s\)/)
  assert.match(steps[4].output, /pushed 1 base backup\(s\)/)
  assert.match(steps[5].output, /^WARNING p: unreachable/m)
  assert.match(steps[6].output, /no primary reached: the replicas' own relay logs only/)
  assert.match(steps[6].output, /--auto picks ra/)
  // The lagging candidate is refused and no plan is written for it.
  assert.match(steps[7].output, /ra acknowledged applying up to LSN 5242918, past the fork at 4194334 of rc: promoting rc throws away 1048584 acknowledged LSNs/)
  assert.equal(existsSync(path.join(dir, 'rc.plan')), false)
  // Apply without --old-primary-down refuses and does nothing; with it, ra is promoted exactly once.
  assert.match(steps[9].output, /p: the old primary cannot be reached .*nothing was done/)
  assert.match(steps[10].output, /\[done\] promote ra: promoted ra on ra: timeline 1 → 2 at LSN 5242918/)
  assert.match(steps[10].output, /\[done\] rejoin rc \(follow_new_timeline\)/)
  const history = async (data: string) => (jsonOf(await runCli(['timeline', 'show', '--data-path', data, '--json'])).entries as any[]).map((entry) => [entry.timeline, entry.fork_lsn])
  assert.deepEqual(await history(node('ra')), [[1n, 0n], [2n, 5_242_918n]])
  // Nothing ran on the dead primary after it died: its history never learned of the fork.
  assert.deepEqual(await history(node('p')), [[1n, 0n]])
  assert.match(steps[11].output, /newest timeline 2/)
  // The old primary's pre-fork backup is refused from the repository, which recorded the new primary's timeline 2.
  assert.match(steps[14].output, /base-0+-0+5242920\.redbase: not usable on the replica set's current timeline 2: its checkpoint 5242920 lies past LSN 5242918/)
  // The rebuilt p is staged from the new primary's timeline-2 backup, not from the old primary's.
  assert.match(steps[15].command, /ra\/data\.primary-replica\/timeline-0+2\/basebackup\/base-0+-0+5242918\.redbase/)
  const marker = JSON.parse(readFileSync(path.join(dir, 'p-new', 'data.rebootstrap.ready'), 'utf8'))
  assert.deepEqual(marker, {checkpoint_lsn: 5_242_918, pending_path: path.join(dir, 'p-new', 'data.rebootstrap.pending.rdb'), timeline: 2})
})

test('the demo narrates each step with its command line, whatever node the shell names', async () => {
  const dir = await scratch.dir()
  // A node name the demo's config does not have: a step that took it would be refused.
  const result = await runCli(['demo', dir], {timeoutMs: 120_000, env: {REDREPL_NODE: 'db9', REDDB_DATA_PATH: path.join(dir, 'absent', 'data.rdb')}})
  assert.equal(result.exitCode, 0, result.stderr + result.stdout)
  for (const command of ['cluster status', 'wal plan', 'wal prune', 'basebackup create', 'repo push', 'cluster candidates', 'failover plan', 'failover apply', 'repo restore', 'basebackup materialize', 'layout verify']) {
    assert.ok(result.stdout.includes(`$ redrepl ${command} `), command)
  }
  assert.match(result.stdout, /The primary's host dies\./)
  assert.match(result.stdout, /Runbook complete/)
})

test('a data path without a layout is refused (exit 6), not read as an empty node', async () => {
  const dir = await scratch.dir()
  const typo = path.join(dir, 'dta.rdb')
  for (const args of [['slots', 'show'], ['wal', 'plan'], ['wal', 'prune'], ['timeline', 'show'], ['layout', 'verify'], ['basebackup', 'create', '--snapshot', '-', '--snapshot-bytes', '4']]) {
    const result = await runCli([...args, '--data-path', typo], {input: 'RDST'})
    assert.equal(result.exitCode, 6, `${args.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, /no RedDB layout at .*dta\.primary-replica/)
  }
  assert.ok(!existsSync(path.join(dir, 'dta.primary-replica')))
})

test('a layout root that cannot be looked at (a loop of links) is said as it is, not read as a typo', async () => {
  const dir = await scratch.dir()
  // Tests run as root, whom no mode keeps out: a link to itself stands for any root that is there but cannot be reached.
  const root = path.join(dir, 'data.primary-replica')
  symlinkSync(root, root)
  for (const args of [['timeline', 'show'], ['wal', 'prune'], ['layout', 'verify']]) {
    const result = await runCli([...args, '--data-path', path.join(dir, 'data.rdb')])
    assert.equal(result.exitCode, 3, `${args.join(' ')}: ${result.stderr}`)
    assert.equal(result.stderr, `redrepl: ${root}: cannot stat: is a symbolic link (or a loop of them)\n`)
  }
  // The metrics file's directory: a loop of links there is not "no such directory".
  const node = path.join(dir, 'real.rdb')
  mkdirSync(path.join(dir, 'real.primary-replica'))
  const loop = path.join(dir, 'collector')
  symlinkSync(loop, loop)
  const metrics = await runCli(['metrics', '--data-path', node, '--textfile', path.join(loop, 'redrepl.prom')])
  assert.equal(metrics.stderr, `redrepl: ${loop}: cannot stat: is a symbolic link (or a loop of them)\n`)
  assert.equal(metrics.exitCode, 3)
})

test('inspect of a database over 256 MiB: header shown, snapshot checked by streaming, --json refused', async () => {
  const {crc32} = await import('../../src/core/codec/crc.js')
  const {createDatabaseHead} = await import('../../src/core/format/embedded-rdb.js')
  const {openSync, writeSync, ftruncateSync, closeSync} = await import('node:fs')
  const size = 300 * 1024 * 1024
  const zeros = Buffer.alloc(16 * 1024 * 1024)
  let crc = crc32(Buffer.from('RDST'))
  for (let left = size - 4; left > 0; left -= zeros.length) crc = crc32(zeros.subarray(0, Math.min(left, zeros.length)), crc)
  const file = path.join(await scratch.dir(), 'big.rdb')
  const fd = openSync(file, 'w')
  const head = createDatabaseHead(1, BigInt(size), crc, 1700000000000n)
  writeSync(fd, head)
  writeSync(fd, Buffer.from('RDST'))
  ftruncateSync(fd, head.length + size)
  closeSync(fd)
  const shown = await runCli(['inspect', file])
  assert.equal(shown.exitCode, 0, shown.stderr)
  assert.match(shown.stdout, /314572800 bytes, CRC checked/)
  const json = await runCli(['inspect', '--json', file])
  assert.equal(json.exitCode, 4)
  assert.match(json.stderr, /too large to print as the JSON model/)
})
