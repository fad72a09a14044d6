import {createHash} from 'node:crypto'

/**
 * Content-defined cutting of a byte stream into pieces (a gear rolling
 * hash with FastCDC's normalised cut masks): a cut falls where the bytes
 * just before it say so, not at a fixed offset, so inserting or removing
 * bytes moves the cuts near the change only and every piece after the next
 * cut is the same as before. The repository stores base backups as such
 * pieces (repo/pieces.ts). Pure: no I/O, no clock.
 */

/**
 * No cut before this many bytes: those are not even hashed, which is where much of the speed comes from.
 * The sizes are small because a piece is the unit of change: a 64 KiB run overwritten costs the three or so pieces
 * around it, not a megabyte; pieces that small are stored packed into larger objects (repo/pieces.ts).
 */
export const MIN_PIECE_BYTES = 8 * 1024
/** The cut masks aim here: a piece of random bytes averages a little over this. */
export const AVG_PIECE_BYTES = 32 * 1024
/** A piece is cut here at the latest, which also bounds the buffer a piece needs. */
export const MAX_PIECE_BYTES = 128 * 1024

/**
 * The gear table: 256 fixed pseudo-random u32 values, from SHA-256 of a
 * fixed label. It decides where every cut falls, so it never changes: a
 * different table would still restore everything, but share no piece with
 * what was stored before.
 */
export const GEAR = (() => {
  const table = new Uint32Array(256)
  for (let block = 0; block < 32; block++) {
    const digest = createHash('sha256').update(`redrepl piece gear ${block}`).digest()
    for (let i = 0; i < 8; i++) table[block * 8 + i] = digest.readUInt32LE(i * 4)
  }
  return table
})()

/** A gear hash's bit k depends on the last k+1 bytes; the masks test the top bits, which see the last 32. */
const topBits = (bits: number) => (0xffffffff << (32 - bits)) >>> 0
/** Before the average: harder to cut (2 bits more than log2 of the average), after it easier (2 fewer): sizes cluster near it. */
const AVG_BITS = Math.log2(AVG_PIECE_BYTES)
const MASK_HARD = topBits(AVG_BITS + 2)
const MASK_EASY = topBits(AVG_BITS - 2)
/** Bytes hashed before the first place a cut may fall, so that a cut there depends on the window, not on where the piece began. */
const WARMUP = 32

/**
 * Where the piece starting at `start` of `buffer` ends: the offset just past
 * its last byte, or -1 when `buffer[start, end)` holds no cut and fewer
 * than MAX_PIECE_BYTES bytes (more bytes are needed to decide). With `last`
 * the rest of the stream is `buffer[start, end)`, so it ends there at the
 * latest.
 */
export function findCut(buffer: Uint8Array, start: number, end: number, last: boolean): number {
  const length = end - start
  if (length <= MIN_PIECE_BYTES) return last ? end : -1
  const limit = start + Math.min(length, MAX_PIECE_BYTES)
  const middle = Math.min(limit, start + AVG_PIECE_BYTES)
  const gear = GEAR
  let hash = 0
  let i = start + MIN_PIECE_BYTES - WARMUP
  for (const stop = start + MIN_PIECE_BYTES; i < stop; i++) hash = ((hash << 1) + gear[buffer[i]]) >>> 0
  for (; i < middle; i++) {
    hash = ((hash << 1) + gear[buffer[i]]) >>> 0
    if ((hash & MASK_HARD) === 0) return i + 1
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + gear[buffer[i]]) >>> 0
    if ((hash & MASK_EASY) === 0) return i + 1
  }
  if (limit - start === MAX_PIECE_BYTES || last) return limit
  return -1
}

/**
 * Cuts a stream fed in any sizes into pieces. It owns one buffer of
 * MAX_PIECE_BYTES; a piece handed to `onPiece` is a view of it, valid until
 * `onPiece`'s promise settles (the caller copies or finishes with it).
 */
export class Chunker {
  private buffer = new Uint8Array(MAX_PIECE_BYTES)
  private filled = 0

  constructor(private readonly onPiece: (piece: Uint8Array) => Promise<void>) {}

  async push(bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(bytes.length - at, this.buffer.length - this.filled)
      this.buffer.set(bytes.subarray(at, at + take), this.filled)
      this.filled += take
      at += take
      if (this.filled === this.buffer.length) await this.drain(false)
    }
  }

  /** The rest as its last piece(s); an empty stream yields no piece. */
  async finish(): Promise<void> {
    await this.drain(true)
  }

  private async drain(last: boolean): Promise<void> {
    let start = 0
    while (start < this.filled) {
      const cut = findCut(this.buffer, start, this.filled, last)
      if (cut < 0) break
      await this.onPiece(this.buffer.subarray(start, cut))
      start = cut
    }
    if (start > 0) {
      this.buffer.copyWithin(0, start, this.filled)
      this.filled -= start
    }
  }
}
