import {readSync} from 'node:fs'

import {crc32} from '../codec/crc.js'
import {FormatError} from '../errors.js'
import {acceptCandidate, HEAD_BYTES, snapshotRange, superblockCandidates, type SuperblockCandidate} from '../format/embedded-rdb.js'
import {openRegular} from '../fs/open.js'
import {pumpRange} from '../fs/stream.js'

/**
 * Streams the snapshot out of an embedded `.rdb` on disk without holding it
 * in memory: the open rule of §9 is applied candidate by candidate while the
 * snapshot flows to `onPiece`, and a candidate whose snapshot does not
 * check out is abandoned (`onRestart` tells the consumer to start over with
 * the next one). Returns the candidate that was accepted. A consumer that
 * computes the CRC of what it received anyway can pass `consumerCrc`, so the
 * bytes are not run through CRC twice.
 */
export async function streamEmbeddedSnapshot(
  file: string,
  onPiece: (piece: Uint8Array) => Promise<void> | void,
  onRestart: () => Promise<void> | void,
  consumerCrc?: () => number,
): Promise<{candidate: SuperblockCandidate; snapshotBytes: bigint; snapshotChecksum: number}> {
  const {handle} = await openRegular(file)
  try {
    const fileLength = BigInt((await handle.stat()).size)
    const head = new Uint8Array(Math.min(HEAD_BYTES, Number(fileLength)))
    await handle.read(head, 0, head.length, 0)
    let first = true
    const readRange = (offset: bigint, length: number): Uint8Array | undefined => {
      if (offset + BigInt(length) > fileLength) return undefined
      const bytes = new Uint8Array(length)
      readSync(handle.fd, bytes, 0, length, Number(offset))
      return bytes
    }
    for (const candidate of superblockCandidates(head, readRange)) {
      const range = snapshotRange(candidate, fileLength)
      if (range === undefined) continue
      if (!first) await onRestart()
      first = false
      let crc = 0
      const magic = new Uint8Array(4)
      let seen = 0
      await pumpRange(handle, range.offset, range.bytes, async (piece) => {
        if (!consumerCrc) crc = crc32(piece, crc)
        if (seen < 4) magic.set(piece.subarray(0, 4 - seen), seen)
        seen += piece.length
        await onPiece(piece)
      })
      if (consumerCrc) crc = consumerCrc()
      if (acceptCandidate(candidate, fileLength, crc, magic)) return {candidate, snapshotBytes: range.bytes, snapshotChecksum: crc}
    }
    throw new FormatError('no valid embedded superblock: no superblock copy decodes with a snapshot that checks out', file)
  } finally {
    await handle.close()
  }
}
