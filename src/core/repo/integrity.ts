import {crc32, hex32} from '../codec/crc.js'
import {FormatError} from '../errors.js'

/**
 * What a repository object must hold, known from RedDB's own files: a chunk
 * has the size and CRC its manifest records; a manifest, WAL segment or
 * timeline history is sealed, its last 4 bytes the CRC of the bytes before
 * them (format.md §2).
 */
export type Expected = {kind: 'chunk'; size: bigint; checksum: number} | {kind: 'sealed'; size: bigint}

/**
 * Passes a stream through while checking it against what it must hold; the
 * stream throws a FormatError naming `name` before its end when it does not,
 * so a bad object is never taken as good (an upload fails, a download is
 * discarded). Memory: the pieces as they pass, and 4 bytes.
 */
export async function* checkedStream(source: AsyncIterable<Uint8Array>, expected: Expected, name: string): AsyncGenerator<Uint8Array> {
  let size = 0n
  let crc = 0
  // For a sealed object the trailing 4 bytes are held back from the running CRC.
  let tail = new Uint8Array(0)
  for await (const piece of source) {
    size += BigInt(piece.length)
    if (size > expected.size) throw new FormatError(`holds more than the ${expected.size} bytes it should`, name)
    if (expected.kind === 'chunk') crc = crc32(piece, crc)
    else {
      const joined = tail.length === 0 ? piece : concat(tail, piece)
      const cut = Math.max(0, joined.length - 4)
      crc = crc32(joined.subarray(0, cut), crc)
      // A copy: the piece is lent (see RepoBackend.put), and a Buffer's slice would be a view of it.
      tail = Uint8Array.from(joined.subarray(cut))
    }
    yield piece
  }
  if (size !== expected.size) throw new FormatError(`holds ${size} bytes, expected ${expected.size}`, name)
  const stored = expected.kind === 'chunk' ? expected.checksum : tail.length === 4 ? new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true) : -1
  if (stored !== crc) throw new FormatError(`checksum mismatch: expected ${hex32(stored)}, computed ${hex32(crc)}`, name)
}

/**
 * The most bytes a download may bring: the size the listing states, which
 * the stream is then held to (checkedStream), refused before a byte is read
 * when it is past what any artifact of this kind holds. A listing is the
 * store's word, and a store can be wrong or hostile: memory and disk follow
 * from the format, never from what a server says.
 */
export function downloadCap(listed: bigint, kindLimit: number, kind: string, name: string): bigint {
  if (listed > BigInt(kindLimit)) throw new FormatError(`listed at ${listed} bytes, more than any ${kind} can hold (${kindLimit})`, name)
  return listed
}

/**
 * Passes a stream through until it holds more than `limit` bytes, then
 * throws a FormatError naming `name` instead of taking the piece that
 * passed it: an object whose body runs past the size it was listed at is
 * never written or held past that size.
 */
export async function* capped(source: AsyncIterable<Uint8Array>, limit: bigint, name: string): AsyncGenerator<Uint8Array> {
  let size = 0n
  for await (const piece of source) {
    size += BigInt(piece.length)
    if (size > limit) throw new FormatError(`holds more than the size it is listed at (${limit} bytes)`, name)
    yield piece
  }
}

/** The CRC RedDB records for a sealed artifact: its last 4 bytes, little-endian. */
export function sealedChecksum(bytes: Uint8Array): number {
  return bytes.length < 4 ? 0 : new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true)
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** Collects a whole (small, size-checked) object into memory. */
export async function collect(source: AsyncIterable<Uint8Array>, limit: bigint, name: string): Promise<Uint8Array> {
  const pieces: Uint8Array[] = []
  let size = 0
  for await (const piece of source) {
    size += piece.length
    if (BigInt(size) > limit) throw new FormatError(`larger than ${limit} bytes`, name)
    pieces.push(piece)
  }
  const out = new Uint8Array(size)
  let at = 0
  for (const piece of pieces) {
    out.set(piece, at)
    at += piece.length
  }
  return out
}
