import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import {MAX_PACKED_PIECE_BYTES, PACK_DATA_BYTES, PACK_HEADER_BYTES} from './pack.js'

/**
 * A base backup's piece index, redrepl's own object beside the backup's
 * manifest in a repository (docs/repository.md "Pieces"): the pieces whose
 * concatenation, in order, is the backup's snapshot, each with its size
 * and, from version 2, where it is stored: the pack (format/pack.ts) and
 * the offset in it. Chunk k of the manifest is the range
 * [snapshot_offset, snapshot_offset + bytes) of that concatenation.
 *
 * Version 2 (every push since pieces are packed):
 *   magic "RRPIDX01" | u16 version (2) | u64 snapshot_bytes
 *   | u32 pack_count | pack_count × 32 bytes pack SHA-256
 *   | u32 count | count × { 32 bytes SHA-256 | u32 bytes | u32 pack ordinal | u32 offset }
 *   | u32 CRC-32 of all before
 * Version 1 (still read: each piece its own object, named by its SHA-256):
 *   magic "RRPIDX01" | u16 version (1) | u64 snapshot_bytes | u32 count
 *   | count × { 32 bytes SHA-256 | u32 bytes } | u32 CRC-32 of all before
 */

const MAGIC = 'RRPIDX01'
const NAME = 'piece index'
/** Each piece its own object: what the release before packs wrote. */
const VERSION_PIECES = 1
const VERSION_PACKED = 2
/** A piece's digest and its u32 size (version 1). */
const ENTRY_BYTES_V1 = 32 + 4
/** A piece's digest, size, pack ordinal and offset (version 2). */
const ENTRY_BYTES = 32 + 4 + 4 + 4
/** The largest piece of version 1's cutter (4 MiB); a larger one is no writer's. */
const MAX_PIECE_V1 = 4 * 1024 * 1024
/** The largest packed piece (codec/cdc.ts MAX_PIECE_BYTES). */
const MAX_PIECE = MAX_PACKED_PIECE_BYTES
/**
 * Pieces one index may name: at the 36 KiB pieces of random bytes, a
 * snapshot of some 137 GiB. The index is read whole, so this bounds its
 * memory (176 MiB of entries at the cap; 1.2 MiB for a 1 GiB snapshot).
 */
export const MAX_PIECES = 4_000_000
/** The largest index a reader takes: every entry at its size, a pack per piece, the header and the trailer. */
export const MAX_PIECE_INDEX_BYTES = 8 + 2 + 8 + 4 + 4 + MAX_PIECES * (ENTRY_BYTES + 32) + 4

export interface PieceRef {
  /** The SHA-256 of the piece's bytes, lowercase hex. */
  sha256: string
  bytes: number
  /** Where it is stored: the pack (its SHA-256) and the offset in it. Absent in a version 1 index: the piece is its own object. */
  pack?: {sha256: string; offset: number}
}

export interface PieceIndex {
  snapshot_bytes: bigint
  pieces: PieceRef[]
}

const HEX = /^[0-9a-f]{64}$/

/** Whether the index is written as version 2: every piece in a pack (an empty one too), or as version 1: none. */
function packed(index: PieceIndex): boolean {
  return index.pieces.length === 0 || index.pieces[0].pack !== undefined
}

export function validatePieceIndex(index: PieceIndex): void {
  let total = 0n
  const inPacks = packed(index)
  const max = inPacks ? MAX_PIECE : MAX_PIECE_V1
  for (const [i, piece] of index.pieces.entries()) {
    if (!HEX.test(piece.sha256)) throw new FormatError(`${NAME} pieces[${i}].sha256 is not 64 lowercase hex digits`)
    if (!Number.isInteger(piece.bytes) || piece.bytes < 1 || piece.bytes > max) throw new FormatError(`${NAME} pieces[${i}].bytes ${piece.bytes} is outside 1..${max}`)
    if ((piece.pack !== undefined) !== inPacks) throw new FormatError(`${NAME} pieces[${i}].pack is ${inPacks ? 'missing' : 'given'}: every piece is in a pack, or none is`)
    if (piece.pack !== undefined) {
      if (!HEX.test(piece.pack.sha256)) throw new FormatError(`${NAME} pieces[${i}].pack.sha256 is not 64 lowercase hex digits`)
      const {offset} = piece.pack
      if (!Number.isInteger(offset) || offset < PACK_HEADER_BYTES || offset + piece.bytes > PACK_HEADER_BYTES + PACK_DATA_BYTES) throw new FormatError(`${NAME} pieces[${i}].pack.offset ${offset} does not place ${piece.bytes} bytes inside a pack's data`)
    }
    total += BigInt(piece.bytes)
  }
  if (index.pieces.length > MAX_PIECES) throw new FormatError(`${NAME} names ${index.pieces.length} pieces, more than ${MAX_PIECES}`)
  if (total !== index.snapshot_bytes) throw new FormatError(`${NAME} pieces add up to ${total} bytes, not the snapshot's ${index.snapshot_bytes}`)
}

