import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'

/**
 * A base backup's piece index, redrepl's own object beside the backup's
 * manifest in a repository (docs/repository.md "Pieces"): the content
 * addresses of the pieces whose concatenation, in order, is the backup's
 * snapshot, each with its size. Chunk k of the manifest is the range
 * [snapshot_offset, snapshot_offset + bytes) of that concatenation.
 *
 *   magic "RRPIDX01" | u16 version (1) | u64 snapshot_bytes | u32 count
 *   | count × { 32 bytes SHA-256 | u32 bytes } | u32 CRC-32 of all before
 */

const MAGIC = 'RRPIDX01'
const NAME = 'piece index'
const VERSION = 1
/** A piece's digest and its u32 size. */
const ENTRY_BYTES = 32 + 4
/** The cutter's largest piece (codec/cdc.ts MAX_PIECE_BYTES); a larger one is no writer's. */
const MAX_PIECE = 4 * 1024 * 1024
/** A snapshot a RedDB data file can hold is far below 2^40 bytes; 2^40 / 512 KiB minimum pieces… with slack for tails. */
export const MAX_PIECES = 4_000_000
/** The largest index a reader takes: every entry at its size, the header and the trailer. */
export const MAX_PIECE_INDEX_BYTES = 8 + 2 + 8 + 4 + MAX_PIECES * ENTRY_BYTES + 4

export interface PieceRef {
  /** The SHA-256 of the piece's bytes, lowercase hex. */
  sha256: string
  bytes: number
}

export interface PieceIndex {
  snapshot_bytes: bigint
  pieces: PieceRef[]
}

const HEX = /^[0-9a-f]{64}$/

export function validatePieceIndex(index: PieceIndex): void {
  let total = 0n
  for (const [i, piece] of index.pieces.entries()) {
    if (!HEX.test(piece.sha256)) throw new FormatError(`${NAME} pieces[${i}].sha256 is not 64 lowercase hex digits`)
    if (!Number.isInteger(piece.bytes) || piece.bytes < 1 || piece.bytes > MAX_PIECE) throw new FormatError(`${NAME} pieces[${i}].bytes ${piece.bytes} is outside 1..${MAX_PIECE}`)
    total += BigInt(piece.bytes)
  }
  if (index.pieces.length > MAX_PIECES) throw new FormatError(`${NAME} names ${index.pieces.length} pieces, more than ${MAX_PIECES}`)
  if (total !== index.snapshot_bytes) throw new FormatError(`${NAME} pieces add up to ${total} bytes, not the snapshot's ${index.snapshot_bytes}`)
}

export function encodePieceIndex(index: PieceIndex): Uint8Array {
  validatePieceIndex(index)
  const writer = new ByteWriter(8 + 2 + 8 + 4 + index.pieces.length * ENTRY_BYTES + 4)
  writer.ascii(MAGIC).u16(VERSION).u64(index.snapshot_bytes).u32(index.pieces.length)
  for (const piece of index.pieces) writer.bytes(Buffer.from(piece.sha256, 'hex')).u32(piece.bytes)
  return writer.sealWithCrc().finish()
}

export function decodePieceIndex(bytes: Uint8Array): PieceIndex {
  const reader = openSealed(bytes, NAME, 8 + 2 + 8 + 4)
  reader.magic(MAGIC, `${NAME} has a bad magic`)
  expectVersion(reader.u16(), [VERSION], NAME)
  const snapshotBytes = reader.u64()
  const count = checkCount(reader, reader.u32(), ENTRY_BYTES, `${NAME} piece`)
  const pieces: PieceRef[] = new Array(count)
  for (let i = 0; i < count; i++) pieces[i] = {sha256: Buffer.from(reader.bytesView(32)).toString('hex'), bytes: reader.u32()}
  expectConsumed(reader, NAME)
  const index = {snapshot_bytes: snapshotBytes, pieces}
  validatePieceIndex(index)
  return index
}
