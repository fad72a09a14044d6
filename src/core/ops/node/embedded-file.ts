import {crc32} from '../../codec/crc.js'
import {FormatError, refused} from '../../errors.js'
import {
  acceptCandidate,
  HEAD_BYTES,
  joinRanges,
  liveWalRanges,
  looksLikeDatabase,
  NO_SNAPSHOT_ACCEPTED,
  releaseShownBy,
  scanWalFrames,
  sliceOf,
  snapshotRange,
  superblockCandidates,
  type ByteRange,
  type ReadRange,
  type SuperblockCandidate,
} from '../../format/embedded-rdb.js'
import {absentAsUndefined} from '../../fs/io-error.js'
import {stat} from '../../fs/metadata.js'
import {openRegular, openRegularIfExists} from '../../fs/open.js'
import type {Pace} from '../../fs/pace.js'
import {pumpRange, readFullySync, type FileHandle} from '../../fs/stream.js'
import type {RdbFormat, RedDBRelease} from '../../model.js'

/**
 * Opens embedded `.rdb` databases on disk without holding them in memory:
 * the open rules of §9 (1.12's or 1.23's) applied candidate by candidate
 * while the snapshot streams past, the live WAL located and checked, and
 * read only on request and within a bound.
 */

/** The most live WAL bytes read into memory: RedDB creates a 64 KiB region; a checkpoint grows it only on request. */
export const MAX_LIVE_WAL_BYTES = 64 * 1024 * 1024

export interface OpenedEmbeddedFile {
  file: string
  /** Whose rules it was opened by. */
  rules: RedDBRelease
  /** Whose the file itself shows it is: 1.23's when a superblock is stored in layout 2. */
  shownRelease: RedDBRelease
  /** 2 when the manifest in effect is version 2 (RedDB 1.23's own), else 1. */
  format: RdbFormat
  candidate: SuperblockCandidate
  snapshotBytes: bigint
  snapshotChecksum: number
  /** Where the live WAL lies, in order, already checked against the region and the file. */
  walRanges: ByteRange[]
  /** Opened by 1.12's rules, what would stop RedDB 1.23 from opening it (§9.2: no manifest fallback, stricter WAL checks). */
  refusedBy123?: string
}

/** A regular file only: a FIFO or a device where a database belongs is refused, never waited on. */
async function openForRead(file: string): Promise<FileHandle> {
  return (await openRegular(file)).handle
}

