import {open, stat} from 'node:fs/promises'
import path from 'node:path'

import {crc32, hex32} from '../codec/crc.js'
import {FormatError} from '../errors.js'
import {resolveContained} from '../fs/contained.js'
import {crashPoint} from '../fs/crash.js'
import {pumpRange} from '../fs/stream.js'
import type {BasebackupManifest} from '../model.js'

/**
 * Streams a base backup's snapshot out of its chunk files in manifest order,
 * checking each chunk's path (never outside basebackup/), size and CRC, the
 * whole snapshot's CRC. Any mismatch throws a FormatError naming the file;
 * pieces are handed over only as they are read, so memory stays bounded.
 * Returns the snapshot's first (up to) 4 bytes.
 */
export async function streamVerifiedChunks(
  manifestPath: string,
  manifest: BasebackupManifest,
  onPiece: (piece: Uint8Array, done: bigint) => Promise<void> | void = () => {},
): Promise<Uint8Array> {
  const dir = path.dirname(manifestPath)
  let snapshotCrc = 0
  let done = 0n
  const head = new Uint8Array(4)
  for (const chunk of manifest.chunks) {
    const file = await resolveContained(dir, chunk.relative_path).catch((error) => {
      throw error instanceof FormatError ? error.inFile(manifestPath) : error
    })
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile()) throw new FormatError(`chunk ${chunk.ordinal} (${chunk.relative_path}) is missing`, manifestPath)
    if (BigInt(info.size) !== chunk.bytes) throw new FormatError(`chunk ${chunk.ordinal} holds ${info.size} bytes, the manifest says ${chunk.bytes}`, file)
    let crc = 0
    const handle = await open(file, 'r')
    try {
      await pumpRange(handle, 0n, chunk.bytes, async (piece) => {
        crc = crc32(piece, crc)
        snapshotCrc = crc32(piece, snapshotCrc)
        if (done < 4n) head.set(piece.subarray(0, Number(4n - done)), Number(done))
        done += BigInt(piece.length)
        await onPiece(piece, done)
      })
    } finally {
      await handle.close()
    }
    if (crc !== chunk.checksum) throw new FormatError(`chunk ${chunk.ordinal} checksum mismatch: stored ${hex32(chunk.checksum)}, computed ${hex32(crc)}`, file)
    crashPoint('basebackup-chunks:after-chunk')
  }
  if (snapshotCrc !== manifest.snapshot_checksum) {
    throw new FormatError(`snapshot checksum mismatch: stored ${hex32(manifest.snapshot_checksum)}, computed ${hex32(snapshotCrc)}`, manifestPath)
  }
  return head.subarray(0, done < 4n ? Number(done) : 4)
}
