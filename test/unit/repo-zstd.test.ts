import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import {FRAME_BYTES, frameExtent, nativeZstd, zstdCompress, zstdDecompress, type ZstdEngine} from '../../src/core/repo/zstd.js'

/** The zstd objects of every Node: standard frames that the zstd tool, the package and Node's zlib all read. */

const hasCli = (() => {
  try {
    execFileSync('zstd', ['--version'])
    return true
  } catch {
    return false
  }
})()
const ENGINES: ZstdEngine[] = nativeZstd() ? ['native', 'package'] : ['package']

async function* pieces(bytes: Buffer, size = 65_536): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}
async function gather(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const piece of source) out.push(Buffer.from(piece))
  return Buffer.concat(out)
}
/** Text, zeros and random bytes: what a data file holds, compressible in parts. */
function mixed(size: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let at = 0; at < size; at += 8192) {
    const kind = (at / 8192) % 3
    if (kind === 0) bytes.write(`row ${at} name=alpha value=${at * 7} `.repeat(200), at)
    else if (kind === 2) randomBytes(Math.min(8192, size - at)).copy(bytes, at)
  }
  return bytes
}
/** The frames a stream holds, by walking their headers. */
function frameCount(stream: Buffer): number {
  let count = 0
  for (let at = 0; at < stream.length; count++) at += frameExtent(stream.subarray(at), (p) => new Error(p))!.bytes
  return count
}

const SIZES = [0, 1, FRAME_BYTES, 2 * FRAME_BYTES + 17]

for (const writer of ENGINES) for (const reader of ENGINES) {
  test(`zstd written by ${writer} reads back byte-identical through ${reader}, in frames of at most ${FRAME_BYTES} bytes`, async () => {
    for (const size of SIZES) {
      const input = mixed(size)
      const stored = await gather(zstdCompress(pieces(input), 3, writer))
      assert.equal(frameCount(stored), Math.max(1, Math.ceil(size / FRAME_BYTES)), `${size} bytes`)
      assert.deepEqual(await gather(zstdDecompress(pieces(stored, 1000), 'obj', reader)), input, `${size} bytes`)
    }
  })
}

test('the zstd tool reads what the package writes, and the package reads what the tool writes', {skip: !hasCli && 'no zstd tool'}, async () => {
  const input = mixed(FRAME_BYTES + 300_000)
  const stored = await gather(zstdCompress(pieces(input), 19, 'package'))
  assert.deepEqual(execFileSync('zstd', ['-d', '-c', '-q'], {input: stored, maxBuffer: 64 << 20}), input)
  // The tool's own frames, two of them concatenated, one written from a pipe (no content size in its header).
  const one = execFileSync('zstd', ['-c', '-q', '-3'], {input: input.subarray(0, 1_000_000)})
  const two = execFileSync('sh', ['-c', 'cat | zstd -c -q --no-content-size'], {input: input.subarray(1_000_000, 3_000_000)})
  const read = await gather(zstdDecompress(pieces(Buffer.concat([one, two]), 4096), 'obj', 'package'))
  assert.deepEqual(read, input.subarray(0, 3_000_000))
})

test('a frame that states more content than a frame may hold is refused before it is held', {skip: !hasCli && 'no zstd tool'}, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redrepl-zstd-'))
  writeFileSync(path.join(dir, 'big'), Buffer.alloc(FRAME_BYTES + 1))
  const big = execFileSync('zstd', ['-c', '-q', '-1', path.join(dir, 'big')])
  rmSync(dir, {recursive: true})
  await assert.rejects(gather(zstdDecompress(pieces(big), 'wal/big.zst', 'package')), (error: any) => error.kind === 'corrupt' && /^wal\/big\.zst: cannot decompress \(zstd\): a frame of 4194305 bytes, more than the 4194304/.test(error.message))
  // Without a content size in its header, the frame is refused once its content outgrows the frame bound.
  const unsized = execFileSync('sh', ['-c', 'cat | zstd -c -q -1 --no-content-size'], {input: Buffer.alloc(FRAME_BYTES + 1)})
  await assert.rejects(gather(zstdDecompress(pieces(unsized), 'wal/big.zst', 'package')), (error: any) => error.kind === 'corrupt' && /^wal\/big\.zst: cannot decompress \(zstd\): frame 1 holds more than 4194304 bytes/.test(error.message))
})

for (const engine of ENGINES) {
  test(`${engine}: a damaged or cut-short zstd object fails as corrupt naming it, never as short good bytes`, async () => {
    const input = mixed(FRAME_BYTES + 100_000)
    const stored = await gather(zstdCompress(pieces(input), 3, 'package'))
    for (const at of [0, stored.length >> 1, stored.length - 1]) {
      const flipped = Buffer.from(stored)
      flipped[at] ^= 0x10
      // A flipped bit may still decode (zstd checks no CRC by default): then the bytes differ, which the caller's RedDB CRC catches.
      const outcome = await gather(zstdDecompress(pieces(flipped), 'obj', engine)).then(
        (bytes) => (bytes.equals(input) ? 'same' : 'different'),
        (error) => (error.kind === 'corrupt' && /^obj: cannot decompress \(zstd\)/.test(error.message) ? 'corrupt' : error),
      )
      assert.notEqual(outcome, 'same', `bit flipped at ${at}`)
      assert.ok(outcome === 'corrupt' || outcome === 'different', String(outcome))
    }
    for (const keep of [0, 3, 100, stored.length - 1]) {
      await assert.rejects(gather(zstdDecompress(pieces(stored.subarray(0, keep)), 'obj', engine)), (error: any) => error.kind === 'corrupt', `cut to ${keep}`)
    }
  })
}
