import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {canCopyFromDescriptor, copyFileAtomic, isTemporaryName, isTempNameOf, mkdirDurable, openNewFile, tempPathFor, writeFileAtomic, writeStreamAtomic} from '../../src/core/fs/atomic.js'
import {resolveContained} from '../../src/core/fs/contained.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

test('an atomic write replaces the file and leaves no temp file', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'relay.redmanifest')
  writeFileSync(target, 'old')
  await writeFileAtomic(target, 'new')
  assert.equal(readFileSync(target, 'utf8'), 'new')
  assert.deepEqual(readdirSync(dir), ['relay.redmanifest'])
})

test('temp names are unique, unguessable, never a name RedDB or a neighbour uses, and layout verify knows them', () => {
  const target = '/d/relay.redmanifest'
  const names = new Set(Array.from({length: 100}, () => tempPathFor(target)))
  assert.equal(names.size, 100)
  for (const temp of names) {
    assert.equal(path.dirname(temp), '/d')
    assert.match(path.basename(temp), new RegExp(`^relay\\.redmanifest\\.${process.pid}-[0-9a-f]{16}\\.tmp$`))
    assert.ok(isTemporaryName(path.basename(temp)))
    assert.ok(isTempNameOf(path.basename(temp), target))
    assert.ok(!isTempNameOf(path.basename(temp), '/d/relay'))
  }
  assert.ok(!isTempNameOf('relay.tmp', target), "RedDB's own temp is not ours")
  assert.ok(isTemporaryName('relay.tmp') && isTemporaryName('base-1-2.redbase.parts.tmp-12-34'))
  const long = `/d/${'x'.repeat(250)}.rdb`
  assert.ok(Buffer.byteLength(path.basename(tempPathFor(long))) <= 255, 'a long target name still gives a valid temp name')
})

test('a new file is never opened through anything already at its name', async () => {
  const dir = await scratch.dir()
  const outside = path.join(dir, 'outside')
  writeFileSync(outside, 'keep')
  symlinkSync(outside, path.join(dir, 'link'))
  symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'))
  writeFileSync(path.join(dir, 'file'), 'mine')
  for (const name of ['link', 'dangling', 'file']) {
    await assert.rejects(openNewFile(path.join(dir, name)), (error: NodeJS.ErrnoException) => error.code === 'EEXIST', name)
  }
  assert.equal(readFileSync(outside, 'utf8'), 'keep')
  assert.ok(!existsSync(path.join(dir, 'nowhere')))
})

test('a failing producer leaves the old file and no temp file, with one line naming the target and claiming nothing more', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'data.rdb')
  writeFileSync(target, 'old')
  await assert.rejects(
    writeStreamAtomic(target, async (handle) => {
      await handle.write(Buffer.from('half'))
      throw Object.assign(new Error('boom'), {code: 'ENOSPC'})
    }),
    (error: unknown) => error instanceof RedreplError && error.message === `${target}: cannot write: no space left on device`,
  )
  assert.equal(readFileSync(target, 'utf8'), 'old')
  assert.deepEqual(readdirSync(dir), ['data.rdb'])
  const inMissing = path.join(dir, 'missing', 'x.redslots')
  await assert.rejects(writeFileAtomic(inMissing, 'x'), (error: unknown) => error instanceof RedreplError && error.kind === 'not-found' && error.message === `${inMissing}: cannot write: no such file or directory`)
  // A directory where the file belongs: the rename over it fails, and that is exit 3 as for a reader.
  mkdirSync(path.join(dir, 'a-dir'))
  await assert.rejects(writeFileAtomic(path.join(dir, 'a-dir'), 'x'), (error: unknown) => error instanceof RedreplError && error.kind === 'corrupt' && error.code === 'io.EISDIR')
})

test('a copy made in the kernel replaces the target only once its check passes, and leaves no temp file either way', async (t) => {
  if (!canCopyFromDescriptor()) return t.skip('no /proc/self/fd here')
  const dir = await scratch.dir()
  const source = path.join(dir, 'source')
  const target = path.join(dir, 'target')
  writeFileSync(source, 'copied bytes')
  writeFileSync(target, 'old')
  const fd = openSync(source, 'r')
  try {
    const readBack = (stored: number) => {
      const buffer = Buffer.alloc(64)
      return buffer.subarray(0, readSync(stored, buffer, 0, buffer.length, 0)).toString()
    }
    await assert.rejects(
      copyFileAtomic(target, fd, async (handle) => {
        assert.equal(readBack(handle.fd), 'copied bytes')
        throw new RedreplError('corrupt', `${source}: checksum mismatch`)
      }),
      /checksum mismatch/,
    )
    assert.equal(readFileSync(target, 'utf8'), 'old')
    assert.deepEqual(readdirSync(dir).sort(), ['source', 'target'])
    let seen = ''
    await copyFileAtomic(target, fd, async (handle) => {
      seen = readBack(handle.fd)
    })
    assert.equal(seen, 'copied bytes')
    assert.equal(readFileSync(target, 'utf8'), 'copied bytes')
    assert.deepEqual(readdirSync(dir).sort(), ['source', 'target'])
  } finally {
    closeSync(fd)
  }
})