export function encodePieceIndex(index: PieceIndex): Uint8Array {
  validatePieceIndex(index)
  if (!packed(index)) {
    const writer = new ByteWriter(8 + 2 + 8 + 4 + index.pieces.length * ENTRY_BYTES_V1 + 4)
    writer.ascii(MAGIC).u16(VERSION_PIECES).u64(index.snapshot_bytes).u32(index.pieces.length)
    for (const piece of index.pieces) writer.bytes(Buffer.from(piece.sha256, 'hex')).u32(piece.bytes)
    return writer.sealWithCrc().finish()
  }
  const ordinals = new Map<string, number>()
  for (const piece of index.pieces) if (!ordinals.has(piece.pack!.sha256)) ordinals.set(piece.pack!.sha256, ordinals.size)
  const writer = new ByteWriter(8 + 2 + 8 + 4 + ordinals.size * 32 + 4 + index.pieces.length * ENTRY_BYTES + 4)
  writer.ascii(MAGIC).u16(VERSION_PACKED).u64(index.snapshot_bytes).u32(ordinals.size)
  for (const pack of ordinals.keys()) writer.bytes(Buffer.from(pack, 'hex'))
  writer.u32(index.pieces.length)
  for (const piece of index.pieces) writer.bytes(Buffer.from(piece.sha256, 'hex')).u32(piece.bytes).u32(ordinals.get(piece.pack!.sha256)!).u32(piece.pack!.offset)
  return writer.sealWithCrc().finish()
}

export function decodePieceIndex(bytes: Uint8Array): PieceIndex {
  const reader = openSealed(bytes, NAME, 8 + 2 + 8 + 4)
  reader.magic(MAGIC, `${NAME} has a bad magic`)
  const version = reader.u16()
  expectVersion(version, [VERSION_PIECES, VERSION_PACKED], NAME)
  const snapshotBytes = reader.u64()
  let pieces: PieceRef[]
  if (version === VERSION_PIECES) {
    const count = checkCount(reader, reader.u32(), ENTRY_BYTES_V1, `${NAME} piece`)
    pieces = new Array(count)
    for (let i = 0; i < count; i++) pieces[i] = {sha256: Buffer.from(reader.bytesView(32)).toString('hex'), bytes: reader.u32()}
  } else {
    const packCount = checkCount(reader, reader.u32(), 32, `${NAME} pack`)
    const packs: string[] = new Array(packCount)
    for (let i = 0; i < packCount; i++) packs[i] = Buffer.from(reader.bytesView(32)).toString('hex')
    if (new Set(packs).size !== packCount) throw new FormatError(`${NAME} names a pack twice in its pack table`)
    const count = checkCount(reader, reader.u32(), ENTRY_BYTES, `${NAME} piece`)
    pieces = new Array(count)
    const used = new Uint8Array(packCount)
    for (let i = 0; i < count; i++) {
      const sha256 = Buffer.from(reader.bytesView(32)).toString('hex')
      const size = reader.u32()
      const ordinal = reader.u32()
      if (ordinal >= packCount) throw new FormatError(`${NAME} pieces[${i}] names pack ${ordinal} of ${packCount}`)
      used[ordinal] = 1
      pieces[i] = {sha256, bytes: size, pack: {sha256: packs[ordinal], offset: reader.u32()}}
    }
    if (used.includes(0)) throw new FormatError(`${NAME} lists a pack no piece is in`)
  }
  expectConsumed(reader, NAME)
  const index = {snapshot_bytes: snapshotBytes, pieces}
  validatePieceIndex(index)
  return index
}
