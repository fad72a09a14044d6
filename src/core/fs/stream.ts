import type {FileHandle} from 'node:fs/promises'

export const IO_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * Reads `length` bytes of a file from `offset` in pieces, reading the next
 * piece while the caller processes the current one (two buffers, so memory
 * stays at 2 × bufferBytes whatever the length). A file shorter than
 * claimed ends with an error naming where it ran out.
 */
export async function pumpRange(
  handle: FileHandle,
  offset: bigint,
  length: bigint,
  onPiece: (piece: Uint8Array) => Promise<void> | void,
  bufferBytes = IO_BUFFER_BYTES,
): Promise<void> {
  const buffers = [Buffer.allocUnsafe(bufferBytes), Buffer.allocUnsafe(bufferBytes)]
  let position = offset
  let remaining = length
  const readInto = async (buffer: Buffer): Promise<Uint8Array> => {
    const want = Number(remaining < BigInt(buffer.length) ? remaining : BigInt(buffer.length))
    let filled = 0
    while (filled < want) {
      const {bytesRead} = await handle.read(buffer, filled, want - filled, Number(position) + filled)
      if (bytesRead === 0) throw new RangeError(`file ends at byte ${position + BigInt(filled)}, before the ${length} bytes from ${offset} it should hold`)
      filled += bytesRead
    }
    position += BigInt(want)
    remaining -= BigInt(want)
    return buffer.subarray(0, want)
  }
  if (remaining === 0n) return
  let turn = 0
  let next: Promise<Uint8Array> | undefined = readInto(buffers[turn])
  while (next) {
    const piece = await next
    turn ^= 1
    next = remaining > 0n ? readInto(buffers[turn]) : undefined
    await onPiece(piece)
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
