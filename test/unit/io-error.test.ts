import assert from 'node:assert/strict'
import {symlinkSync} from 'node:fs'
import {mkdtemp, realpath} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {absentAsUndefined} from '../../src/core/fs/io-error.js'

test('absentAsUndefined: a missing file is undefined, a loop of links is an error naming the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-io-'))
  const gone = path.join(dir, 'gone')
  assert.equal(await realpath(gone).catch(absentAsUndefined('resolve', gone)), undefined)
  const loop = path.join(dir, 'loop')
  symlinkSync(loop, loop)
  await assert.rejects(realpath(loop).catch(absentAsUndefined('resolve', loop)), (error: RedreplError) => error instanceof RedreplError && error.message.startsWith(`${loop}: cannot resolve: `) && error.code === 'io.ELOOP')
})
