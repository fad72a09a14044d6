import assert from 'node:assert/strict'
import {closeSync, openSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {FormatError, RedreplError} from '../../src/core/errors.js'
import {BufferStock, PieceReader, pumpRange} from '../../src/core/fs/stream.js'
import type {BasebackupManifest} from '../../src/core/model.js'
import {FileChunkSource, streamVerifiedChunks} from '../../src/core/ops/basebackup/chunks.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

const bytesOf = (length: number) => Buffer.from(Uint8Array.from({length}, (_, i) => (i * 7 + i / 251 + 3) & 0xff))

/** Small buffers share Node's slab: the same memory is the same slab at the same offset. */
const sameMemory = (x: Uint8Array, y: Uint8Array) => x.buffer === y.buffer && x.byteOffset === y.byteOffset

async function withFile(bytes: Uint8Array, use: (fd: number, file: string) => Promise<void>): Promise<void> {
  const file = path.join(await scratch.dir('stream-'), 'f')
  writeFileSync(file, bytes)
  const fd = openSync(file, 'r')
  try {
    await use(fd, file)
  } finally {
    closeSync(fd)
  }
}

test('a range comes out whole, cut at the piece size, and no held piece is overwritten by a later read', async () => {
  const bytes = bytesOf(5300)
  await withFile(bytes, async (fd) => {
    // The consumer holds its last two pieces, as many as three buffers allow.
    const reader = new PieceReader({pieceBytes: 1000, buffers: 3})
    const held: Array<{piece: Uint8Array; at: number}> = []
    const lengths: number[] = []
    let at = 100
    for await (const piece of reader.pieces(fd, {offset: 100n, length: 5100n})) {
      held.push({piece, at})
      lengths.push(piece.length)
      at += piece.length
      if (held.length > 2) held.shift()
      for (const h of held) assert.deepEqual(Buffer.from(h.piece), bytes.subarray(h.at, h.at + h.piece.length), `piece at ${h.at}`)
    }
    assert.deepEqual(lengths, [1000, 1000, 1000, 1000, 1000, 100])
    // The ring goes on across calls: pieces of the previous range still held stay intact.
    for await (const piece of reader.pieces(fd, {length: 1000n})) {
      assert.deepEqual(Buffer.from(piece), bytes.subarray(0, 1000))
      for (const h of held) assert.deepEqual(Buffer.from(h.piece), bytes.subarray(h.at, h.at + h.piece.length), `piece at ${h.at}`)
    }
  })
})

test('pumpRange keeps `depth` pieces in flight, each intact until its handler is done', async () => {
  const bytes = bytesOf(4500)
  await withFile(bytes, async (fd) => {
    const handle = {fd} as Parameters<typeof pumpRange>[0]
    const seen: Buffer[] = []
    let inFlight = 0
    let most = 0
    await pumpRange(handle, 0n, 4500n, async (piece) => {
      const copy = Buffer.from(piece)
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((resolve) => setTimeout(resolve, 5))
      assert.deepEqual(Buffer.from(piece), copy, 'a piece changed while its handler held it')
      seen.push(copy)
      inFlight--
    }, {pieceBytes: 1000, depth: 2})
    assert.equal(most, 2)
    assert.deepEqual(Buffer.concat(seen), bytes)
  })
})

test('a file shorter than its range ends with an error naming the byte where it ran out', async () => {
  await withFile(bytesOf(2500), async (fd, file) => {
    const handle = {fd} as Parameters<typeof pumpRange>[0]
    await assert.rejects(pumpRange(handle, 500n, 3000n, () => {}, {pieceBytes: 1000}), (error: unknown) => {
      assert.ok(error instanceof FormatError)
      assert.equal(error.file, undefined)
      assert.equal(error.message, 'file ends at byte 2500, before the 3000 bytes from 500 it should hold')
      return true
    })
    const short = (at: bigint) => new FormatError(`ends at byte ${at}, shorter than the manifest says`, file)
    const pieces = new PieceReader({pieceBytes: 1000}).pieces(fd, {length: 4000n, file, short})
    await assert.rejects(async () => {
      for await (const _ of pieces);
    }, {message: `${file}: ends at byte 2500, shorter than the manifest says`})
  })
})

test('without a length the pieces run to the end of the file; an empty range yields one empty piece only when asked', async () => {
  const bytes = bytesOf(2500)
  await withFile(bytes, async (fd) => {
    const lengths: number[] = []
    const all: Buffer[] = []
    for await (const piece of new PieceReader({pieceBytes: 1000, buffers: 1}).pieces(fd)) {
      lengths.push(piece.length)
      all.push(Buffer.from(piece))
    }
    assert.deepEqual(lengths, [1000, 1000, 500])
    assert.deepEqual(Buffer.concat(all), bytes)
    const count = async (range: Parameters<PieceReader['pieces']>[1]) => {
      const got: number[] = []
      for await (const piece of new PieceReader().pieces(fd, range)) got.push(piece.length)
      return got
    }
    assert.deepEqual(await count({length: 0n}), [])
    assert.deepEqual(await count({length: 0n, emptyPiece: true}), [0])
  })
})

test('readers in turn share a stock of buffers; readers at once each have their own', async () => {
  const bytes = bytesOf(1500)
  await withFile(bytes, async (fd) => {
    const stock = new BufferStock(1000)
    const first = new PieceReader({stock, buffers: 1})
    const a = first.pieces(fd)
    const pieceA = (await a.next()).value as Uint8Array
    const second = new PieceReader({stock, buffers: 1})
    const b = second.pieces(fd)
    const pieceB = (await b.next()).value as Uint8Array
    assert.ok(!sameMemory(pieceA, pieceB), 'two readers at once wrote into one buffer')
    assert.deepEqual(Buffer.from(pieceA), bytes.subarray(0, 1000))
    for await (const _ of a);
    for await (const _ of b);
    first.release()
    second.release()
    const third = new PieceReader({stock, buffers: 1})
    const pieceC = (await third.pieces(fd).next()).value as Uint8Array
    assert.ok(sameMemory(pieceC, pieceA) || sameMemory(pieceC, pieceB), 'a released buffer was not reused')
  })
})

test('an aborted signal stops before the next read; a failed read names the file, or keeps its errno when none is given', async () => {
  await withFile(bytesOf(3000), async (fd) => {
    const controller = new AbortController()
    const pieces = new PieceReader({pieceBytes: 1000, signal: controller.signal}).pieces(fd)
    assert.equal(((await pieces.next()).value as Uint8Array).length, 1000)
    controller.abort(new Error('stop'))
    await assert.rejects(pieces.next(), {message: 'stop'})
  })
  const dir = await scratch.dir('stream-dir-')
  const fd = openSync(dir, 'r')
  try {
    await assert.rejects(new PieceReader().pieces(fd, {file: dir}).next(), (error: unknown) => {
      assert.ok(error instanceof RedreplError)
      assert.equal(error.message, `${dir}: cannot read: is a directory`)
      return true
    })
    await assert.rejects(new PieceReader().pieces(fd).next(), {code: 'EISDIR'})
  } finally {
    closeSync(fd)
  }
})

test('the chunk source: pieces held in flight across chunks stay intact, and a chunk cut short names its file and byte', async () => {
  const dir = await scratch.dir('stream-chunks-')
  const chunks = [bytesOf(2_600_000), bytesOf(1_100_000).reverse()]
  const files = chunks.map((bytes, k) => {
    const file = path.join(dir, `${k}.redchunk`)
    writeFileSync(file, bytes)
    return file
  })
  const manifest = {
    chunks: chunks.map((bytes, k) => ({ordinal: k, snapshot_offset: 0n, bytes: BigInt(bytes.length), checksum: crc32(bytes), relative_path: `${k}.redchunk`})),
    snapshot_checksum: crc32(Buffer.concat(chunks)),
  } as unknown as BasebackupManifest
  const seen: Buffer[] = []
  await streamVerifiedChunks(path.join(dir, 'm'), manifest, async (piece) => {
    const copy = Buffer.from(piece)
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.deepEqual(Buffer.from(piece), copy, 'a piece changed while its handler held it')
    seen.push(copy)
  }, new FileChunkSource(path.join(dir, 'm'), undefined, async () => files))
  assert.deepEqual(Buffer.concat(seen), Buffer.concat(chunks))
  // The file shrinks after its size was checked: the read says where it ran out.
  truncateSync(files[1], 1000)
  await assert.rejects(streamVerifiedChunks(path.join(dir, 'm'), manifest, () => {}, new FileChunkSource(path.join(dir, 'm'), undefined, async () => files)), {
    message: `${files[1]}: ends at byte 1000, shorter than the manifest says`,
  })
})
