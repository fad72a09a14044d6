import {createHash} from 'node:crypto'

import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {crc32} from '../codec/crc.js'
import {FormatError} from '../errors.js'

/**
 * A pack, redrepl's own object in a repository (docs/repository.md
 * "Packs"): the bytes of many small pieces back to back, then a trailer
 * listing each piece's SHA-256, offset and size, sealed by a CRC-32 of
 * everything before it. A pack is stored under the SHA-256 of all its
 * bytes, so its name proves its content; a piece index names a piece by
 * its pack, offset and size, and a reader takes just that range.
 *
 *   magic "RRPACK01" | u16 version (1) | the pieces' bytes, back to back
 *   | count × { 32 bytes SHA-256 | u32 offset | u32 bytes }
 *   | u32 count | u32 CRC-32 of all before
 *
 * Offsets count from the pack's first byte. The pieces cover the bytes
 * between the header and the trailer exactly, in order, with no gap.
 */

const MAGIC = 'RRPACK01'
const NAME = 'pack'
const VERSION = 1
/** Magic and version: where the first piece starts. */
export const PACK_HEADER_BYTES = 8 + 2
/** A trailer entry: digest, u32 offset, u32 size. */
const ENTRY_BYTES = 32 + 4 + 4
/** The count and the CRC after the entries. */
const TAIL_BYTES = 4 + 4
/** A push closes a pack before its pieces' bytes pass this (repo/pieces.ts). */
export const PACK_DATA_BYTES = 16 * 1024 * 1024
/** The largest piece a pack holds: the cutter's largest (codec/cdc.ts MAX_PIECE_BYTES). */
export const MAX_PACKED_PIECE_BYTES = 128 * 1024
/**
 * The largest pack a reader takes: its data, an entry per KiB (no writer
 * cuts a piece under 8 KiB but the last of a snapshot, one per push),
 * header and tail. Bounds what verify and copy hold.
 */
export const MAX_PACK_BYTES = PACK_HEADER_BYTES + PACK_DATA_BYTES + (PACK_DATA_BYTES / 1024) * ENTRY_BYTES + TAIL_BYTES

export interface PackEntry {
  /** The SHA-256 of the piece's bytes, lowercase hex. */
  sha256: string
  /** Where the piece starts in the pack. */
  offset: number
  bytes: number
}

export interface Pack {
  entries: PackEntry[]
}

const HEX = /^[0-9a-f]{64}$/

/** The rules encode and decode share: pieces back to back from the header, each 1..MAX bytes, named in hex. */
export function validatePack(pack: Pack, dataBytes: number): void {
  let at = PACK_HEADER_BYTES
  for (const [i, entry] of pack.entries.entries()) {
    if (!HEX.test(entry.sha256)) throw new FormatError(`${NAME} entries[${i}].sha256 is not 64 lowercase hex digits`)
    if (entry.offset !== at) throw new FormatError(`${NAME} entries[${i}].offset ${entry.offset} is not ${at}, where the piece before it ends`)
    if (!Number.isInteger(entry.bytes) || entry.bytes < 1 || entry.bytes > MAX_PACKED_PIECE_BYTES) throw new FormatError(`${NAME} entries[${i}].bytes ${entry.bytes} is outside 1..${MAX_PACKED_PIECE_BYTES}`)
    at += entry.bytes
  }
  if (at !== PACK_HEADER_BYTES + dataBytes) throw new FormatError(`${NAME} pieces end at ${at}, its data at ${PACK_HEADER_BYTES + dataBytes}`)
  if (dataBytes > PACK_DATA_BYTES) throw new FormatError(`${NAME} holds ${dataBytes} bytes of pieces, more than ${PACK_DATA_BYTES}`)
}

/** A pack of `pieces` (each hashed here), in order; the bytes to store and their name. */
export function encodePack(pieces: readonly Uint8Array[]): {bytes: Uint8Array; sha256: string; entries: PackEntry[]} {
  let at = PACK_HEADER_BYTES
  const entries = pieces.map((piece) => {
    const entry = {sha256: createHash('sha256').update(piece).digest('hex'), offset: at, bytes: piece.length}
    at += piece.length
    return entry
  })
  return encodePackEntries(pieces, entries)
}

