import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {encodePack} from '../../src/core/format/pack.js'
import {pidSpaceTag} from '../../src/core/fs/processes.js'
import {runCli, useScratch, type CliResult} from '../support/cli.js'
import {fixturePath, NOW_MS} from '../support/fixtures.js'
import {documentOf, jsonOf} from '../support/node.js'
import {treeOf} from '../support/tree.js'
import {MiB, writeWalNode} from '../support/wal-node.js'
import {primaryCopy, timelineName} from '../support/layout-node.js'

/**
 * Links planted in every directory redrepl walks, deletes in or writes to:
 * each run must end at once with one line naming the link and exit 4, and
 * leave every file outside the tree it was pointed at byte for byte.
 */

const scratch = useScratch()

const T1 = timelineName(1)
const BACKUP = 'base-00000000000000000000-00000000000005242882.redbase'
/** The pack the fixture's one piece is stored in, by the SHA-256 of the pack's bytes. */
const SNAPSHOT_SHA256 = encodePack([Buffer.concat([0, 1, 2].map((k) => readFileSync(fixturePath('layouts', 'primary-basic', 'data.primary-replica', T1, 'basebackup', `${BACKUP}.parts`, `${String(k).padStart(20, '0')}.redchunk`))))]).sha256

const primary = () => primaryCopy(scratch)

/** One pushed repository, copied for each case. */
let template: string | undefined
async function pushedRepo(): Promise<string> {
  if (template === undefined) {
    const {data} = await primary()
    template = path.join(await scratch.dir('redrepl-links-template-'), 'repo')
    const pushed = await runCli(['repo', 'push', '--data-path', data, '--repo', template, '--node', 'db1', '--json'])
    assert.equal(pushed.exitCode, 0, pushed.stderr)
  }
  const copy = path.join(await scratch.dir('redrepl-links-repo-'), 'repo')
  cpSync(template, copy, {recursive: true})
  return copy
}

/** Every file under each directory, by content: what "untouched" means. */
function snapshot(...dirs: string[]): Array<Record<string, string>> {
  return dirs.map((dir) => treeOf(dir))
}

function refusedOnce(result: CliResult, what: RegExp, label: string): void {
  assert.equal(result.exitCode, 4, `${label}: ${result.stderr}`)
  assert.match(result.stderr, what, label)
  assert.equal(result.stderr.trim().split('\n').length, 1, `${label}: one line: ${result.stderr}`)
}

/** Moves `<repo>/<relative>` out to `outside` and leaves a link to it in its place, with a file of the operator's beside what moved. */
function linkOut(repo: string, relative: string, outside: string): string {
  const inRepo = path.join(repo, relative)
  const moved = path.join(outside, path.basename(relative))
  renameSync(inRepo, moved)
  symlinkSync(moved, inRepo)
  writeFileSync(path.join(outside, '00000000000000000003.redwal'), 'precious')
  if (statSync(moved).isDirectory()) writeFileSync(path.join(moved, '00000000000000000003.redwal.tmp'), 'precious too')
  return moved
}

const PLANTED: Array<[string, string]> = [
  ['the node dir', 'db1'],
  ['a timeline dir', `db1/${T1}`],
  ['the wal dir', `db1/${T1}/wal`],
  ['the basebackup dir', `db1/${T1}/basebackup`],
  ['the packs dir', 'db1/packs'],
  ['a packs fan-out dir', `db1/packs/${SNAPSHOT_SHA256.slice(0, 2)}`],
  ['a pack object', `db1/packs/${SNAPSHOT_SHA256.slice(0, 2)}/${SNAPSHOT_SHA256}.redpack`],
  ['a piece index', `db1/${T1}/basebackup/${BACKUP}.pieces`],
]

for (const [where, relative] of PLANTED) {
  test(`directory repository: a link at ${where} is refused by push, list, verify and expire --confirm; nothing outside is touched`, async () => {
    const repo = await pushedRepo()
    const outside = await scratch.dir('redrepl-links-outside-')
    const node = await primary()
    linkOut(repo, relative, outside)
    const before = snapshot(outside, node.dir)
    const runs: Array<[string, string[]]> = [
      ['push', ['repo', 'push', '--data-path', node.data]],
      ['list', ['repo', 'list']],
      ['verify', ['repo', 'verify']],
      ['expire', ['repo', 'expire', '--keep-last', '1', '--confirm']],
    ]
    for (const [label, args] of runs) {
      const started = Date.now()
      const result = await runCli([...args, '--repo', repo, '--node', 'db1'])
      refusedOnce(result, new RegExp(`${path.basename(relative).replaceAll('.', '\\.')}: is a symbolic link; links are not followed inside the repository`), `${where}: ${label}`)
      assert.ok(Date.now() - started < 20_000, `${where}: ${label} ends at once`)
    }
    assert.deepEqual(snapshot(outside, node.dir), before, `${where}: nothing outside the repository changed`)
  })
}