test('a write that must not replace: refused when the target exists or appears meanwhile, or is a dangling link; nothing touched', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'out.rdb')
  await writeFileAtomic(target, 'first', {ifAbsent: true})
  assert.equal(readFileSync(target, 'utf8'), 'first')
  const isExists = (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && error.message === `${target}: exists`
  await assert.rejects(writeFileAtomic(target, 'second', {ifAbsent: true}), isExists)
  assert.equal(readFileSync(target, 'utf8'), 'first')

  const racing = path.join(dir, 'race.rdb')
  await assert.rejects(
    writeStreamAtomic(racing, async (handle) => {
      await handle.write(Buffer.from('ours'))
      writeFileSync(racing, 'theirs')
    }, {ifAbsent: true}),
    (error: unknown) => error instanceof RedreplError && error.kind === 'refused',
  )
  assert.equal(readFileSync(racing, 'utf8'), 'theirs')

  const dangling = path.join(dir, 'dangling.rdb')
  symlinkSync(path.join(dir, 'elsewhere.rdb'), dangling)
  await assert.rejects(writeFileAtomic(dangling, 'x', {ifAbsent: true}), (error: unknown) => error instanceof RedreplError && error.kind === 'refused')
  assert.ok(!existsSync(path.join(dir, 'elsewhere.rdb')))
  assert.deepEqual(readdirSync(dir).sort(), ['dangling.rdb', 'out.rdb', 'race.rdb'], 'no temp file is left')
})

test('replacing a symlinked target replaces the link, never writes through it', async () => {
  const dir = await scratch.dir()
  const outside = path.join(dir, 'outside.rdb')
  writeFileSync(outside, 'keep')
  const target = path.join(dir, 'target.rdb')
  symlinkSync(outside, target)
  await writeFileAtomic(target, 'new')
  assert.equal(readFileSync(outside, 'utf8'), 'keep')
  assert.equal(readFileSync(target, 'utf8'), 'new')
})

test('under the lock, a write clears its own target\'s leftover temps and nothing else', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'relay.redmanifest')
  const ours = path.basename(tempPathFor(target))
  const others = ['relay.tmp', 'notes.tmp', path.basename(tempPathFor(path.join(dir, 'relay-1-2.redwal'))), 'relay.redmanifest.12-xyz.tmp']
  for (const name of [ours, ...others]) writeFileSync(path.join(dir, name), 'left')
  await writeFileAtomic(target, 'a')
  assert.ok(existsSync(path.join(dir, ours)), 'without the lock nothing is cleared')
  await writeFileAtomic(target, 'b', {clearLeftovers: true})
  assert.deepEqual(readdirSync(dir).sort(), [...others, 'relay.redmanifest'].sort())
})

test('beforeReplace runs once the new content is durable and before the target changes; if it fails the target is kept', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'pending.rdb')
  writeFileSync(target, 'old')
  let seen = ''
  await writeFileAtomic(target, 'new', {beforeReplace: async () => void (seen = readFileSync(target, 'utf8'))})
  assert.equal(seen, 'old')
  assert.equal(readFileSync(target, 'utf8'), 'new')
  await assert.rejects(
    writeFileAtomic(target, 'newer', {
      beforeReplace: async () => {
        throw new RedreplError('failure', 'marker: cannot remove')
      },
    }),
    /marker: cannot remove/,
  )
  assert.equal(readFileSync(target, 'utf8'), 'new')
  assert.deepEqual(readdirSync(dir), ['pending.rdb'])
})

test('mkdirDurable creates missing parents, follows an operator\'s directory link, and names what is in the way', async () => {
  const dir = await scratch.dir()
  await mkdirDurable(path.join(dir, 'a', 'b', 'c'))
  assert.ok(existsSync(path.join(dir, 'a', 'b', 'c')))
  await mkdirDurable(path.join(dir, 'a', 'b', 'c'))
  mkdirSync(path.join(dir, 'real'))
  symlinkSync(path.join(dir, 'real'), path.join(dir, 'linked'))
  await mkdirDurable(path.join(dir, 'linked', 'wal'))
  assert.ok(existsSync(path.join(dir, 'real', 'wal')))
  writeFileSync(path.join(dir, 'file'), 'x')
  await assert.rejects(mkdirDurable(path.join(dir, 'file', 'sub')), (error: unknown) => error instanceof RedreplError && error.message === `${path.join(dir, 'file')}: exists and is not a directory`)
  symlinkSync(path.join(dir, 'gone'), path.join(dir, 'dangling'))
  await assert.rejects(mkdirDurable(path.join(dir, 'dangling', 'sub')), (error: unknown) => error instanceof RedreplError && error.message === `${path.join(dir, 'dangling')}: exists and is not a directory`)
  assert.ok(!existsSync(path.join(dir, 'gone')))
})

test('contained paths stay under their directory, symlinked or not', async () => {
  const dir = await scratch.dir()
  mkdirSync(path.join(dir, 'parts'))
  assert.equal(await resolveContained(dir, 'parts/00.redchunk'), path.join(dir, 'parts', '00.redchunk'))
  await assert.rejects(resolveContained(dir, '../escape'), /must not leave its directory/)
  await assert.rejects(resolveContained(dir, '/etc/passwd'), /must be relative/)
  await assert.rejects(resolveContained(dir, 'parts/a\0b'), /NUL/)
})

test('outside a layout, a write clears only the temps of writers that are gone, never an overlapping run\'s', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'redrepl.prom')
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout
  const ofDeadRun = path.join(dir, `redrepl.prom.${dead}-0123456789abcdef.tmp`)
  const ofLiveRun = path.join(dir, `redrepl.prom.${process.ppid}-fedcba9876543210.tmp`)
  writeFileSync(ofDeadRun, 'half')
  writeFileSync(ofLiveRun, 'in progress')
  await writeFileAtomic(target, 'new', {clearLeftovers: 'dead-writers'})
  assert.deepEqual(readdirSync(dir).sort(), ['redrepl.prom', path.basename(ofLiveRun)].sort())
})
