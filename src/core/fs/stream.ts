import {closeSync, fsync, readSync, writeSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {promisify} from 'node:util'

import {FormatError} from '../errors.js'
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
 * `onPiece` in order. Reads are synchronous (see fs/pace.ts), and the pace
 * gives the event loop its turn. `onPiece` may return before it is done
 * with a piece (a write still in flight): up to `depth` pieces are in
 * flight at once, each in its own buffer, so memory stays at depth ×
 * pieceBytes whatever the length. A file shorter than claimed ends with
 * an error naming where it ran out.
 */
export async function pumpRange(handle: FileHandle, offset: bigint, length: bigint, onPiece: (piece: Uint8Array) => Promise<void> | void, options: PumpOptions = {}): Promise<void> {
  const {pieceBytes = PIECE_BYTES, depth = 2, pace = freePace()} = options
  const buffers: Buffer[] = []
  const inFlight: Array<Promise<void>> = []
  let position = offset
  let remaining = length
  try {
    for (let i = 0; remaining > 0n; i++) {
      if (inFlight.length >= depth) await inFlight.shift()
      const buffer = (buffers[i % depth] ??= Buffer.allocUnsafe(pieceBytes))
      const want = Number(remaining < BigInt(buffer.length) ? remaining : BigInt(buffer.length))
      const filled = readFullySync(handle.fd, buffer, want, Number(position))
      // A FormatError without a file: the caller knows which file it handed over and attaches it.
      if (filled < want) throw new FormatError(`file ends at byte ${position + BigInt(filled)}, before the ${length} bytes from ${offset} it should hold`)
      position += BigInt(want)
      remaining -= BigInt(want)
      const done = Promise.resolve(onPiece(buffer.subarray(0, want)))
      done.catch(() => {})
      inFlight.push(done)
      await pace.pass(want)
    }
  } finally {
    await Promise.allSettled(inFlight)
  }
  await Promise.all(inFlight)
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