test('directory repository: push never writes into another node\'s WAL through a linked wal dir', async () => {
  const repo = await pushedRepo()
  const node = await primary()
  cpSync(path.join(repo, 'db1'), path.join(repo, 'db2'), {recursive: true})
  const otherWal = path.join(repo, 'db2', T1, 'wal')
  writeFileSync(path.join(otherWal, '00000000000000000003.redwal'), 'precious')
  const wal = path.join(repo, 'db1', T1, 'wal')
  cpSync(wal, path.join(repo, 'db1-wal-was'), {recursive: true})
  spawnSync('rm', ['-r', wal])
  symlinkSync(otherWal, wal)
  const before = snapshot(path.join(repo, 'db2'))
  refusedOnce(await runCli(['repo', 'push', '--data-path', node.data, '--repo', repo, '--node', 'db1']), /wal: is a symbolic link/, 'push')
  assert.deepEqual(snapshot(path.join(repo, 'db2')), before)
})

test('a repository at a layout\'s parent with --node <layout root> is refused; the layout is untouched', async () => {
  const node = await primary()
  const before = snapshot(node.dir)
  for (const args of [['repo', 'list'], ['repo', 'expire', '--keep-last', '1', '--confirm'], ['repo', 'push', '--data-path', node.data]]) {
    const result = await runCli([...args, '--repo', node.dir, '--node', 'data.primary-replica'])
    refusedOnce(result, /holds the RedDB layout .*data\.primary-replica; a repository must be kept apart/, args.join(' '))
  }
  assert.deepEqual(snapshot(node.dir), before)
})

test('a node namespace named like a layout root is refused in any directory repository, before anything is written', async () => {
  const node = await primary()
  const repo = path.join(await scratch.dir('redrepl-links-fresh-'), 'repo')
  refusedOnce(await runCli(['repo', 'push', '--data-path', node.data, '--repo', repo, '--node', 'data.primary-replica']), /data\.primary-replica: a node namespace named like a RedDB layout root/, 'push')
  assert.ok(!existsSync(path.join(repo, 'data.primary-replica')))
})

test('a repository root that is a link into a layout, or a directory inside one, is refused', async () => {
  const node = await primary()
  const before = snapshot(node.dir)
  const elsewhere = await scratch.dir('redrepl-links-root-')
  const linked = path.join(elsewhere, 'repo')
  symlinkSync(node.root, linked)
  refusedOnce(await runCli(['repo', 'expire', '--keep-last', '1', '--confirm', '--repo', linked, '--node', T1]), /lies inside the RedDB layout/, 'root linked to the layout root')
  const deeper = path.join(elsewhere, 'deeper')
  symlinkSync(path.join(node.root, T1), deeper)
  refusedOnce(await runCli(['repo', 'expire', '--keep-last', '1', '--confirm', '--repo', deeper, '--node', 'wal']), /lies inside the RedDB layout/, 'root linked into a timeline dir')
  refusedOnce(await runCli(['repo', 'push', '--data-path', node.data, '--repo', `file://${path.join(node.root, 'backups')}`, '--node', 'db1']), /lies inside the RedDB layout/, 'a new repository inside the layout')
  assert.ok(!existsSync(path.join(node.root, 'backups')), 'no repository directory was made inside the layout')
  assert.deepEqual(snapshot(node.dir), before)
})

test('a repository root that is itself a link is resolved once and used', async () => {
  const repo = await pushedRepo()
  const linked = path.join(await scratch.dir('redrepl-links-alias-'), 'alias')
  symlinkSync(repo, linked)
  const listed = jsonOf(await runCli(['repo', 'list', '--repo', linked, '--node', 'db1', '--json']))
  assert.equal((listed.backups as unknown[]).length, 1)
})

