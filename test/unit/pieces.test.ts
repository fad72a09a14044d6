import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {test} from 'node:test'

import {Chunker, findCut, MAX_PIECE_BYTES, MIN_PIECE_BYTES} from '../../src/core/codec/cdc.js'
import {crc32} from '../../src/core/codec/crc.js'
import {decodePieceIndex, encodePieceIndex, type PieceIndex} from '../../src/core/format/piece-index.js'
import {decodePack, encodePack, encodePackEntries, MAX_PACK_BYTES, PACK_DATA_BYTES, PACK_HEADER_BYTES, sealPackInPlace} from '../../src/core/format/pack.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {MemoryBackend} from '../../src/core/repo/memory.js'
import {PieceLookup, readPieces, storePieces} from '../../src/core/repo/pieces.js'
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

test('cuts fall where the content says: the same whatever sizes the stream comes in, and every piece but the last within 8 KiB..128 KiB', async () => {
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

test('a run of one byte value is cut at 128 KiB; a stream shorter than the smallest piece is one piece; an empty one none', async () => {
  assert.equal(MAX_PIECE_BYTES, 128 * 1024)
  assert.deepEqual(await cutsOf(new Uint8Array(2 * MAX_PIECE_BYTES + 1000), 100_000), [MAX_PIECE_BYTES, 2 * MAX_PIECE_BYTES, 2 * MAX_PIECE_BYTES + 1000])
  assert.deepEqual(await cutsOf(randomBytes(1000), 100), [1000])
  assert.deepEqual(await cutsOf(new Uint8Array(0), 1), [])
  assert.equal(findCut(new Uint8Array(10), 0, 10, false), -1, 'more bytes are needed to decide')
})

const sample = (): PieceIndex => {
  const pieces = [MIN_PIECE_BYTES + 5, 3 * MiB, 17].map((bytes, i) => ({sha256: crc32(new Uint8Array([i])).toString(16).padStart(8, '0').repeat(8), bytes}))
  return {snapshot_bytes: BigInt(pieces.reduce((sum, p) => sum + p.bytes, 0)), pieces}
}

test('a piece index of the release before packs (version 1) round-trips, and every flipped byte, cut or lie in it is refused', () => {
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
  assert.throws(() => encodePieceIndex({snapshot_bytes: BigInt(4 * MiB + 1), pieces: [{sha256: 'a'.repeat(64), bytes: 4 * MiB + 1}]}), /outside/)
  assert.equal(Buffer.from(bytes.subarray(8, 10)).readUInt16LE(0), 1, 'written as version 1')
})

const packedSample = (): PieceIndex => {
  const packA = 'a'.repeat(64)
  const packB = 'b'.repeat(64)
  const pieces = [
    {sha256: '1'.repeat(64), bytes: MIN_PIECE_BYTES + 5, pack: {sha256: packA, offset: PACK_HEADER_BYTES}},
    {sha256: '2'.repeat(64), bytes: MAX_PIECE_BYTES, pack: {sha256: packB, offset: PACK_HEADER_BYTES + 70_000}},
    {sha256: '1'.repeat(64), bytes: MIN_PIECE_BYTES + 5, pack: {sha256: packA, offset: PACK_HEADER_BYTES}},
    {sha256: '3'.repeat(64), bytes: 17, pack: {sha256: packA, offset: PACK_HEADER_BYTES + MIN_PIECE_BYTES + 5}},
  ]
  return {snapshot_bytes: BigInt(pieces.reduce((sum, p) => sum + p.bytes, 0)), pieces}
}

test('a piece index naming packs (version 2) round-trips, and every flipped byte, cut or lie in it is refused', () => {
  const index = packedSample()
  const bytes = encodePieceIndex(index)
  assert.deepEqual(decodePieceIndex(bytes), index)
  assert.equal(Buffer.from(bytes.subarray(8, 10)).readUInt16LE(0), 2, 'written as version 2')
  assert.equal(bytes.length, 8 + 2 + 8 + 4 + 2 * 32 + 4 + 4 * 44 + 4, 'each pack named once, 44 bytes a piece')
  for (let i = 0; i < bytes.length; i++) {
    const flipped = Uint8Array.from(bytes)
    flipped[i] ^= 0x10
    assert.throws(() => decodePieceIndex(flipped), FormatError, `byte ${i}`)
  }
  for (let cut = 0; cut < bytes.length; cut += 7) assert.throws(() => decodePieceIndex(bytes.subarray(0, cut)), FormatError, `cut at ${cut}`)
  const [first, ...rest] = index.pieces
  assert.throws(() => encodePieceIndex({...index, pieces: [{sha256: first.sha256, bytes: first.bytes}, ...rest]}), /every piece is in a pack, or none/)
  assert.throws(() => encodePieceIndex({snapshot_bytes: BigInt(MAX_PIECE_BYTES + 1), pieces: [{...first, bytes: MAX_PIECE_BYTES + 1}]}), /outside/)
  assert.throws(() => encodePieceIndex({...index, pieces: [{...first, pack: {sha256: first.pack!.sha256, offset: PACK_HEADER_BYTES + PACK_DATA_BYTES - 10}}, ...rest]}), /inside a pack/)
  assert.throws(() => encodePieceIndex({...index, pieces: [{...first, pack: {sha256: first.pack!.sha256, offset: 3}}, ...rest]}), /inside a pack/)
})

test('a pack round-trips; every flipped byte, cut, or piece that is not what its trailer says is refused', () => {
  const pieces = [randomBytes(MIN_PIECE_BYTES), randomBytes(1), randomBytes(5000)]
  const pack = encodePack(pieces)
  assert.equal(pack.sha256, createHash('sha256').update(pack.bytes).digest('hex'))
  const decoded = decodePack(pack.bytes)
  assert.deepEqual(decoded.entries, pack.entries)
  for (const [i, entry] of decoded.entries.entries()) assert.deepEqual(Buffer.from(pack.bytes.subarray(entry.offset, entry.offset + entry.bytes)), pieces[i])
  for (let i = 0; i < pack.bytes.length; i += i < 64 || i > pack.bytes.length - 200 ? 1 : 997) {
    const flipped = Uint8Array.from(pack.bytes)
    flipped[i] ^= 0x01
    assert.throws(() => decodePack(flipped), FormatError, `byte ${i}`)
  }
  for (let cut = 0; cut < pack.bytes.length; cut += 1013) assert.throws(() => decodePack(pack.bytes.subarray(0, cut)), FormatError, `cut at ${cut}`)
  // A piece whose bytes are not its digest's, in a pack whose CRC is right (a writer's bug, not damage): refused all the same.
  const lying = encodePackEntries(pieces, pack.entries.map((e, i) => (i === 1 ? {...e, sha256: 'f'.repeat(64)} : e)))
  assert.throws(() => decodePack(lying.bytes), /piece 1 .* does not match its SHA-256/)
  assert.throws(() => encodePackEntries(pieces, pack.entries.map((e, i) => (i === 2 ? {...e, offset: e.offset + 1} : e))), /offset/)
  assert.deepEqual(decodePack(encodePack([]).bytes).entries, [], 'an empty pack reads (no writer stores one)')
})

test('a pack sealed where its pieces lie is the bytes encodePack makes, and its crc is the CRC-32 of all of them', () => {
  const pieces = [randomBytes(9000), randomBytes(1), randomBytes(70_000)]
  const made = encodePack(pieces)
  const buffer = new Uint8Array(MAX_PACK_BYTES).fill(0xa5)
  let at = PACK_HEADER_BYTES
  for (const piece of pieces) {
    buffer.set(piece, at)
    at += piece.length
  }
  const sealed = sealPackInPlace(buffer, at - PACK_HEADER_BYTES, made.entries)
  assert.deepEqual(Buffer.from(sealed.bytes), Buffer.from(made.bytes))
  assert.equal(sealed.sha256, made.sha256)
  assert.equal(sealed.crc, crc32(made.bytes))
  assert.equal(sealed.bytes.buffer, buffer.buffer, 'the pack is the front of the buffer, not a copy')
  assert.throws(() => sealPackInPlace(new Uint8Array(100), at - PACK_HEADER_BYTES, made.entries), /does not fit/)
})

async function gather(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of stream) parts.push(Buffer.from(part))
  return Buffer.concat(parts)
}

test('a push of several packs, each pack buffer filled again once its put settled, stores every pack whole under its name and CRC, and reads back the same bytes', async () => {
  const snapshot = randomBytes(3 * PACK_DATA_BYTES + 5 * MiB)
  const backend = new MemoryBackend()
  const keys = new RepoKeys('db1')
  async function* feed(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < snapshot.length; at += MiB) yield snapshot.subarray(at, at + MiB)
  }
  const stored = await storePieces(backend, keys, feed(), {jobs: 4, lookup: new PieceLookup(), packListed: () => undefined})
  assert.equal(stored.packs_uploaded, 4)
  for await (const object of backend.list(keys.packsPrefix)) {
    const bytes = await gather(backend.get(object.key))
    assert.equal(keys.pack(createHash('sha256').update(bytes).digest('hex')), object.key)
    assert.equal(await backend.checksum(object.key), crc32(bytes))
    decodePack(bytes)
  }
  const back = await gather(readPieces(backend, keys, stored.index.pieces))
  assert.ok(back.equals(snapshot))
})

