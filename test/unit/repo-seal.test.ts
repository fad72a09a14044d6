import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {test} from 'node:test'

import {decodeConfig, encodeConfig, newEncryptedConfig, unwrapKey, wrapKey, type EncryptedConfig, type Secret} from '../../src/core/repo/repo-config.js'
import {HEADER_BYTES, logicalSize, openStream, sealedSize, sealStream, SEAL_FRAME_BYTES, TAG_BYTES, type SealKey} from '../../src/core/repo/seal.js'

/** The sealed-object format and the config object: what a changed, moved, cut or foreign byte does. */

const FRAME = 4096
const seal: SealKey = {key: randomBytes(32), id: randomBytes(8), frameBytes: FRAME}

async function* pieces(bytes: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
  if (bytes.length === 0) yield bytes
}
async function gather(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const piece of source) out.push(Buffer.from(piece))
  return Buffer.concat(out)
}
const sealed = (plain: Buffer, key = 'db1/wal/0.redwal', with_ = seal) => gather(sealStream(pieces(plain), with_, key))
const opened = (stored: Buffer, key = 'db1/wal/0.redwal', with_ = seal) => gather(openStream(pieces(stored, 777), with_, key, `repo/${key}`))
const isCorrupt = (error: any) => error.kind === 'corrupt' && error.message.startsWith('repo/db1/wal/0.redwal: sealed object ')

test('sealed objects round-trip at every size around a frame, and their stored size tells the logical one', async () => {
  for (const size of [0, 1, FRAME - 1, FRAME, FRAME + 1, 2 * FRAME, 3 * FRAME + 5]) {
    const plain = randomBytes(size)
    const stored = await sealed(plain)
    assert.equal(BigInt(stored.length), sealedSize(BigInt(size), FRAME), `${size}`)
    assert.equal(logicalSize(BigInt(stored.length), FRAME), BigInt(size))
    assert.deepEqual(await opened(stored), plain)
  }
  assert.equal(logicalSize(BigInt(HEADER_BYTES + TAG_BYTES - 1), FRAME), null)
  assert.equal(logicalSize(BigInt(HEADER_BYTES + FRAME + TAG_BYTES + 1), FRAME), null, 'a second frame shorter than its tag')
})

test('a bit flipped anywhere in a sealed object (header, any frame, any tag) is refused as corrupt', async () => {
  const plain = randomBytes(2 * FRAME + 100)
  const stored = await sealed(plain)
  for (let at = 0; at < stored.length; at++) {
    const copy = Buffer.from(stored)
    copy[at] ^= 1 << at % 8
    await assert.rejects(opened(copy), isCorrupt, `bit flipped at byte ${at}`)
  }
})