/** A pid that was just running here and is not any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'})
  return Number(child.stdout)
}

test('directory repository: push and expire remove dead writers\' temps, and only theirs', async () => {
  const repo = await pushedRepo()
  const node = await primary()
  const tag = pidSpaceTag()
  assert.ok(tag !== null, 'this host has a pid-space tag')
  const wal = path.join(repo, 'db1', T1, 'wal')
  const temp = (pid: number, owner: string) => path.join(wal, `00000000000000000009.redwal.${pid}-${randomBytes(8).toString('hex')}.${owner}.tmp`)
  const dayMs = 24 * 60 * 60 * 1000
  const plant = (file: string, bytes: number, mtimeMs?: number) => {
    writeFileSync(file, Buffer.alloc(bytes, 7))
    if (mtimeMs !== undefined) utimesSync(file, mtimeMs / 1000, mtimeMs / 1000)
    return file
  }
  const foreign = 'fedcba9876543210'
  // Runs see the clock pinned at NOW_MS: a file touched now is fresh to them, one from before NOW_MS - 24 h is old.
  const old = Number(NOW_MS) - 2 * dayMs
  const liveHere = plant(temp(process.pid, tag!), 100, old)
  const deadHere = plant(temp(deadPid(), tag!), 1000)
  const liveElsewhere = plant(temp(deadPid(), foreign), 10)
  const deadElsewhere = plant(temp(1, foreign), 10_000, old)
  const untagged = plant(path.join(wal, `00000000000000000008.redwal.${deadPid()}-00000000deadbeef.tmp`), 5, Number(NOW_MS) - dayMs / 2)
  const foreignName = plant(path.join(wal, 'notes.tmp'), 3, old)

  const pushed = jsonOf(await runCli(['repo', 'push', '--data-path', node.data, '--repo', repo, '--node', 'db1', '--json']))
  assert.deepEqual(pushed.dead_temps, {count: 2n, bytes: 11_000n})
  assert.ok(!existsSync(deadHere) && !existsSync(deadElsewhere), 'a dead writer\'s temp goes: this host by its pid, another by its age')
  for (const kept of [liveHere, liveElsewhere, untagged, foreignName]) assert.ok(existsSync(kept), `${path.basename(kept)} stays`)

  // An untagged temp (another host, or an older redrepl) goes once old; expire counts it on a dry run and removes it with --confirm.
  utimesSync(untagged, old / 1000, old / 1000)
  const dry = jsonOf(await runCli(['repo', 'expire', '--keep-last', '1', '--repo', repo, '--node', 'db1', '--json']))
  assert.deepEqual(dry.dead_temps, {count: 1n, bytes: 5n})
  assert.ok(existsSync(untagged), 'a dry run removes nothing')
  const confirmed = jsonOf(await runCli(['repo', 'expire', '--keep-last', '1', '--confirm', '--repo', repo, '--node', 'db1', '--json']))
  assert.deepEqual(confirmed.dead_temps, {count: 1n, bytes: 5n})
  assert.ok(!existsSync(untagged))
  for (const kept of [liveHere, liveElsewhere, foreignName]) assert.ok(existsSync(kept), `${path.basename(kept)} stays`)
  assert.equal(readFileSync(foreignName, 'utf8'), '\u0007\u0007\u0007')
  assert.deepEqual(readdirSync(wal).filter((name) => name.endsWith('.tmp')).length, 3)
})

/** A fresh layout with a directory outside it that holds an operator's files named like leftovers. */
async function layoutAndOutside() {
  const node = await primary()
  const outside = await scratch.dir('redrepl-links-home-')
  mkdirSync(path.join(outside, 'alice'))
  writeFileSync(path.join(outside, 'alice', 'thesis.tmp'), 'four years of work')
  writeFileSync(path.join(outside, 'relay.tmp'), 'not a relay')
  writeFileSync(path.join(outside, '00000000000000000007.tmp'), 'not a segment')
  return {...node, t1: path.join(node.root, T1), outside}
}

/** `<dir>/<name>` moved out to `outside/<name>` and linked back, the way an operator (or an attacker) would. */
function moveOutAndLink(dir: string, name: string, outside: string): string {
  const moved = path.join(outside, name)
  renameSync(path.join(dir, name), moved)
  symlinkSync(moved, path.join(dir, name))
  return moved
}

