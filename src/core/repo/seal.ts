import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto'

import {RefillBuffer} from '../codec/refill.js'
import {FormatError, RedreplError} from '../errors.js'
import {wrapperCapabilities, type PutOptions, type RepoBackend, type RepoObject, type StoreCapabilities, type TempSweep} from './backend.js'

/**
 * Encryption at rest: every object of an encrypted repository is sealed
 * with AES-256-GCM (node:crypto) under the repository's data key, in frames
 * of FRAME_BYTES of plaintext, so that sealing and opening stream with one
 * frame in memory. This backend wraps the store below the codec layer
 * (repo/codec.ts): objects are compressed, then sealed; opened, then
 * decompressed. Every other module keeps seeing logical keys and sizes.
 *
 * A sealed object (docs/repository.md, "Encryption at rest"):
 *
 *   header, HEADER_BYTES:
 *     0  8  magic "REDRSEAL"
 *     8  1  version (1)
 *     9  1  cipher (1: AES-256-GCM)
 *    10  2  zero
 *    12  4  frame bytes, u32 big-endian (the repository's, 1048576)
 *    16  8  data key id (the config object's)
 *    24  8  nonce prefix, random for each object
 *   then frames: ciphertext of FRAME_BYTES of plaintext (fewer in the last,
 *   which may be empty) followed by its 16-byte GCM tag.
 *
 * Frame i's nonce is the nonce prefix then i as u32 big-endian; its
 * additional data is the header, i, a last-frame flag and the object's key
 * as the store names it. So a frame cannot move within its object (i), to
 * another object (the key and the object's own prefix), nor be dropped from
 * the end (the flag): each fails its tag. A frame's plaintext is given out
 * only after its tag checks.
 */

export const SEAL_MAGIC = Buffer.from('REDRSEAL', 'latin1')
export const HEADER_BYTES = 32
export const TAG_BYTES = 16
export const SEAL_FRAME_BYTES = 1024 * 1024
const VERSION = 1
const CIPHER_AES_256_GCM = 1

export interface SealKey {
  /** The 32-byte data key. */
  key: Buffer
  /** 8 bytes, recorded in the config object and in every object's header. */
  id: Buffer
  frameBytes: number
}

/** The stored size of an object of `logical` bytes. */
export function sealedSize(logical: bigint, frameBytes: number): bigint {
  const frames = logical === 0n ? 1n : (logical + BigInt(frameBytes) - 1n) / BigInt(frameBytes)
  return BigInt(HEADER_BYTES) + logical + frames * BigInt(TAG_BYTES)
}

/** The logical size of a stored object of `stored` bytes (what a listing shows); null for a size no sealed object has. */
export function logicalSize(stored: bigint, frameBytes: number): bigint | null {
  const body = stored - BigInt(HEADER_BYTES)
  if (body < BigInt(TAG_BYTES)) return null
  const step = BigInt(frameBytes + TAG_BYTES)
  const frames = (body + step - 1n) / step
  const logical = body - frames * BigInt(TAG_BYTES)
  return sealedSize(logical, frameBytes) === stored ? logical : null
}

function header(seal: SealKey, prefix: Buffer): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES)
  SEAL_MAGIC.copy(bytes, 0)
  bytes[8] = VERSION
  bytes[9] = CIPHER_AES_256_GCM
  bytes.writeUInt32BE(seal.frameBytes, 12)
  seal.id.copy(bytes, 16)
  prefix.copy(bytes, 24)
  return bytes
}

function frameNonce(prefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12)
  prefix.copy(nonce, 0, 0, 8)
  nonce.writeUInt32BE(index, 8)
  return nonce
}

function frameAad(head: Buffer, index: number, last: boolean, key: string): Buffer {
  const tail = Buffer.alloc(5)
  tail.writeUInt32BE(index, 0)
  tail[4] = last ? 1 : 0
  return Buffer.concat([head, tail, Buffer.from(key, 'utf8')])
}

/** Frames are counted in a u32: 4 Gi frames of 1 MiB is 4 PiB, past any object. */
const MAX_FRAMES = 2 ** 32 - 1

function sealFrame(seal: SealKey, head: Buffer, prefix: Buffer, index: number, last: boolean, key: string, plain: Buffer): Buffer[] {
  if (index > MAX_FRAMES) throw new RedreplError('failure', `${key}: too large to seal`)
  const cipher = createCipheriv('aes-256-gcm', seal.key, frameNonce(prefix, index))
  cipher.setAAD(frameAad(head, index, last, key))
  const out = [cipher.update(plain), cipher.final()]
  return [...out, cipher.getAuthTag()]
}

/** Seals a stream under `key` (the name the object is stored under), one frame held at a time. */
export async function* sealStream(source: AsyncIterable<Uint8Array>, seal: SealKey, key: string): AsyncGenerator<Uint8Array> {
  const prefix = randomBytes(8)
  const head = header(seal, prefix)
  yield head
  // A full frame is sealed only once a byte past it shows it is not the last. Sealing copies it, so the buffer is reused.
  const frame = Buffer.allocUnsafe(seal.frameBytes)
  let filled = 0
  let index = 0
  for await (const piece of source) {
    let at = 0
    while (at < piece.length) {
      if (filled === seal.frameBytes) {
        yield* sealFrame(seal, head, prefix, index++, false, key, frame)
        filled = 0
      }
      const take = Math.min(piece.length - at, seal.frameBytes - filled)
      frame.set(piece.subarray(at, at + take), filled)
      filled += take
      at += take
    }
  }
  yield* sealFrame(seal, head, prefix, index, true, key, frame.subarray(0, filled))
}

