import zlib from 'node:zlib'

import {RefillBuffer} from '../codec/refill.js'
import {FormatError, refused} from '../errors.js'

/**
 * zstd on every Node redrepl supports. An object is stored as standard zstd
 * frames, one per FRAME_BYTES of input at most, each compressed whole and
 * carrying its content size, one after another: a valid zstd stream that the
 * `zstd` tool and Node's own zlib (22.15+) read as one. Writing frames of a
 * bounded size is what lets a Node without zstd in its zlib use a
 * whole-buffer compressor (the WebAssembly build in @bokuweb/zstd-wasm,
 * loaded on first use only) with memory bounded by one frame, not by the
 * object (a WAL segment can be 256 MiB). Node's zlib compresses each frame
 * when it has zstd, and reads any zstd stream as it comes; the package
 * reads frames of at most FRAME_BYTES and refuses a larger one (which only
 * another writer makes) rather than holding it whole.
 */

export const FRAME_BYTES = 4 * 1024 * 1024
/** A frame's compressed size never exceeds ZSTD_compressBound(FRAME_BYTES): the input plus 1/256 plus a margin. */
const MAX_COMPRESSED_FRAME = FRAME_BYTES + (FRAME_BYTES >> 8) + 1024
const FRAME_MAGIC = 0xfd2fb528
/** Skippable frames (0x184D2A50–0x184D2A5F) carry no content and are stepped over. */
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50

export const ZSTD_LEVELS = {min: 1, max: 19, default: 3} as const

type NativeZlib = typeof zlib & {
  createZstdDecompress?: () => import('node:stream').Transform
  zstdCompressSync?: (input: Uint8Array, options: {params: Record<number, number>}) => Buffer
  constants: typeof zlib.constants & {ZSTD_c_compressionLevel?: number; ZSTD_c_checksumFlag?: number}
}
const native = zlib as NativeZlib

/** Which implementation compresses and decompresses: Node's zlib where it has zstd, else the package. */
export type ZstdEngine = 'native' | 'package'

/** zstd is in Node's zlib from 22.15 (and 23.8) on. */
export function nativeZstd(): boolean {
  return typeof native.zstdCompressSync === 'function' && typeof native.createZstdDecompress === 'function' && native.constants.ZSTD_c_compressionLevel !== undefined
}

export function defaultEngine(): ZstdEngine {
  return nativeZstd() ? 'native' : 'package'
}

interface WasmZstd {
  compress(input: Uint8Array, level?: number): Uint8Array
  decompress(input: Uint8Array, options?: {defaultHeapSize: number}): Uint8Array
}
let wasm: Promise<WasmZstd> | undefined

/** The package, loaded and initialised once, on the first object that needs it. */
function loadPackage(): Promise<WasmZstd> {
  wasm ??= (async () => {
    let module: {init(): Promise<void>} & WasmZstd
    try {
      module = (await import('@bokuweb/zstd-wasm')) as unknown as typeof module
    } catch (error) {
      wasm = undefined
      throw refused(`zstd: this Node (${process.version}) has no zstd in its zlib, and the package @bokuweb/zstd-wasm cannot be loaded (${(error as Error).message})`)
    }
    await module.init()
    return module
  })()
  return wasm
}

/** Compresses a stream into frames of at most FRAME_BYTES of input each, holding one frame at a time. */
export async function* zstdCompress(source: AsyncIterable<Uint8Array>, level: number, engine: ZstdEngine = defaultEngine()): AsyncGenerator<Uint8Array> {
  const compressFrame = engine === 'native' ? nativeFrame(level) : await packageFrame(level)
  const frame = Buffer.allocUnsafe(FRAME_BYTES)
  let filled = 0
  let any = false
  for await (const piece of source) {
    let at = 0
    while (at < piece.length) {
      const take = Math.min(piece.length - at, FRAME_BYTES - filled)
      frame.set(piece.subarray(at, at + take), filled)
      filled += take
      at += take
      if (filled === FRAME_BYTES) {
        yield compressFrame(frame)
        filled = 0
        any = true
      }
    }
  }
  // An empty object is one empty frame, so that every stored zstd object is a valid stream.
  if (filled > 0 || !any) yield compressFrame(frame.subarray(0, filled))
}

function nativeFrame(level: number): (input: Uint8Array) => Uint8Array {
  const params = {[native.constants.ZSTD_c_compressionLevel!]: level}
  return (input) => native.zstdCompressSync!(input, {params})
}

async function packageFrame(level: number): Promise<(input: Uint8Array) => Uint8Array> {
  const zstd = await loadPackage()
  return (input) => zstd.compress(input, level)
}