test('layout clean refuses a link where the layout holds a real directory (timeline, relay, a replica\'s relay dir) and removes nothing', async () => {
  const cases: Array<[string, (l: Awaited<ReturnType<typeof layoutAndOutside>>) => void, RegExp]> = [
    ['relay → /home', (l) => {
      spawnSync('rm', ['-r', path.join(l.t1, 'relay')])
      symlinkSync(l.outside, path.join(l.t1, 'relay'))
    }, /relay: is a symbolic link; links are not followed inside the layout/],
    ['relay/replica-a', (l) => {
      moveOutAndLink(path.join(l.t1, 'relay'), 'replica-a', l.outside)
      writeFileSync(path.join(l.outside, 'replica-a', 'relay.tmp'), 'the replica\'s own, elsewhere')
    }, /replica-a: is a symbolic link/],
    ['a timeline dir', (l) => {
      moveOutAndLink(l.root, T1, l.outside)
      writeFileSync(path.join(l.outside, T1, 'wal', '00000000000000000009.tmp'), 'partial')
    }, new RegExp(`${T1}: is a symbolic link`)],
  ]
  for (const [label, plant, message] of cases) {
    const layout = await layoutAndOutside()
    writeFileSync(path.join(layout.t1, 'wal', '00000000000000000008.tmp'), 'a real leftover, kept too since the run refuses')
    plant(layout)
    const before = snapshot(layout.outside, layout.dir)
    for (const confirm of [[], ['--confirm']]) {
      const started = Date.now()
      refusedOnce(await runCli(['layout', 'clean', '--data-path', layout.data, ...confirm]), message, `${label} ${confirm.join('')}`)
      assert.ok(Date.now() - started < 20_000)
    }
    assert.deepEqual(snapshot(layout.outside, layout.dir), before, `${label}: nothing changed inside or outside`)
  }
})

test('layout clean in an operator-linked wal/ or basebackup/ removes only leftovers RedDB or redrepl name, inside the link\'s target, and shows their real paths', async () => {
  const layout = await layoutAndOutside()
  const wal = moveOutAndLink(layout.t1, 'wal', layout.outside)
  writeFileSync(path.join(wal, 'thesis.tmp'), 'an operator file beside the WAL')
  symlinkSync(path.join(layout.outside, 'alice', 'thesis.tmp'), path.join(wal, '00000000000000000006.tmp'))
  const leftover = path.join(wal, `00000000000000000009.redwal.${deadPid()}-0123456789abcdef.tmp`)
  writeFileSync(leftover, 'partial')
  const basebackup = moveOutAndLink(layout.t1, 'basebackup', layout.outside)
  // An orphan-named parts dir that is a link out, and one holding a link out: neither is followed.
  const linkedParts = path.join(basebackup, 'base-00000000000000000000-00000000000000000010.redbase.parts')
  symlinkSync(path.join(layout.outside, 'alice'), linkedParts)
  const partsWithLink = path.join(basebackup, 'base-00000000000000000000-00000000000000000011.redbase.parts')
  mkdirSync(partsWithLink)
  symlinkSync(path.join(layout.outside, 'alice', 'thesis.tmp'), path.join(partsWithLink, '00000000000000000000.redchunk'))
  const kept = () => snapshot(path.join(layout.outside, 'alice'))
  const alice = kept()

  const dry = jsonOf(await runCli(['layout', 'clean', '--data-path', layout.data, '--json']))
  assert.deepEqual((dry.leftovers as any[]).map((l) => l.path), [leftover], 'the one real leftover, named where it really is')
  const skipped = (dry.skipped as any[]).map((s) => path.basename(s.path)).sort()
  assert.deepEqual(skipped, ['00000000000000000006.tmp', path.basename(linkedParts), path.basename(partsWithLink), 'thesis.tmp'])
  const done = jsonOf(await runCli(['layout', 'clean', '--data-path', layout.data, '--confirm', '--json']))
  assert.equal(done.removed, 1n)
  assert.ok(!existsSync(leftover))
  assert.deepEqual(kept(), alice, 'nothing the links lead to was touched')
  assert.equal(readFileSync(path.join(wal, 'thesis.tmp'), 'utf8'), 'an operator file beside the WAL')
  assert.ok(existsSync(path.join(partsWithLink, '00000000000000000000.redchunk')) && existsSync(linkedParts))
})

