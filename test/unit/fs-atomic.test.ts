import assert from 'node:assert/strict'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {tempPathFor, writeFileAtomic, writeStreamAtomic} from '../../src/core/fs/atomic.js'
import {resolveContained} from '../../src/core/fs/contained.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

test('an atomic write replaces the file and leaves no temp file; the temp is named as RedDB names it', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'relay.redmanifest')
  writeFileSync(target, 'old')
  await writeFileAtomic(target, 'new')
  assert.equal(readFileSync(target, 'utf8'), 'new')
  assert.deepEqual(readdirSync(dir), ['relay.redmanifest'])
  assert.equal(tempPathFor(target), path.join(dir, 'relay.tmp'))
  assert.equal(tempPathFor(path.join(dir, 'x.tmp')), path.join(dir, 'x.tmp.tmp'), 'never the target itself')
})

test('a failing producer leaves the old file and no temp file, with one line naming the target', async () => {
  const dir = await scratch.dir()
  const target = path.join(dir, 'data.rdb')
  writeFileSync(target, 'old')
  await assert.rejects(
    writeStreamAtomic(target, async (handle) => {
      await handle.write(Buffer.from('half'))
      throw Object.assign(new Error('boom'), {code: 'ENOSPC'})
    }),
    (error: unknown) => error instanceof RedreplError && error.message === `${target}: cannot write: no space left on device; nothing was changed`,
  )
  assert.equal(readFileSync(target, 'utf8'), 'old')
  assert.deepEqual(readdirSync(dir), ['data.rdb'])
  await assert.rejects(writeFileAtomic(path.join(dir, 'missing', 'x.redslots'), 'x'), RedreplError)
})

test('contained paths stay under their directory, symlinked or not', async () => {
  const dir = await scratch.dir()
  mkdirSync(path.join(dir, 'parts'))
  assert.equal(await resolveContained(dir, 'parts/00.redchunk'), path.join(dir, 'parts', '00.redchunk'))
  await assert.rejects(resolveContained(dir, '../escape'), /must not leave its directory/)
  await assert.rejects(resolveContained(dir, '/etc/passwd'), /must be relative/)
  await assert.rejects(resolveContained(dir, 'parts/a\0b'), /NUL/)
})
