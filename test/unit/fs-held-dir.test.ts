import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {assertNoLinkedLayoutDirs, HeldDir, openBelow, openInLayout, removeDirOf, resolveOnce} from '../../src/core/fs/held-dir.js'
import {Layout} from '../../src/core/layout.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

const isLinkRefusal = (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && error.code === 'path.symlink' && /is a symbolic link/.test(error.message)

test('a directory is never opened through a link, at the top or at any level below', async () => {
  const dir = realpathSync(await scratch.dir())
  const outside = realpathSync(await scratch.dir())
  mkdirSync(path.join(dir, 'a', 'b'), {recursive: true})
  symlinkSync(outside, path.join(dir, 'top'))
  symlinkSync(outside, path.join(dir, 'a', 'link'))
  await assert.rejects(HeldDir.open(path.join(dir, 'top'), 'the test'), isLinkRefusal)
  const root = (await HeldDir.open(dir, 'the test'))!
  await assert.rejects(openBelow(root, ['a', 'link']), isLinkRefusal)
  await assert.rejects(openBelow(root, ['a', 'link', 'deeper'], {create: true}), isLinkRefusal)
  assert.ok(!existsSync(path.join(outside, 'deeper')), 'nothing was created through the link')
  const made = (await openBelow(root, ['a', 'b', 'new'], {create: true}))!
  assert.equal(made.path, path.join(dir, 'a', 'b', 'new'))
  await made.close()
  assert.equal(await openBelow(root, ['a', 'missing']), undefined)
  await root.close()
})

test('an open directory swapped for a link meanwhile: writes and unlinks through it stay in the directory that was opened', async () => {
  const base = realpathSync(await scratch.dir())
  const outside = realpathSync(await scratch.dir())
  const dir = path.join(base, 'wal')
  mkdirSync(dir)
  writeFileSync(path.join(outside, 'victim'), 'keep me')
  const held = (await HeldDir.open(dir, 'the test'))!
  renameSync(dir, path.join(base, 'moved'))
  symlinkSync(outside, dir)
  await writeFile(held.at('victim'), 'written')
  assert.equal(readFileSync(path.join(outside, 'victim'), 'utf8'), 'keep me')
  assert.equal(readFileSync(path.join(base, 'moved', 'victim'), 'utf8'), 'written')
  assert.equal(await held.unlink('victim'), true)
  assert.ok(existsSync(path.join(outside, 'victim')) && !existsSync(path.join(base, 'moved', 'victim')))
  assert.equal(await held.inside(base), true)
  assert.equal(await held.inside(path.join(base, 'wal')), false, 'it is no longer where it was opened')
  renameSync(path.join(base, 'moved'), path.join(outside, 'moved'))
  assert.equal(await held.inside(base), false, 'moved out of its tree')
  await held.close()
})

test('removeDirOf removes only the files it accepts, leaves links and anything else (and then the directory), and refuses a linked directory', async () => {
  const base = realpathSync(await scratch.dir())
  const outside = realpathSync(await scratch.dir())
  writeFileSync(path.join(outside, 'a.chunk'), 'outside')
  const parts = path.join(base, 'parts')
  mkdirSync(parts)
  writeFileSync(path.join(parts, 'a.chunk'), 'x')
  writeFileSync(path.join(parts, 'b.chunk'), 'y')
  writeFileSync(path.join(parts, 'notes.txt'), 'z')
  symlinkSync(path.join(outside, 'a.chunk'), path.join(parts, 'c.chunk'))
  const held = (await HeldDir.open(base, 'the test'))!
  const result = await removeDirOf(held, 'parts', (name) => name.endsWith('.chunk'))
  assert.deepEqual(result, {removed: 2, left: [path.join(parts, 'c.chunk'), path.join(parts, 'notes.txt')]})
  assert.ok(existsSync(parts) && existsSync(path.join(outside, 'a.chunk')))
  symlinkSync(outside, path.join(base, 'linked'))
  await assert.rejects(removeDirOf(held, 'linked', () => true), isLinkRefusal)
  assert.equal(readFileSync(path.join(outside, 'a.chunk'), 'utf8'), 'outside')
  const clean = path.join(base, 'clean')
  mkdirSync(clean)
  writeFileSync(path.join(clean, 'a.chunk'), 'x')
  assert.deepEqual(await removeDirOf(held, 'clean', (name) => name.endsWith('.chunk')), {removed: 1, left: []})
  assert.ok(!existsSync(clean))
  await held.close()
})

test('openInLayout follows a link only at the last part when allowed; resolveOnce resolves a linked root and keeps a missing tail', async () => {
  const base = realpathSync(await scratch.dir())
  const disk = realpathSync(await scratch.dir())
  const root = path.join(base, 'data.primary-replica')
  mkdirSync(path.join(root, 't1'), {recursive: true})
  symlinkSync(disk, path.join(root, 't1', 'wal'))
  symlinkSync(disk, path.join(root, 't2'))
  const wal = (await openInLayout(root, ['t1', 'wal'], {linkableLast: true}))!
  assert.equal(wal.path, disk)
  await wal.close()
  await assert.rejects(openInLayout(root, ['t1', 'wal'], {linkableLast: false}), isLinkRefusal)
  await assert.rejects(openInLayout(root, ['t2', 'wal'], {linkableLast: true}), isLinkRefusal)
  const alias = path.join(base, 'alias')
  symlinkSync(root, alias)
  assert.equal(await resolveOnce(alias), root)
  assert.equal(await resolveOnce(path.join(alias, 'not', 'yet')), path.join(root, 'not', 'yet'))
})

test('assertNoLinkedLayoutDirs: a linked timeline, relay/ or replica relay dir is refused; the operator\'s links of the root, wal/ and basebackup/ pass', async () => {
  const base = realpathSync(await scratch.dir())
  const outside = realpathSync(await scratch.dir())
  const disk = path.join(base, 'disk')
  const onDisk = new Layout(disk)
  const t1 = onDisk.timelineDir(1n)
  mkdirSync(path.join(t1, 'relay', 'replica-a'), {recursive: true})
  mkdirSync(path.join(outside, 'wal'))
  mkdirSync(path.join(outside, 'basebackup'))
  symlinkSync(path.join(outside, 'wal'), path.join(t1, 'wal'))
  symlinkSync(path.join(outside, 'basebackup'), path.join(t1, 'basebackup'))
  // A file of a timeline's name and a link of another name are not timeline directories.
  writeFileSync(onDisk.timelineDir(9n), 'not a dir')
  symlinkSync(outside, path.join(disk, 'notes'))
  const root = path.join(base, 'data.primary-replica')
  symlinkSync(disk, root)
  await assertNoLinkedLayoutDirs(root)
  await assertNoLinkedLayoutDirs(path.join(base, 'missing.primary-replica'))

  const refusedAt = async (link: string) => {
    await assert.rejects(assertNoLinkedLayoutDirs(root), (error: unknown) => isLinkRefusal(error) && (error as Error).message.startsWith(`${link}:`))
  }
  symlinkSync(outside, onDisk.timelineDir(2n))
  await refusedAt(onDisk.timelineDir(2n))
  renameSync(onDisk.timelineDir(2n), path.join(base, 'parked'))
  renameSync(path.join(t1, 'relay', 'replica-a'), path.join(outside, 'replica-a'))
  symlinkSync(path.join(outside, 'replica-a'), path.join(t1, 'relay', 'replica-a'))
  await refusedAt(path.join(t1, 'relay', 'replica-a'))
  renameSync(path.join(t1, 'relay'), path.join(outside, 'relay'))
  symlinkSync(path.join(outside, 'relay'), path.join(t1, 'relay'))
  await refusedAt(path.join(t1, 'relay'))
})