test('layout clean keeps a .parts directory that a valid manifest names, though no manifest has its name', async () => {
  const layout = await primary()
  const backups = path.join(layout.root, T1, 'basebackup')
  // The manifest names its chunks in base-…-5242882.redbase.parts; under another name, that dir looks orphaned by name alone.
  renameSync(path.join(backups, BACKUP), path.join(backups, 'base-00000000000000000000-00000000000005242890.redbase'))
  const before = snapshot(path.join(backups, `${BACKUP}.parts`))
  const done = jsonOf(await runCli(['layout', 'clean', '--data-path', layout.data, '--confirm', '--json']))
  assert.equal(done.removed, 0n)
  assert.deepEqual((done.skipped as any[]).map((s) => [path.basename(s.path), s.reason]), [[`${BACKUP}.parts`, 'a manifest here names chunks in it']])
  assert.deepEqual(snapshot(path.join(backups, `${BACKUP}.parts`)), before)
  const verified = jsonOf(await runCli(['layout', 'verify', '--data-path', layout.data, '--json']))
  assert.deepEqual((verified.findings as any[]).filter((f) => f.code === 'leftover.orphan-parts'), [], 'layout verify does not call it a leftover either')
})

test('wal prune, basebackup delete and basebackup expire refuse a linked timeline or parts dir before removing anything', async () => {
  const runs: Array<[string, (l: Awaited<ReturnType<typeof layoutAndOutside>>) => void, (data: string) => string[], RegExp]> = [
    ['wal prune, timeline dir linked out', (l) => moveOutAndLink(l.root, T1, l.outside), (data) => ['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1'], new RegExp(`${T1}: is a symbolic link; links are not followed inside the layout`)],
    ['basebackup delete, parts dir linked out', (l) => moveOutAndLink(path.join(l.t1, 'basebackup'), `${BACKUP}.parts`, l.outside), (data) => ['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--force'], /\.redbase\.parts: is a symbolic link/],
    ['basebackup delete, timeline dir linked out', (l) => moveOutAndLink(l.root, T1, l.outside), (data) => ['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--force'], new RegExp(`${T1}: is a symbolic link`)],
  ]
  for (const [label, plant, args, message] of runs) {
    const layout = await layoutAndOutside()
    plant(layout)
    const before = snapshot(layout.outside, layout.dir)
    const started = Date.now()
    refusedOnce(await runCli(args(layout.data)), message, label)
    assert.ok(Date.now() - started < 20_000, `${label}: ends at once`)
    assert.deepEqual(snapshot(layout.outside, layout.dir), before, `${label}: nothing changed, the manifest included`)
  }
})

test('basebackup expire refuses a linked parts dir before removing anything', async () => {
  const layout = await layoutAndOutside()
  const data = layout.data
  const snapshotBytes = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, 3)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshotBytes.length), '--checkpoint-lsn', '5242890', '--chunk-size', '4KiB', '--json'], {input: snapshotBytes}))
  moveOutAndLink(path.join(layout.t1, 'basebackup'), `${BACKUP}.parts`, layout.outside)
  const before = snapshot(layout.outside, layout.dir)
  refusedOnce(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-last', '1', '--confirm']), /\.redbase\.parts: is a symbolic link/, 'expire')
  assert.deepEqual(snapshot(layout.outside, layout.dir), before)
})

test('basebackup delete keeps the chunks another manifest names, so that backup still verifies', async () => {
  const layout = await primary()
  const backups = path.join(layout.root, T1, 'basebackup')
  // A second manifest naming the same parts dir, as RedDB's reuse of a verified parts dir makes.
  const second = path.join(backups, 'base-00000000000000000000-00000000000005242890.redbase')
  cpSync(path.join(backups, BACKUP), second)
  const parts = snapshot(path.join(backups, `${BACKUP}.parts`))
  const done = jsonOf(await runCli(['basebackup', 'delete', '--data-path', layout.data, '--manifest', path.join(backups, BACKUP), '--force', '--json']))
  assert.equal(done.removed_files, 1n, 'the manifest alone')
  assert.ok(!existsSync(path.join(backups, BACKUP)))
  assert.deepEqual(snapshot(path.join(backups, `${BACKUP}.parts`)), parts)
  const verified = await runCli(['basebackup', 'verify', '--data-path', layout.data, '--manifest', second])
  assert.equal(verified.exitCode, 0, verified.stderr)
})

