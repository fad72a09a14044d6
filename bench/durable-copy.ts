import {closeSync, fdatasync, fsyncSync, openSync, readSync, writeSync} from 'node:fs'
import {promisify} from 'node:util'
import zlib from 'node:zlib'

/**
 * The floor for a durable copy from Node: a plain loop of synchronous
 * 1 MiB reads and writes, CRC-32 over every piece, and an fdatasync of
 * the copy started every 64 MiB (one at a time) so write-back runs beside
 * the copy. The bench times it next to `cp && sync -f` and redrepl, so the
 * table tells Node's own I/O path apart from what redrepl adds.
 *
 *   node dist/bench/durable-copy.js SRC DST
 */

const PIECE_BYTES = 1024 * 1024
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024
const datasync = promisify(fdatasync)

async function durableCopy(source: string, target: string): Promise<number> {
  const input = openSync(source, 'r')
  const output = openSync(target, 'wx')
  const buffer = Buffer.allocUnsafe(PIECE_BYTES)
  let crc = 0
  let unflushed = 0
  let flushing: Promise<void> = Promise.resolve()
  for (;;) {
    const read = readSync(input, buffer, 0, PIECE_BYTES, null)
    if (read === 0) break
    const piece = buffer.subarray(0, read)
    crc = zlib.crc32(piece, crc)
    for (let written = 0; written < read; ) written += writeSync(output, piece, written, read - written)
    unflushed += read
    if (unflushed >= FLUSH_EVERY_BYTES) {
      await flushing
      flushing = datasync(output)
      unflushed = 0
    }
  }
  await flushing
  fsyncSync(output)
  closeSync(output)
  closeSync(input)
  return crc >>> 0
}

const [source, target] = process.argv.slice(2)
if (source === undefined || target === undefined) {
  process.stderr.write('usage: durable-copy SRC DST\n')
  process.exit(2)
}
await durableCopy(source, target)
