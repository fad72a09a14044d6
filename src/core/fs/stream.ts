import type {FileHandle} from 'node:fs/promises'

import {FormatError} from '../errors.js'

export const IO_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * Reads `length` bytes of a file from `offset` in pieces and hands each to
 * `onPiece` in order. `onPiece` may return before it is done with a piece
 * (a write still in flight): up to `depth` pieces are in flight at once,
 * each in its own buffer, so memory stays at depth × bufferBytes whatever
 * the length. A file shorter than claimed ends with an error naming where
 * it ran out.
 */
export async function pumpRange(
  handle: FileHandle,
  offset: bigint,
  length: bigint,
  onPiece: (piece: Uint8Array) => Promise<void> | void,
  bufferBytes = IO_BUFFER_BYTES,
  depth = 4,
): Promise<void> {
  const buffers: Buffer[] = []
  const inFlight: Array<Promise<void>> = []
  let position = offset
  let remaining = length
  try {
    for (let i = 0; remaining > 0n; i++) {
      if (inFlight.length >= depth) await inFlight.shift()
      const buffer = (buffers[i % depth] ??= Buffer.allocUnsafe(bufferBytes))
      const want = Number(remaining < BigInt(buffer.length) ? remaining : BigInt(buffer.length))
      let filled = 0
      while (filled < want) {
        const {bytesRead} = await handle.read(buffer, filled, want - filled, Number(position) + filled)
        // A FormatError without a file: the caller knows which file it handed over and attaches it.
        if (bytesRead === 0) throw new FormatError(`file ends at byte ${position + BigInt(filled)}, before the ${length} bytes from ${offset} it should hold`)
        filled += bytesRead
      }
      position += BigInt(want)
      remaining -= BigInt(want)
      const done = Promise.resolve(onPiece(buffer.subarray(0, want)))
      done.catch(() => {})
      inFlight.push(done)
    }
  } finally {
    await Promise.allSettled(inFlight)
  }
  await Promise.all(inFlight)
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