test('layout verify notes an operator\'s wal/ and basebackup/ links and warns of a linked relay dir', async () => {
  const layout = await layoutAndOutside()
  moveOutAndLink(layout.t1, 'wal', layout.outside)
  moveOutAndLink(layout.t1, 'basebackup', layout.outside)
  const noted = jsonOf(await runCli(['layout', 'verify', '--data-path', layout.data, '--json']))
  const links = (report: any) => report.findings.filter((f: any) => f.code.startsWith('layout.')).map((f: any) => [f.code, f.severity, path.basename(f.path)])
  assert.deepEqual(links(noted), [['layout.linked-dir', 'note', 'wal'], ['layout.linked-dir', 'note', 'basebackup']])
  assert.equal(noted.ok, true, 'an operator\'s link is no problem')
  moveOutAndLink(path.join(layout.t1, 'relay'), 'replica-a', layout.outside)
  const warnedRun = await runCli(['layout', 'verify', '--data-path', layout.data, '--json'])
  assert.equal(warnedRun.exitCode, 3, 'a warning fails the verification')
  const warned = documentOf(warnedRun.stdout)
  assert.deepEqual(links(warned).at(-1), ['layout.symlink', 'warning', 'replica-a'])
  assert.equal(warned.ok, false)
})

test('basebackup create removes a dead run\'s staging dir by its chunk files only, and never through a link', async () => {
  const layout = await layoutAndOutside()
  const backups = path.join(layout.t1, 'basebackup')
  const parts = 'base-00000000000000000000-00000000000005242890.redbase.parts'
  const pid = deadPid()
  const abandoned = path.join(backups, `${parts}.tmp-${pid}-1`)
  mkdirSync(abandoned)
  writeFileSync(path.join(abandoned, '00000000000000000000.redchunk'), 'partial')
  const mixed = path.join(backups, `${parts}.tmp-${pid}-2`)
  mkdirSync(mixed)
  writeFileSync(path.join(mixed, '00000000000000000000.redchunk'), 'partial')
  writeFileSync(path.join(mixed, 'notes.txt'), 'an operator\'s')
  symlinkSync(path.join(layout.outside, 'alice'), path.join(backups, `${parts}.tmp-${pid}-3`))
  const before = snapshot(layout.outside)
  const snapshotBytes = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, 5)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', layout.data, '--snapshot', '-', '--snapshot-bytes', String(snapshotBytes.length), '--checkpoint-lsn', '5242890', '--chunk-size', '4KiB', '--json'], {input: snapshotBytes}))
  assert.ok(!existsSync(abandoned), 'the dead run\'s staging dir of chunks went')
  assert.deepEqual(readdirSync(mixed).sort(), ['notes.txt'], 'its chunk went, the other file and the dir stayed')
  assert.ok(existsSync(path.join(backups, `${parts}.tmp-${pid}-3`)), 'a link is not followed, nor removed')
  assert.deepEqual(snapshot(layout.outside), before)
})

/** After-failover primary with a base backup of timeline 2: what a rejoin of an old node stages from. */
async function rejoinPrimary(): Promise<string> {
  const dir = await scratch.dir('redrepl-links-primary-')
  cpSync(fixturePath('layouts', 'after-failover'), dir, {recursive: true})
  const data = path.join(dir, 'data.rdb')
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--json']))
  return data
}

async function oldNode() {
  const dir = path.join(await scratch.dir('redrepl-links-old-'), 'node')
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {0: 3}, slots: null})
  copyFileSync(fixturePath('layouts', 'after-failover', 'data.rdb'), data)
  return {dir, data, root: path.join(dir, 'data.primary-replica'), outside: await scratch.dir('redrepl-links-home-')}
}