async function readHead(handle: FileHandle, fileLength: bigint): Promise<Uint8Array> {
  const head = new Uint8Array(Number(fileLength < BigInt(HEAD_BYTES) ? fileLength : BigInt(HEAD_BYTES)))
  let filled = 0
  while (filled < head.length) {
    const {bytesRead} = await handle.read(head, filled, head.length - filled, filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return head.subarray(0, filled)
}

/**
 * Which RedDB a database file shows it belongs to, from its first bytes
 * only (the file need not open): 'reddb-1.23' when a superblock is stored
 * in layout 2, 'reddb-1.12' when its superblocks are all layout 1, and
 * undefined when it does not start like a database (or does not exist).
 */
export async function releaseOfDatabaseFile(file: string): Promise<RedDBRelease | undefined> {
  const info = await stat(file).catch(absentAsUndefined('stat', file))
  if (!info?.isFile()) return undefined
  const opened = await openRegularIfExists(file)
  if (opened === undefined) return undefined
  const handle = opened.handle
  try {
    const head = await readHead(handle, BigInt(opened.size))
    return looksLikeDatabase(head) ? releaseShownBy(head) : undefined
  } finally {
    await handle.close()
  }
}

/**
 * The format of a database file from its first bytes only (superblocks and
 * manifests lie in them): the version of the manifest in effect for the
 * newest superblock copy, by the rules the file shows. Undefined when it is
 * absent, does not start like a database or its head does not decode (a
 * full read, as layout verify makes, says why). Cheap enough for every
 * monitoring run, which does not read the snapshot.
 */
export async function formatOfDatabaseHead(file: string): Promise<RdbFormat | undefined> {
  const opened = await openRegularIfExists(file)
  if (opened === undefined) return undefined
  try {
    const head = await readHead(opened.handle, BigInt(opened.size))
    if (!looksLikeDatabase(head)) return undefined
    for (const candidate of superblockCandidates(head, sliceOf(head), releaseShownBy(head))) return candidate.manifest.version === 2 ? 2 : 1
    return undefined
  } catch (error) {
    if (error instanceof FormatError) return undefined
    throw error
  } finally {
    await opened.handle.close()
  }
}

/** What would stop RedDB 1.23 from opening a file that 1.12's rules opened at `selected`. */
function refusalUnder123(head: Uint8Array, readRange: ReadRange, fileLength: bigint, selected: SuperblockCandidate): string | undefined {
  try {
    for (const candidate of superblockCandidates(head, readRange, 'reddb-1.23')) {
      snapshotRange(candidate, fileLength, 'reddb-1.23')
      if (candidate.superblock.copy_index !== selected.superblock.copy_index) continue
      liveWalRanges(candidate, fileLength, 'reddb-1.23')
      return undefined
    }
    return undefined
  } catch (error) {
    if (error instanceof FormatError) return error.problem
    throw error
  }
}

/**
 * Streams the snapshot out of an embedded `.rdb` on disk: a candidate
 * whose snapshot does not check out is abandoned (`onRestart` tells the
 * consumer to start over with the next one). A consumer that computes the
 * CRC of what it received anyway can pass `consumerCrc`, so the bytes are
 * not run through CRC twice. `reddb` names the rules; absent, the file's
 * superblocks say (§9.2: a layout-2 superblock is 1.23's). Each piece comes
 * with the size of the snapshot it belongs to, for progress.
 */
export async function streamEmbeddedSnapshot(
  file: string,
  onPiece: (piece: Uint8Array, snapshotBytes: bigint) => Promise<void> | void,
  onRestart: () => Promise<void> | void,
  consumerCrc?: () => number,
  reddb?: RedDBRelease,
  /** The pace of the read (fs/pace.ts): `--max-rate`, and the event loop's turn. */
  pace?: Pace,
): Promise<OpenedEmbeddedFile> {
  const handle = await openForRead(file)
  try {
    const info = await handle.stat()
    const fileLength = BigInt(info.size)
    const head = await readHead(handle, fileLength)
    const shownRelease = releaseShownBy(head)
    const rules = reddb ?? shownRelease
    const readRange: ReadRange = (offset, length) => {
      if (offset + BigInt(length) > fileLength) return undefined
      const bytes = new Uint8Array(length)
      readFullySync(handle.fd, bytes, length, Number(offset))
      return bytes
    }
    let first = true
    for (const candidate of superblockCandidates(head, readRange, rules)) {
      const range = snapshotRange(candidate, fileLength, rules)
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
        await onPiece(piece, range.bytes)
      }, {pace})
      if (consumerCrc) crc = consumerCrc()
      if (!acceptCandidate(candidate, fileLength, crc, magic, rules)) continue
      const opened: OpenedEmbeddedFile = {
        file,
        rules,
        shownRelease,
        format: candidate.manifest.version === 2 ? 2 : 1,
        candidate,
        snapshotBytes: range.bytes,
        snapshotChecksum: crc,
        walRanges: liveWalRanges(candidate, fileLength, rules),
      }
      const refusal = rules === 'reddb-1.12' ? refusalUnder123(head, readRange, fileLength, candidate) : undefined
      if (refusal !== undefined) opened.refusedBy123 = refusal
      return opened
    }
    throw new FormatError(NO_SNAPSHOT_ACCEPTED)
  } catch (error) {
    if (error instanceof FormatError && error.file === undefined) throw error.inFile(file)
    throw error
  } finally {
    await handle.close()
  }
}

/** The WAL payloads of an opened database, read from its live ranges (at most MAX_LIVE_WAL_BYTES). */
export async function readEmbeddedWal(opened: OpenedEmbeddedFile): Promise<Uint8Array[]> {
  const total = opened.walRanges.reduce((sum, range) => sum + range.bytes, 0n)
  if (total === 0n) return []
  if (total > BigInt(MAX_LIVE_WAL_BYTES)) throw refused(`${opened.file}: its live WAL holds ${total} bytes, more than the ${MAX_LIVE_WAL_BYTES} redrepl reads into memory`)
  const handle = await openForRead(opened.file)
  try {
    const pieces: Uint8Array[] = []
    for (const range of opened.walRanges) {
      const piece = new Uint8Array(Number(range.bytes))
      let filled = 0
      await pumpRange(handle, range.offset, range.bytes, (chunk) => {
        piece.set(chunk, filled)
        filled += chunk.length
      })
      pieces.push(piece)
    }
    return scanWalFrames(joinRanges(pieces))
  } catch (error) {
    if (error instanceof RangeError) throw new FormatError(`WAL zone failed validation: ${error.message}`, opened.file)
    throw error
  } finally {
    await handle.close()
  }
}