/** Decompresses a zstd stream (any number of frames); a malformed one throws a FormatError naming `name`. */
export async function* zstdDecompress(source: AsyncIterable<Uint8Array>, name: string, engine: ZstdEngine = defaultEngine()): AsyncGenerator<Uint8Array> {
  if (engine === 'native') {
    const {through} = await import('./pipe.js')
    yield* through(source, native.createZstdDecompress!(), (error) => new FormatError(`cannot decompress (zstd): ${error.message}`, name))
    return
  }
  const zstd = await loadPackage()
  // One buffer holds at most a frame plus what came with it; it is reused, never grown.
  const window = new RefillBuffer(Buffer.allocUnsafe(2 * MAX_COMPRESSED_FRAME))
  let frames = 0
  const corrupt = (problem: string) => new FormatError(`cannot decompress (zstd): ${problem}`, name)
  for await (const piece of source) {
    for (let at = 0; at < piece.length; ) {
      at = window.fill(piece, at)
      const {bytes: buffer} = window
      let start = 0
      for (;;) {
        const frame = frameExtent(buffer.subarray(start, window.held), corrupt)
        if (frame === undefined) break
        if (!frame.skippable) {
          frames++
          let out: Uint8Array
          try {
            out = zstd.decompress(buffer.subarray(start, start + frame.bytes), {defaultHeapSize: FRAME_BYTES})
          } catch (error) {
            // zstd's "destination too small" (-70): a frame without its content size that holds more than one frame may.
            if (frame.contentSize === undefined && /code -70\b/.test((error as Error).message)) throw corrupt(`frame ${frames} holds more than ${FRAME_BYTES} bytes, more than this Node reads at once (read it on Node 22.15+)`)
            throw corrupt(`frame ${frames}: ${(error as Error).message.replace('Failed to compress', 'failed')}`)
          }
          if (frame.contentSize !== undefined && BigInt(out.length) !== frame.contentSize) throw corrupt(`frame ${frames} holds ${out.length} bytes, its header says ${frame.contentSize}`)
          if (out.length > 0) yield out
        }
        start += frame.bytes
      }
      window.drop(start)
      if (window.held > MAX_COMPRESSED_FRAME) throw corrupt(`a frame longer than ${MAX_COMPRESSED_FRAME} bytes (this Node reads frames of up to ${FRAME_BYTES} bytes; read it on Node 22.15+)`)
    }
  }
  if (window.held > 0) throw corrupt(`the stream ends inside a frame (${window.held} bytes left)`)
  if (frames === 0) throw corrupt('no zstd frame')
}

/**
 * Where the first frame in `bytes` ends, from its header and block headers
 * (RFC 8878 §3.1): undefined while it is not all there yet. A frame that
 * states more content than FRAME_BYTES is refused before any of it is held.
 */
export function frameExtent(bytes: Buffer, corrupt: (problem: string) => Error): {bytes: number; skippable: boolean; contentSize?: bigint} | undefined {
  if (bytes.length < 4) return undefined
  const magic = bytes.readUInt32LE(0)
  if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
    if (bytes.length < 8) return undefined
    const total = 8 + bytes.readUInt32LE(4)
    if (total > MAX_COMPRESSED_FRAME) throw corrupt(`a skippable frame of ${total} bytes`)
    return bytes.length < total ? undefined : {bytes: total, skippable: true}
  }
  if (magic !== FRAME_MAGIC) throw corrupt(`no zstd frame magic (0x${magic.toString(16).padStart(8, '0')})`)
  if (bytes.length < 5) return undefined
  const descriptor = bytes[4]
  const fcsFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  if ((descriptor >> 3) & 1) throw corrupt('a frame header with its reserved bit set')
  const checksum = (descriptor >> 2) & 1
  const dictBytes = [0, 1, 2, 4][descriptor & 3]
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]
  let at = 5 + (singleSegment ? 0 : 1) + dictBytes
  if (bytes.length < at + fcsBytes) return undefined
  let contentSize: bigint | undefined
  if (fcsBytes === 1) contentSize = BigInt(bytes[at])
  else if (fcsBytes === 2) contentSize = BigInt(bytes.readUInt16LE(at) + 256)
  else if (fcsBytes === 4) contentSize = BigInt(bytes.readUInt32LE(at))
  else if (fcsBytes === 8) contentSize = bytes.readBigUInt64LE(at)
  if (contentSize !== undefined && contentSize > BigInt(FRAME_BYTES)) {
    throw corrupt(`a frame of ${contentSize} bytes, more than the ${FRAME_BYTES} this Node reads at once (read it on Node 22.15+)`)
  }
  at += fcsBytes
  for (;;) {
    if (bytes.length < at + 3) return undefined
    const header = bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16)
    const last = header & 1
    const type = (header >> 1) & 3
    const size = header >>> 3
    if (type === 3) throw corrupt('a block of the reserved type')
    at += 3 + (type === 1 ? 1 : size)
    if (at > MAX_COMPRESSED_FRAME) throw corrupt(`a frame longer than ${MAX_COMPRESSED_FRAME} bytes (read it on Node 22.15+)`)
    if (last) break
  }
  at += checksum ? 4 : 0
  return bytes.length < at ? undefined : {bytes: at, skippable: false, contentSize}
}

/** Fails early, where the level is chosen, rather than on the first object. */
export function checkZstdLevel(level: number): number {
  if (!Number.isInteger(level) || level < ZSTD_LEVELS.min || level > ZSTD_LEVELS.max) throw new RangeError(`zstd level must be ${ZSTD_LEVELS.min}-${ZSTD_LEVELS.max}`)
  return level
}