test('every writer refuses a linked timeline dir before writing, and nothing outside the layout changes', async () => {
  const repo = await pushedRepo()
  const primaryData = await rejoinPrimary()
  const fromRepo = (...args: string[]) => ['repo', ...args, '--repo', repo, '--node', 'db1']
  const writers: Array<[string, (data: string) => string[], string?, (() => Promise<{root: string; dir: string; data: string; outside: string}>)?]> = [
    ['slots drop', (data) => ['slots', 'drop', 'replica-a', '--yes', '--data-path', data]],
    ['slots invalidate', (data) => ['slots', 'invalidate', 'replica-a', '--reason', 'idle-timeout', '--data-path', data]],
    ['timeline promote', (data) => ['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '41', '--max-lag-lsn', '9999999']],
    ['relay append', (data) => ['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '0'], '{"lsn":41,"payload_hex":"29"}\n'],
    ['basebackup create', (data) => ['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '777']],
    ['basebackup materialize --rebootstrap', (data) => ['basebackup', 'materialize', '--data-path', data, '--rebootstrap']],
    ['repo restore --rebootstrap', (data) => [...fromRepo('restore', '--rebootstrap', '--rdb-version', '1'), '--data-path', data]],
    ['repo fetch-wal', (data) => [...fromRepo('fetch-wal', '--from-lsn', '0', '--segment-bytes', '1MiB'), '--data-path', data]],
    // An old node three records in, behind what the new primary still holds: a reclone, staged beside its data file.
    ['rejoin apply', (data) => ['rejoin', 'apply', '--data-path', primaryData, '--node-data-path', data, '--available-from-lsn', '20'], undefined, oldNode],
  ]
  for (const [label, args, input, make] of writers) {
    const layout = await (make ?? layoutAndOutside)()
    const moved = moveOutAndLink(layout.root, T1, layout.outside)
    writeFileSync(path.join(moved, 'wal', '00000000000000000009.redwal.tmp'), 'the other disk\'s own')
    const before = snapshot(layout.outside, layout.dir)
    refusedOnce(await runCli(args(layout.data), {input}), new RegExp(`${T1}: is a symbolic link; links are not followed inside the layout`), label)
    assert.deepEqual(snapshot(layout.outside, layout.dir), before, `${label}: nothing written, inside the layout or where the link leads`)
  }
})

test('every writer refuses a linked relay/ or replica relay dir; an operator\'s linked root, wal/ and basebackup/ keep working', async () => {
  for (const [label, plant, message] of [
    ['relay/', (t1: string, outside: string) => moveOutAndLink(t1, 'relay', outside), /relay: is a symbolic link/],
    ['relay/replica-a', (t1: string, outside: string) => moveOutAndLink(path.join(t1, 'relay'), 'replica-a', outside), /replica-a: is a symbolic link/],
  ] as const) {
    const layout = await layoutAndOutside()
    plant(layout.t1, layout.outside)
    const before = snapshot(layout.outside, layout.dir)
    refusedOnce(await runCli(['relay', 'append', '--data-path', layout.data, '--replica', 'replica-a', '--applied-lsn', '0'], {input: '{"lsn":41,"payload_hex":"29"}\n'}), message, `relay append, ${label}`)
    refusedOnce(await runCli(['slots', 'drop', 'replica-b', '--yes', '--data-path', layout.data]), message, `slots drop, ${label}`)
    assert.deepEqual(snapshot(layout.outside, layout.dir), before, label)
  }

  // The operator's links: a root on another disk, holding a wal/ and a basebackup/ each on yet another.
  const layout = await layoutAndOutside()
  const disk = await scratch.dir('redrepl-links-disk-')
  const root = path.join(disk, 'data.primary-replica')
  renameSync(layout.root, root)
  symlinkSync(root, layout.root)
  const t1 = path.join(root, T1)
  const wal = moveOutAndLink(t1, 'wal', layout.outside)
  const backups = moveOutAndLink(t1, 'basebackup', layout.outside)
  const created = jsonOf(await runCli(['basebackup', 'create', '--data-path', layout.data, '--from', layout.data, '--checkpoint-lsn', '777', '--json']))
  assert.ok(existsSync(path.join(backups, path.basename(String(created.manifest_path)))), 'the backup went where basebackup/ leads')
  const dropped = await runCli(['slots', 'drop', 'replica-b', '--yes', '--data-path', layout.data])
  assert.equal(dropped.exitCode, 0, dropped.stderr)
  const appended = await runCli(['relay', 'append', '--data-path', layout.data, '--replica', 'replica-a', '--applied-lsn', '0'], {input: '{"lsn":41,"payload_hex":"29"}\n'})
  assert.equal(appended.exitCode, 0, appended.stderr)
  assert.ok(readdirSync(path.join(t1, 'relay', 'replica-a')).some((name) => name.startsWith('relay-00000000000000000041')), 'the relay segment is in the linked root')
  assert.ok(readdirSync(wal).some((name) => name.endsWith('.redwal')))
})
