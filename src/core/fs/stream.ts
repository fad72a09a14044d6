import {closeSync, fsync, readSync, writeSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {promisify} from 'node:util'

import {FormatError} from '../errors.js'
import {ioError} from './io-error.js'
import {freePace, type Pace} from './pace.js'

/**
 * The size of one piece of the byte pipeline. 1 MiB: a piece is CRC'd and
 * then written while it is still in the CPU's cache; at 4 MiB the write
 * reads it back from memory, which measured slower than the copy itself.
 */
export const PIECE_BYTES = 1024 * 1024

export interface PumpOptions {
  pieceBytes?: number
  /** How many pieces `onPiece` may hold at once (one buffer each). */
  depth?: number
  pace?: Pace
}

/**
 * Reads `length` bytes of a file from `offset` in pieces and hands each to
 * `onPiece` in order, through a PieceReader. `onPiece` may return before it
 * is done with a piece (a write still in flight): up to `depth` pieces are
 * in flight at once, each in its own buffer, so memory stays at depth ×
 * pieceBytes whatever the length. A file shorter than claimed ends with an
 * error naming where it ran out.
 */
export async function pumpRange(handle: FileHandle, offset: bigint, length: bigint, onPiece: (piece: Uint8Array) => Promise<void> | void, options: PumpOptions = {}): Promise<void> {
  const {pieceBytes, depth = 2, pace} = options
  const reader = new PieceReader({pieceBytes, buffers: depth, pace})
  const inFlight: Array<Promise<void>> = []
  try {
    for await (const piece of reader.pieces(handle.fd, {offset, length})) {
      const done = Promise.resolve(onPiece(piece))
      done.catch(() => {})
      inFlight.push(done)
      // The next piece goes into the oldest piece's buffer: it must be done first.
      if (inFlight.length >= depth) await inFlight.shift()
    }
  } finally {
    await Promise.allSettled(inFlight)
  }
  await Promise.all(inFlight)
}

/** Where buffers come from when several PieceReaders in turn share them (one each while it reads). */
export class BufferStock {
  private readonly free: Buffer[] = []

  constructor(readonly pieceBytes: number = PIECE_BYTES) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.pieceBytes)
  }

  give(buffers: Buffer[]): void {
    this.free.push(...buffers)
  }
}

export interface PieceReaderOptions {
  pieceBytes?: number
  /**
   * How many buffers the pieces cycle through: a piece's buffer is reused
   * `buffers` pieces later, so the consumer may hold at most `buffers` - 1
   * earlier pieces while it takes the next. Allocated as first needed.
   */
  buffers?: number
  /** Shared buffers, taken as first needed and given back by `release`. */
  stock?: BufferStock
  pace?: Pace
  /** Checked before every read. */
  signal?: AbortSignal
}

export interface PieceRange {
  /** Where to start; 0 by default. */
  offset?: bigint
  /** How many bytes the file holds from `offset`; absent: read to the file's end. */
  length?: bigint
  /** The file's name: a read's errno becomes a RedreplError naming it (fs/io-error.ts); absent, the errno is thrown as it came. */
  file?: string
  /** An empty range yields one empty piece (so a CRC of nothing is still checked). */
  emptyPiece?: boolean
  /** The error for a file that ends at byte `at`, before the range does; by default a FormatError without a file. */
  short?: (at: bigint) => Error
}

/**
 * The one loop that reads a local file piece by piece into reused buffers.
 * Reads are synchronous (see fs/pace.ts), at most one piece's size each, and
 * the pace, if any, gives the event loop its turn after each piece. The
 * pieces of successive `pieces` calls share one ring of buffers, so a
 * consumer still holding the last pieces of one file (a write in flight)
 * keeps them while the next file is read.
 */
export class PieceReader {
  private readonly pieceBytes: number
  private readonly ring: Buffer[] = []
  private readonly size: number
  private next = 0
  private readonly stock: BufferStock | undefined
  private readonly pace: Pace
  private readonly signal: AbortSignal | undefined

  constructor(options: PieceReaderOptions = {}) {
    this.stock = options.stock
    this.pieceBytes = options.stock?.pieceBytes ?? options.pieceBytes ?? PIECE_BYTES
    this.size = options.buffers ?? 2
    this.pace = options.pace ?? freePace()
    this.signal = options.signal
  }

  async *pieces(fd: number, range: PieceRange = {}): AsyncGenerator<Uint8Array> {
    const {offset = 0n, length, file} = range
    if (length === 0n && range.emptyPiece) yield new Uint8Array(0)
    let position = offset
    for (let remaining = length; remaining === undefined || remaining > 0n; ) {
      this.signal?.throwIfAborted()
      const buffer = this.buffer()
      const want = remaining === undefined || remaining >= BigInt(buffer.length) ? buffer.length : Number(remaining)
      let filled: number
      try {
        filled = readFullySync(fd, buffer, want, Number(position))
      } catch (error) {
        throw file === undefined ? error : ioError('read', file, error)
      }
      if (remaining === undefined) {
        if (filled === 0) break
      } else if (filled < want) {
        const at = position + BigInt(filled)
        // A FormatError without a file by default: the caller knows which file it handed over and attaches it.
        throw range.short?.(at) ?? new FormatError(`file ends at byte ${at}, before the ${length} bytes from ${offset} it should hold`)
      }
      position += BigInt(filled)
      if (remaining !== undefined) remaining -= BigInt(filled)
      yield buffer.subarray(0, filled)
      await this.pace.pass(filled)
    }
  }

  /** Gives the ring's buffers back to the stock; the consumer must hold none of its pieces. */
  release(): void {
    if (this.stock) this.stock.give(this.ring.splice(0))
  }

  private buffer(): Buffer {
    const slot = this.next++ % this.size
    return (this.ring[slot] ??= this.stock?.take() ?? Buffer.allocUnsafe(this.pieceBytes))
  }
}

export type {FileHandle}

/** Flushes a descriptor's data and metadata to disk, in the thread pool. */
export const fsyncDescriptor: (fd: number) => Promise<void> = promisify(fsync)

/** Closes a descriptor opened by one of the fs modules. */
export function closeDescriptor(fd: number): void {
  closeSync(fd)
}

/** Reads `length` bytes at `position` into the start of `buffer`; returns fewer only where the file ends. */
export function readFullySync(fd: number, buffer: Uint8Array, length: number, position: number): number {
  let filled = 0
  while (filled < length) {
    const bytesRead = readSync(fd, buffer, filled, length - filled, position + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled
}

/** Writes all of `data` at `position` of the file, synchronously (see fs/pace.ts). */
export function writeAllAtSync(fd: number, data: Uint8Array, position: number): void {
  let written = 0
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written)
}

/** Writes all of `data` at `position` of the file. */
export async function writeAllAt(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0
  while (written < data.length) {
    const {bytesWritten} = await handle.write(data, written, data.length - written, position + written)
    written += bytesWritten
  }
}

/** Writes all of `data` at the handle's current position. */
export async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let written = 0
  while (written < data.length) {
    const {bytesWritten} = await handle.write(data, written, data.length - written)
    written += bytesWritten
  }
}