/** encodePack with the pieces' digests already known (the push hashed each as it was cut). */
export function encodePackEntries(pieces: readonly Uint8Array[], entries: PackEntry[]): {bytes: Uint8Array; sha256: string; entries: PackEntry[]} {
  const dataBytes = pieces.reduce((sum, piece) => sum + piece.length, 0)
  const buffer = new Uint8Array(PACK_HEADER_BYTES + dataBytes + entries.length * ENTRY_BYTES + TAIL_BYTES)
  let at = PACK_HEADER_BYTES
  for (const piece of pieces) {
    buffer.set(piece, at)
    at += piece.length
  }
  const {bytes, sha256} = sealPackInPlace(buffer, dataBytes, entries)
  return {bytes, sha256, entries}
}

/** The bytes a pack of `entries` takes around `dataBytes` of pieces: header, one trailer entry each, count and CRC. */
export function packBytes(dataBytes: number, count: number): number {
  return PACK_HEADER_BYTES + dataBytes + count * ENTRY_BYTES + TAIL_BYTES
}

/**
 * Makes a pack where its pieces already lie: `buffer` holds their
 * `dataBytes` from PACK_HEADER_BYTES on (a push appends each new piece
 * there, so the pack's bytes are copied once); the header goes before them
 * and the trailer after, and the pack is the front of `buffer`, not a copy.
 * `crc` is the CRC-32 of all the pack's bytes, its own trailer CRC too (a
 * store's checksum of the object), continued from the trailer's running
 * value rather than a second pass over the bytes.
 */
export function sealPackInPlace(buffer: Uint8Array, dataBytes: number, entries: readonly PackEntry[]): {bytes: Uint8Array; sha256: string; crc: number} {
  validatePack({entries: [...entries]}, dataBytes)
  const size = packBytes(dataBytes, entries.length)
  if (buffer.length < size) throw new FormatError(`${NAME} of ${size} bytes does not fit its ${buffer.length}-byte buffer`)
  const view = new DataView(buffer.buffer, buffer.byteOffset, size)
  for (let i = 0; i < MAGIC.length; i++) buffer[i] = MAGIC.charCodeAt(i)
  view.setUint16(MAGIC.length, VERSION, true)
  let at = PACK_HEADER_BYTES + dataBytes
  for (const entry of entries) {
    buffer.set(Buffer.from(entry.sha256, 'hex'), at)
    view.setUint32(at + 32, entry.offset, true)
    view.setUint32(at + 36, entry.bytes, true)
    at += ENTRY_BYTES
  }
  view.setUint32(at, entries.length, true)
  at += 4
  const sealed = crc32(buffer.subarray(0, at))
  view.setUint32(at, sealed, true)
  const bytes = buffer.subarray(0, size)
  return {bytes, sha256: createHash('sha256').update(bytes).digest('hex'), crc: crc32(bytes.subarray(at), sealed)}
}

/**
 * A whole pack, checked: its CRC, its layout, and every piece's bytes
 * against the digest its trailer gives. (Its name, the SHA-256 of all of
 * it, is the caller's to compare: the format does not know its name.)
 */
export function decodePack(bytes: Uint8Array): Pack {
  if (bytes.length > MAX_PACK_BYTES) throw new FormatError(`${NAME} of ${bytes.length} bytes is larger than any pack (${MAX_PACK_BYTES})`)
  const reader = openSealed(bytes, NAME, PACK_HEADER_BYTES + 4)
  reader.magic(MAGIC, `${NAME} has a bad magic`)
  expectVersion(reader.u16(), [VERSION], NAME)
  const body = bytes.length - 4
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(body - 4, true)
  const trailerBytes = count * ENTRY_BYTES + 4
  if (trailerBytes > body - PACK_HEADER_BYTES) throw new FormatError(`${NAME} piece count ${count} does not fit in its ${bytes.length} bytes`)
  const dataBytes = body - PACK_HEADER_BYTES - trailerBytes
  reader.bytesView(dataBytes)
  checkCount(reader, count, ENTRY_BYTES, `${NAME} piece`)
  const entries: PackEntry[] = new Array(count)
  for (let i = 0; i < count; i++) entries[i] = {sha256: Buffer.from(reader.bytesView(32)).toString('hex'), offset: reader.u32(), bytes: reader.u32()}
  reader.u32()
  expectConsumed(reader, NAME)
  validatePack({entries}, dataBytes)
  for (const [i, entry] of entries.entries()) {
    const digest = createHash('sha256').update(bytes.subarray(entry.offset, entry.offset + entry.bytes)).digest('hex')
    if (digest !== entry.sha256) throw new FormatError(`${NAME} piece ${i} (offset ${entry.offset}, ${entry.bytes} bytes) does not match its SHA-256: ${digest}`)
  }
  return {entries}
}
