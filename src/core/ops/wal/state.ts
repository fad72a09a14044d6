/**
 * A timeline's WAL as its files state it: every segment's header (read
 * without its records), the segment size and problems they imply, the head,
 * and the LSNs the segments on disk can serve.
 */
import path from 'node:path'

import {crc32} from '../../codec/crc.js'
import {FormatError, RedreplError} from '../../errors.js'
import {decodeWalSegmentHeader, WAL_SEGMENT_HEADER_BYTES, type WalSegmentHeader} from '../../format/wal-segment.js'
import {readPrefixIfExists} from '../../fs/open.js'
import {Layout} from '../../layout.js'
import {contiguousRunStart, walGaps, walGeometry, type WalGeometry} from '../../plan/wal-geometry.js'
import {listWalSegments, readWalHead, type WalSegmentFile} from '../node/state.js'

export interface WalSegmentState extends WalSegmentFile {
  /** Null when the header cannot be read; `error` says why. */
  header: WalSegmentHeader | null
  /** CRC-32 of the header bytes (what a saved plan pins a segment by); null with the header. */
  header_crc32: number | null
  error: FormatError | null
}

export interface WalState {
  timeline: bigint
  dir: string
  segments: WalSegmentState[]
  geometry: WalGeometry
}

/** Lists the timeline's segments and reads every header; reads no records. */
export async function readWalState(layout: Layout, timeline: bigint): Promise<WalState> {
  const segments: WalSegmentState[] = []
  const header = new Uint8Array(WAL_SEGMENT_HEADER_BYTES)
  for (const file of await listWalSegments(layout, timeline)) {
    // Any size: only the header is read (a segment's size is judged from its header and the listing, not refused here).
    const read = readPrefixIfExists(file.path, header, Number.MAX_SAFE_INTEGER, 'WAL segment')
    if (read !== undefined) segments.push(walSegmentState(file, header.slice(0, read.length)))
  }
  return walStateOf(layout, timeline, segments)
}

/** A segment's state from its first bytes (at least its header, when the file holds one). */
export function walSegmentState(file: WalSegmentFile, firstBytes: Uint8Array): WalSegmentState {
  const prefix = firstBytes.subarray(0, WAL_SEGMENT_HEADER_BYTES)
  // Built field by field, not spread: this runs once per segment, 100,000 times on a large node.
  const {index, bytes} = file
  try {
    return {index, path: file.path, bytes, header: decodeWalSegmentHeader(prefix), header_crc32: crc32(prefix), error: null}
  } catch (error) {
    if (!(error instanceof FormatError)) throw error
    return {index, path: file.path, bytes, header: null, header_crc32: null, error: error.inFile(file.path)}
  }
}

/** The WAL state of segments already read, in index order. */
export function walStateOf(layout: Layout, timeline: bigint, segments: WalSegmentState[]): WalState {
  const readable = segments.flatMap((s) => (s.header === null ? [] : [{index: s.index, header: s.header}]))
  return {timeline, dir: layout.walDir(timeline), segments, geometry: walGeometry(readable, timeline)}
}

const HINTS: Record<WalGeometry['problems'][number]['code'], string> = {
  'wal.name-mismatch': 'RedDB refuses to plan with such a file: move it out of the wal directory (redrepl layout verify lists every one)',
  'wal.segment-size': 'the headers do not agree on one segment size, so no LSN range can be trusted; redrepl layout verify lists every segment concerned',
}

/**
 * Throws unless every header reads and agrees with its file name and the
 * others: a plan built on them would place LSNs in the wrong segments.
 * `only` limits the unreadable-header check to the segments a caller reads.
 */
export function requireSoundWal(state: WalState, only?: (index: bigint) => boolean): void {
  const unreadable = state.segments.find((s) => s.error !== null && (only === undefined || only(s.index)))
  if (unreadable) throw unreadable.error!
  const problem = state.geometry.problems[0]
  if (problem) {
    const file = state.segments.find((s) => s.index === problem.index)!.path
    throw new RedreplError('corrupt', `${file}: ${problem.message}`, {code: problem.code, hint: HINTS[problem.code]})
  }
}

export const walIndexes = (state: WalState) => state.segments.map((s) => s.index)

export const walGapsOf = (state: WalState) => walGaps(walIndexes(state))

/** The segment that starts the unbroken run ending at the newest segment; undefined without WAL. */
export function contiguousRun(state: WalState): WalSegmentState | undefined {
  const first = contiguousRunStart(walIndexes(state))
  return first === null ? undefined : state.segments.find((s) => s.index === first)
}

/**
 * The oldest LSN the timeline can serve from WAL: the start of the unbroken
 * run of segments that ends at the newest. Below a hole the files cannot
 * prove that no record is missing, so that WAL is not offered. 0 without WAL.
 */
export function walAvailableFrom(state: WalState): bigint {
  return contiguousRun(state)?.header?.start_lsn ?? 0n
}

/** The head (last LSN written) of a timeline whose WAL state was read. */
export async function walHeadOf(layout: Layout, state: WalState): Promise<bigint | null> {
  return readWalHead(layout, state.timeline, state.segments)
}

/** A path as findings show it: relative to the layout's parent. */
export const findingPath = (layout: Layout, file: string) => path.relative(path.dirname(layout.root), file) || file
