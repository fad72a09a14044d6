import {FormatError} from '../errors.js'
import {crc32, hex32} from './crc.js'
import {ByteReader} from './reader.js'

/**
 * Opens an artifact that ends in a u32 CRC of every byte before it. The CRC
 * is checked before anything else is read; the returned reader stops before
 * the trailer, and its truncation message names the artifact.
 */
export function openSealed(bytes: Uint8Array, name: string, minimumBody = 0): ByteReader {
  if (bytes.length < 4 + minimumBody) throw new FormatError(`${name} is too short`)
  const body = bytes.length - 4
  const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(body, true)
  const computed = crc32(bytes.subarray(0, body))
  if (stored !== computed) {
    throw new FormatError(`${name} checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`)
  }
  return new ByteReader(bytes, `${name} truncated`, body)
}

export function expectConsumed(reader: ByteReader, name: string): void {
  if (reader.remaining !== 0) throw new FormatError(`${name} has trailing bytes`)
}

export function expectVersion(actual: number, supported: readonly number[], name: string): void {
  if (!supported.includes(actual)) throw new FormatError(`unsupported ${name} version ${actual}`)
}

/**
 * Guards a loop over a header-claimed count: each element needs at least
 * `minimumBytes`, so a count the remaining bytes cannot hold is rejected
 * before anything is allocated for it.
 */
export function checkCount(reader: ByteReader, count: number | bigint, minimumBytes: number, what: string): number {
  const claimed = BigInt(count)
  if (claimed * BigInt(minimumBytes) > BigInt(reader.remaining)) {
    throw new FormatError(`${what} count ${claimed} does not fit in the remaining ${reader.remaining} bytes`)
  }
  return Number(claimed)
}