/**
 * Opens a sealed stream stored under `key`; `name` is what errors say. Any
 * change to a byte, a frame moved, dropped or taken from another object is
 * a FormatError (corrupt), and no plaintext of a frame whose tag fails is
 * given out.
 */
export async function* openStream(source: AsyncIterable<Uint8Array>, seal: SealKey, key: string, name: string): AsyncGenerator<Uint8Array> {
  const corrupt = (problem: string) => new FormatError(`sealed object ${problem}`, name)
  const step = seal.frameBytes + TAG_BYTES
  // Holds the header, then at most one frame and a byte past it.
  const window = new RefillBuffer(Buffer.allocUnsafe(step + 1 + 65_536))
  let head: Buffer | undefined
  let prefix: Buffer | undefined
  let index = 0
  const open = (bytes: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', seal.key, frameNonce(prefix!, index))
    decipher.setAAD(frameAad(head!, index, last, key))
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
    const plain = decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES))
    try {
      decipher.final()
    } catch {
      throw corrupt(`fails its authentication at frame ${index}${last ? ' (the last)' : ''}: changed, cut short, reordered or not this object's`)
    }
    index++
    return plain
  }
  const takeHeader = () => {
    head = Buffer.from(window.bytes.subarray(0, HEADER_BYTES))
    if (!head.subarray(0, 8).equals(SEAL_MAGIC)) throw corrupt('has no sealed-object header (stored unencrypted, or damaged)')
    if (head[8] !== VERSION || head[9] !== CIPHER_AES_256_GCM || head.readUInt16BE(10) !== 0) throw corrupt(`has an unknown header (version ${head[8]}, cipher ${head[9]})`)
    if (head.readUInt32BE(12) !== seal.frameBytes) throw corrupt(`states frames of ${head.readUInt32BE(12)} bytes, the repository ${seal.frameBytes}`)
    if (!head.subarray(16, 24).equals(seal.id)) throw corrupt(`is sealed with data key ${head.subarray(16, 24).toString('hex')}, not this repository's ${seal.id.toString('hex')}`)
    prefix = head.subarray(24, 32)
    window.drop(HEADER_BYTES)
  }
  for await (const piece of source) {
    for (let at = 0; at < piece.length; ) {
      at = window.fill(piece, at)
      if (head === undefined) {
        if (window.held < HEADER_BYTES) continue
        takeHeader()
      }
      let start = 0
      while (window.held - start > step) {
        yield open(window.bytes.subarray(start, start + step), false)
        start += step
      }
      window.drop(start)
    }
  }
  if (head === undefined) throw corrupt(`is cut short: ${window.held} bytes, less than its header`)
  if (window.held < TAG_BYTES) throw corrupt(`is cut short: its last frame has ${window.held} bytes, less than its tag`)
  const last = open(window.bytes.subarray(0, window.held), true)
  if (last.length > 0) yield last
}

/**
 * The backend of an encrypted repository: seals what it stores, opens what
 * it reads, and lists each object at its logical size. The config object
 * (repo/repo-config.ts) is not an object of this backend.
 */
export class SealBackend implements RepoBackend {
  /** A sealed object is never the plain bytes: no local file to read, no file to copy in the kernel. */
  readonly capabilities: StoreCapabilities

  constructor(
    private readonly inner: RepoBackend,
    private readonly seal: SealKey,
    private readonly hidden: string,
  ) {
    this.capabilities = wrapperCapabilities(inner.capabilities, ['localFile', 'kernelCopy'])
  }

  get location(): string {
    return this.inner.location
  }

  get defaultJobs(): number {
    return this.inner.defaultJobs
  }

  describe(key: string): string {
    return this.inner.describe(key)
  }

  /** A stored size that no sealed object has is listed as it is, so that reading it fails as corrupt naming it. */
  private logical(stored: bigint): bigint {
    return logicalSize(stored, this.seal.frameBytes) ?? stored
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    if (key === this.hidden) return null
    const found = await this.inner.stat(key)
    return found === null ? null : {size: this.logical(found.size)}
  }

  async *list(prefix: string): AsyncIterable<RepoObject> {
    for await (const object of this.inner.list(prefix)) {
      if (object.key === this.hidden) continue
      yield {...object, size: this.logical(object.size)}
    }
  }

  get(key: string): AsyncIterable<Uint8Array> {
    return openStream(this.inner.get(key), this.seal, key, this.inner.describe(key))
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const size = sealedSize(options.size, this.seal.frameBytes)
    await this.inner.put(key, () => sealStream(body(), this.seal, key), {size, checksum: options.checksum})
  }

  /** The CRC the store kept (S3 metadata) is RedDB's CRC of the logical bytes, as for a plain object. */
  async checksum(key: string): Promise<number | null> {
    return this.capabilities.storedChecksum ? this.inner.checksum(key) : null
  }

  /** A sealed object is never a plain file to read. */
  localFile(): undefined {
    return undefined
  }

  flush(): Promise<void> {
    return this.inner.flush()
  }

  sweepDeadTemps(prefix: string, options: {nowMs: bigint; graceMs: bigint; dryRun: boolean}): Promise<TempSweep> {
    return this.inner.sweepDeadTemps(prefix, options)
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
