import {closeSync, fdatasync, fsyncSync, openSync, readSync, writeSync} from 'node:fs'
import {setImmediate as nextTurn} from 'node:timers/promises'
import {promisify} from 'node:util'
import zlib from 'node:zlib'

/**
 * The floor for a durable copy from Node: a plain loop of synchronous
 * 1 MiB reads and writes, CRC-32 over every piece, and an fdatasync of
 * the copy started once 64 MiB are unflushed and none is in flight, so
 * write-back runs beside the copy and never holds it up, with a turn of
 * the event loop every 16 MiB (the flush-behind of fs/flush-behind.ts and
 * the pace of fs/pace.ts). The bench times it next to `cp && sync -f` and redrepl, so the
 * table tells Node's own I/O path apart from what redrepl adds.
 *
 *   node dist/bench/durable-copy.js SRC DST
 */

const PIECE_BYTES = 1024 * 1024
const FLUSH_EVERY_BYTES = 64 * 1024 * 1024
const YIELD_EVERY_BYTES = 16 * 1024 * 1024
const datasync = promisify(fdatasync)

async function durableCopy(source: string, target: string): Promise<number> {
  const input = openSync(source, 'r')
  const output = openSync(target, 'wx')
  const buffer = Buffer.allocUnsafe(PIECE_BYTES)
  let crc = 0
  let unflushed = 0
  let copied = 0
  let flushing: Promise<void> | undefined
  for (;;) {
    const read = readSync(input, buffer, 0, PIECE_BYTES, null)
    if (read === 0) break
    const piece = buffer.subarray(0, read)
    crc = zlib.crc32(piece, crc)
    for (let written = 0; written < read; ) written += writeSync(output, piece, written, read - written)
    unflushed += read
    if (unflushed >= FLUSH_EVERY_BYTES && flushing === undefined) {
      flushing = datasync(output).then(() => {
        flushing = undefined
      })
      unflushed = 0
    }
    // The loop is synchronous: the event loop gets a turn now and then, or no flush would ever be seen to finish.
    if ((copied += read) % YIELD_EVERY_BYTES < read) await nextTurn()
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