test('frames reordered, dropped, added or taken from another object are refused; nothing of a failing frame is given out', async () => {
  const plain = randomBytes(3 * FRAME + 10)
  const stored = await sealed(plain)
  const step = FRAME + TAG_BYTES
  const frame = (bytes: Buffer, i: number) => bytes.subarray(HEADER_BYTES + i * step, HEADER_BYTES + (i + 1) * step)
  const head = stored.subarray(0, HEADER_BYTES)
  const swapped = Buffer.concat([head, frame(stored, 1), frame(stored, 0), stored.subarray(HEADER_BYTES + 2 * step)])
  await assert.rejects(opened(swapped), isCorrupt, 'frames 0 and 1 swapped')
  await assert.rejects(opened(stored.subarray(0, HEADER_BYTES + 3 * step)), isCorrupt, 'the last frame dropped at a frame boundary')
  await assert.rejects(opened(stored.subarray(0, HEADER_BYTES + step)), isCorrupt, 'all but the first frame dropped')
  await assert.rejects(opened(Buffer.concat([stored, frame(stored, 0)])), isCorrupt, 'a frame appended')
  // The same plaintext sealed again under another key: its frames are not this object's.
  const other = await sealed(plain, 'db1/wal/1.redwal')
  const mixed = Buffer.concat([head, frame(other, 0), stored.subarray(HEADER_BYTES + step)])
  await assert.rejects(opened(mixed), isCorrupt, 'frame 0 from another object')
  await assert.rejects(opened(other), isCorrupt, 'a whole object stored under another key')
  await assert.rejects(opened(Buffer.concat([other.subarray(0, HEADER_BYTES), stored.subarray(HEADER_BYTES)])), isCorrupt, 'another object\'s header')
  const foreign = {...seal, key: randomBytes(32), id: randomBytes(8)}
  await assert.rejects(opened(await sealed(plain, 'db1/wal/0.redwal', foreign)), (e: any) => isCorrupt(e) && /is sealed with data key [0-9a-f]{16}, not this repository's/.test(e.message))
  await assert.rejects(opened(Buffer.from(plain)), (e: any) => isCorrupt(e) && /no sealed-object header/.test(e.message), 'an unencrypted object')
  // A damaged third frame: what came out before it is exactly the first two frames' plaintext.
  const damaged = Buffer.from(stored)
  damaged[HEADER_BYTES + 2 * step + 5] ^= 0xff
  const out: Buffer[] = []
  await assert.rejects(async () => {
    for await (const piece of openStream(pieces(damaged), seal, 'db1/wal/0.redwal', 'repo/db1/wal/0.redwal')) out.push(Buffer.from(piece))
  }, isCorrupt)
  assert.deepEqual(Buffer.concat(out), plain.subarray(0, 2 * FRAME))
})

test('sealing and opening a large object holds a frame at a time', async () => {
  const big: SealKey = {...seal, frameBytes: SEAL_FRAME_BYTES}
  const total = 192 * 1024 * 1024
  const piece = randomBytes(256 * 1024)
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < total; at += piece.length) yield piece
  }
  globalThis.gc?.()
  const before = process.memoryUsage()
  let peak = 0
  let seen = 0
  for await (const out of openStream(sealStream(source(), big, 'k'), big, 'k', 'k')) {
    seen += out.length
    if (seen % (16 << 20) < out.length) peak = Math.max(peak, process.memoryUsage().rss - before.rss)
  }
  assert.equal(seen, total)
  console.log(`# RSS grew by ${(peak / 2 ** 20).toFixed(1)} MiB while sealing and opening ${total / 2 ** 20} MiB`)
  assert.ok(peak < 96 * 1024 * 1024, `RSS grew by ${(peak / 2 ** 20).toFixed(1)} MiB for a ${total / 2 ** 20} MiB object`)
})

const pass = (text: string): Secret => ({kind: 'passphrase', passphrase: Buffer.from(text), source: `passphrase ${text}`})

test('the config object: any flipped bit is damage (corrupt), a wrong key is refused, and a key added opens the same data key', async () => {
  const config = await newEncryptedConfig(pass('right'), 1n, 15)
  const bytes = encodeConfig(config)
  assert.deepEqual(decodeConfig(bytes), config)
  for (let at = 0; at < bytes.length; at++) {
    const copy = Buffer.from(bytes)
    copy[at] ^= 1 << at % 8
    assert.throws(() => decodeConfig(copy), (e: any) => e.kind === 'corrupt', `bit flipped at byte ${at}`)
  }
  const first = await unwrapKey(config, pass('right'), 'cfg')
  await assert.rejects(unwrapKey(config, pass('wrong'), 'cfg'), (e: any) => e.kind === 'refused' && /^cfg: wrong key: passphrase wrong opens none/.test(e.message))
  const file: Secret = {kind: 'key-file', key: randomBytes(32), source: 'key file k'}
  await assert.rejects(unwrapKey(config, file, 'cfg'), (e: any) => e.kind === 'refused' && /has no key-file key/.test(e.message))
  const added: EncryptedConfig = {...config, keys: [...config.keys, await wrapKey(first.seal.key, config.data_key_id, file, 2n)]}
  const second = await unwrapKey(decodeConfig(encodeConfig(added)) as EncryptedConfig, file, 'cfg')
  assert.deepEqual(second.seal.key, first.seal.key)
  // A wrapped key moved to another entry (its fields bound by the wrap) opens nothing.
  const moved: EncryptedConfig = {...added, keys: [added.keys[0], {...added.keys[1], key_id: 'ffffffffffffffff'}]}
  await assert.rejects(unwrapKey(moved, file, 'cfg'), (e: any) => e.kind === 'refused')
})