test('a piece read back from its pack, whole in one read or split across two, is handed on only once its SHA-256 checks: a flipped byte stops the read before any byte of its piece', async () => {
  const snapshot = randomBytes(3 * MiB)
  const backend = new MemoryBackend()
  const keys = new RepoKeys('db1')
  const stored = await storePieces(backend, keys, (async function* () {
    yield snapshot
  })(), {jobs: 1, lookup: new PieceLookup(), packListed: () => undefined})
  const refs = stored.index.pieces
  const packKey = keys.pack(refs[0].pack!.sha256)
  const pack = await gather(backend.get(packKey))
  // The memory store reads 64 KiB at a time: one piece lies whole inside one read, the other across the end of one.
  const read = 64 * 1024
  const whole = refs.findIndex((ref) => ref.pack!.offset > read && Math.floor(ref.pack!.offset / read) === Math.floor((ref.pack!.offset + ref.bytes - 1) / read))
  const split = refs.findIndex((ref) => ref.pack!.offset < MiB && ref.pack!.offset + ref.bytes > MiB)
  assert.ok(whole > 0 && split > 0 && split !== whole)
  for (const [i, at] of [[whole, refs[whole].pack!.offset + 7], [split, MiB + 3]]) {
    const damaged = Buffer.from(pack)
    damaged[at] ^= 1
    await backend.put(packKey, async function* () {
      yield damaged
    }, {size: BigInt(damaged.length), checksum: crc32(damaged)})
    let handed = 0
    await assert.rejects(async () => {
      for await (const bytes of readPieces(backend, keys, refs)) {
        assert.ok(Buffer.from(bytes).equals(snapshot.subarray(handed, handed + bytes.length)))
        handed += bytes.length
      }
    }, (error: Error) => error instanceof FormatError && error.message.includes(packKey) && /does not match its SHA-256/.test(error.message))
    assert.equal(handed, refs[i].pack!.offset - PACK_HEADER_BYTES, 'every piece before the damaged one, none of it')
  }
})
