import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {appendFileSync} from 'node:fs'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {LocalBackend} from '../../src/core/repo/local.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()
const MiB = 1024 * 1024

async function storeOne(bytes: Uint8Array): Promise<{backend: LocalBackend; key: string}> {
  const backend = await LocalBackend.open(await scratch.dir('redrepl-local-read-'), 'repo')
  const key = 'n/pieces/ab/object'
  await backend.put(key, async function* () {
    yield bytes
  }, {size: BigInt(bytes.length), checksum: crc32(bytes)})
  await backend.flush()
  return {backend, key}
}

test('a directory store reads an object into buffers the reader may keep, each its own and sized to the bytes it holds', async () => {
  const bytes = randomBytes(2 * MiB + MiB / 2 + 3)
  const {backend, key} = await storeOne(bytes)
  const pieces: Uint8Array[] = []
  for await (const piece of backend.get(key)) pieces.push(piece)
  assert.deepEqual(Buffer.concat(pieces), bytes)
  // Kept pieces are not overwritten by later reads: each has its own memory.
  assert.equal(new Set(pieces.map((piece) => piece.buffer)).size, pieces.length)
  const allocated = pieces.reduce((sum, piece) => sum + piece.buffer.byteLength, 0)
  assert.equal(allocated, bytes.length, `${allocated} bytes allocated for ${bytes.length} read`)
})

test('a directory store reads what an object holds when read, past the size it had when opened', async () => {
  const bytes = randomBytes(MiB + 10)
  const {backend, key} = await storeOne(bytes)
  const more = randomBytes(1000)
  const pieces: Uint8Array[] = []
  for await (const piece of backend.get(key)) {
    if (pieces.length === 0) appendFileSync(backend.localFile(key), more)
    pieces.push(piece)
  }
  // The callers hold a read to the listed size (repo/integrity.ts): a store never hides what a file holds.
  assert.deepEqual(Buffer.concat(pieces), Buffer.concat([bytes, more]))
})
