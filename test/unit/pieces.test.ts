import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {test} from 'node:test'

import {Chunker, findCut, MAX_PIECE_BYTES, MIN_PIECE_BYTES} from '../../src/core/codec/cdc.js'
import {crc32} from '../../src/core/codec/crc.js'
import {decodePieceIndex, encodePieceIndex, type PieceIndex} from '../../src/core/format/piece-index.js'
import {FormatError} from '../../src/core/errors.js'

const MiB = 1024 * 1024

/** Every cut of `bytes`, fed to the Chunker in pieces of `feed` bytes. */
async function cutsOf(bytes: Uint8Array, feed: number): Promise<number[]> {
  const cuts: number[] = []
  let at = 0
  const chunker = new Chunker(async (piece) => {
    at += piece.length
    cuts.push(at)
  })
  for (let i = 0; i < bytes.length; i += feed) await chunker.push(bytes.subarray(i, i + feed))
  await chunker.finish()
  return cuts
}

test('cuts fall where the content says: the same whatever sizes the stream comes in, and every piece but the last within 512 KiB..4 MiB', async () => {
  const bytes = randomBytes(12 * MiB)
  const whole = await cutsOf(bytes, bytes.length)
  assert.deepEqual(await cutsOf(bytes, 7777), whole)
  assert.deepEqual(await cutsOf(bytes, 1 * MiB), whole)
  assert.equal(whole.at(-1), bytes.length)
  const sizes = whole.map((cut, i) => cut - (i === 0 ? 0 : whole[i - 1]))
  for (const size of sizes.slice(0, -1)) assert.ok(size > MIN_PIECE_BYTES && size <= MAX_PIECE_BYTES, `piece of ${size} bytes`)
  assert.ok(sizes.length >= 4, `${sizes.length} pieces in 12 MiB`)
})

test('1 KiB inserted moves the cuts after it by 1 KiB, from the first cut past the insert on', async () => {
  const bytes = randomBytes(12 * MiB)
  const at = 5 * MiB
  const inserted = Buffer.concat([bytes.subarray(0, at), randomBytes(1024), bytes.subarray(at)])
  const before = await cutsOf(bytes, bytes.length)
  const after = await cutsOf(inserted, inserted.length)
  assert.deepEqual(after.filter((cut) => cut <= at), before.filter((cut) => cut <= at), 'the cuts before the insert stay')
  // Past the first cut after the insert, every cut is the old one shifted.
  const later = before.filter((cut) => cut > at + MAX_PIECE_BYTES)
  assert.ok(later.length >= 1)
  for (const cut of later) assert.ok(after.includes(cut + 1024), `cut ${cut} moved to ${cut + 1024}`)
})

test('a run of one byte value is cut at 4 MiB; a stream shorter than the smallest piece is one piece; an empty one none', async () => {
  assert.deepEqual(await cutsOf(new Uint8Array(9 * MiB), 1 * MiB), [4 * MiB, 8 * MiB, 9 * MiB])
  assert.deepEqual(await cutsOf(randomBytes(1000), 100), [1000])
  assert.deepEqual(await cutsOf(new Uint8Array(0), 1), [])
  assert.equal(findCut(new Uint8Array(10), 0, 10, false), -1, 'more bytes are needed to decide')
})

const sample = (): PieceIndex => {
  const pieces = [MIN_PIECE_BYTES + 5, 3 * MiB, 17].map((bytes, i) => ({sha256: crc32(new Uint8Array([i])).toString(16).padStart(8, '0').repeat(8), bytes}))
  return {snapshot_bytes: BigInt(pieces.reduce((sum, p) => sum + p.bytes, 0)), pieces}
}

test('a piece index round-trips, and every flipped byte, cut or lie in it is refused', () => {
  const index = sample()
  const bytes = encodePieceIndex(index)
  assert.deepEqual(decodePieceIndex(bytes), index)
  for (let i = 0; i < bytes.length; i++) {
    const flipped = Uint8Array.from(bytes)
    flipped[i] ^= 0x10
    assert.throws(() => decodePieceIndex(flipped), FormatError, `byte ${i}`)
  }
  assert.throws(() => decodePieceIndex(bytes.subarray(0, bytes.length - 1)), FormatError)
  assert.throws(() => encodePieceIndex({...index, snapshot_bytes: index.snapshot_bytes + 1n}), /add up to/)
  assert.throws(() => encodePieceIndex({...index, pieces: [{sha256: 'ab', bytes: 1}]}), /64 lowercase hex/)
  assert.throws(() => encodePieceIndex({snapshot_bytes: BigInt(MAX_PIECE_BYTES + 1), pieces: [{sha256: 'a'.repeat(64), bytes: MAX_PIECE_BYTES + 1}]}), /outside/)
})
