import {closeSync, constants, copyFileSync, fsyncSync, openSync, readSync} from 'node:fs'
import zlib from 'node:zlib'

/**
 * The lower bound for a copy that checks every byte: the kernel copies the
 * file (`copyFile`, which is `copy_file_range` on Linux, as `cp` uses),
 * then one pass reads the copy back from the page cache through one
 * reusable 1 MiB buffer for its CRC-32 (a running value), and an fsync
 * makes it durable. Each byte crosses into the process once and is never
 * written from it. The bench pairs it with `cp SRC DST && sync -f DST`, as
 * it pairs redrepl: what is between this and `cp` is the price of looking
 * at the bytes from Node, what is between redrepl and this is redrepl's.
 *
 *   node dist/bench/durable-copy.js SRC DST
 */

const PIECE_BYTES = 1024 * 1024

function checkedCopy(source: string, target: string): number {
  copyFileSync(source, target, constants.COPYFILE_EXCL)
  const fd = openSync(target, 'r+')
  const buffer = Buffer.allocUnsafe(PIECE_BYTES)
  let crc = 0
  for (;;) {
    const read = readSync(fd, buffer, 0, PIECE_BYTES, null)
    if (read === 0) break
    crc = zlib.crc32(buffer.subarray(0, read), crc)
  }
  fsyncSync(fd)
  closeSync(fd)
  return crc >>> 0
}

const [source, target] = process.argv.slice(2)
if (source === undefined || target === undefined) {
  process.stderr.write('usage: durable-copy SRC DST\n')
  process.exit(2)
}
checkedCopy(source, target)
