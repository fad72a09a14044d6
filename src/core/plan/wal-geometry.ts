/**
 * What a timeline's WAL segment headers say about the WAL as a whole: the
 * segment size S, whether every header agrees with its file name and with
 * the others, where the segments leave holes, and which LSNs the files
 * cover. Pure: headers in, facts and problems out.
 */
import {effectiveSegmentBytes, MIN_SEGMENT_BYTES, type WalSegmentHeader} from '../format/wal-segment.js'

/** A segment's header beside the index its file name gives. */
export interface PlacedHeader {
  index: bigint
  header: WalSegmentHeader
}

export interface GeometryProblem {
  code: 'wal.name-mismatch' | 'wal.segment-size'
  /** The file-name index of the segment concerned. */
  index: bigint
  message: string
}

export interface WalGeometry {
  /** S as the headers state it; null when no header can (only segment 0, or none). */
  segment_bytes: bigint | null
  /** The segment whose header fixes S (the lowest index above 0). */
  segment_bytes_from_index: bigint | null
  /** The smallest S the headers allow: every segment's records end before (i + 1) × S. */
  min_segment_bytes: bigint
  problems: GeometryProblem[]
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b

/**
 * A segment RedDB creates at index i starts at LSN i × S and holds only LSNs
 * below (i + 1) × S (format.md §5), so any header with i > 0 states S, and
 * RedDB never uses S below 1 MiB. A header naming another index or timeline
 * than its file is refused by RedDB itself ("wal segment index 200 does not
 * match path index 0").
 */
export function walGeometry(segments: PlacedHeader[], timeline: bigint): WalGeometry {
  const problems: GeometryProblem[] = []
  let size: bigint | null = null
  let sizeFrom: bigint | null = null
  const placed: PlacedHeader[] = []
  for (const segment of segments) {
    const {index, header} = segment
    if (header.segment_index !== index) {
      problems.push({code: 'wal.name-mismatch', index, message: `header says segment ${header.segment_index}, file name says ${index}`})
      continue
    }
    if (header.timeline !== timeline) {
      problems.push({code: 'wal.name-mismatch', index, message: `header says timeline ${header.timeline}, directory is timeline ${timeline}`})
      continue
    }
    // One problem per segment: a segment whose start is wrong is not checked for its end.
    if (index === 0n) {
      if (header.start_lsn !== 0n) problems.push({code: 'wal.segment-size', index, message: `segment 0 starts at LSN ${header.start_lsn}, not 0`})
      else placed.push(segment)
      continue
    }
    const implied = header.start_lsn / index
    if (header.start_lsn % index !== 0n || implied < MIN_SEGMENT_BYTES) {
      problems.push({code: 'wal.segment-size', index, message: `starts at LSN ${header.start_lsn}, which is not ${index} × a segment size of at least ${MIN_SEGMENT_BYTES}`})
      continue
    }
    if (size === null) {
      size = implied
      sizeFrom = index
    } else if (implied !== size) {
      problems.push({code: 'wal.segment-size', index, message: `starts at LSN ${header.start_lsn}, so its segment size is ${implied}; segment ${sizeFrom} says ${size}`})
      continue
    }
    placed.push(segment)
  }
  let least = MIN_SEGMENT_BYTES
  for (const {index, header} of placed) {
    if (header.end_lsn <= header.start_lsn) continue
    const needed = ceilDiv(header.end_lsn, index + 1n)
    if (size !== null && needed > size) {
      problems.push({code: 'wal.segment-size', index, message: `holds LSNs up to ${header.end_lsn - 1n}, past its end ${(index + 1n) * size - 1n} at segment size ${size}`})
    }
    if (needed > least) least = needed
  }
  return {segment_bytes: size, segment_bytes_from_index: sizeFrom, min_segment_bytes: least, problems}
}

export type SegmentSizeChoice = {segment_bytes: bigint; source: 'headers' | 'flag' | 'default'; requested: bigint | null}

/**
 * The segment size to plan with: what the headers say, else the flag, else
 * RedDB's default. A flag the headers contradict is returned as a conflict
 * for the caller to refuse.
 */
export function chooseSegmentBytes(geometry: WalGeometry, requested: bigint | undefined, fallback: bigint): SegmentSizeChoice | {conflict: string} {
  const effective = requested === undefined ? undefined : effectiveSegmentBytes(requested)
  const raised = requested !== undefined && effective !== requested ? requested : null
  if (geometry.segment_bytes !== null) {
    if (effective !== undefined && effective !== geometry.segment_bytes) {
      const i = geometry.segment_bytes_from_index!
      return {conflict: `the WAL segment headers say the segment size is ${geometry.segment_bytes} (segment ${i} starts at LSN ${i * geometry.segment_bytes}), not ${effective}`}
    }
    // A flag that agrees changes nothing: the value is the headers'.
    return {segment_bytes: geometry.segment_bytes, source: 'headers', requested: raised}
  }
  const size = effective ?? effectiveSegmentBytes(fallback)
  if (size < geometry.min_segment_bytes) {
    return {conflict: `the WAL holds LSNs that need a segment size of at least ${geometry.min_segment_bytes}, not ${size}`}
  }
  return {segment_bytes: size, source: effective === undefined ? 'default' : 'flag', requested: raised}
}

/** Runs of missing indexes between the lowest and the highest segment, in order. */
export function walGaps(indexes: bigint[]): Array<{first_missing: bigint; last_missing: bigint}> {
  const gaps: Array<{first_missing: bigint; last_missing: bigint}> = []
  for (let i = 1; i < indexes.length; i++) {
    if (indexes[i] > indexes[i - 1] + 1n) gaps.push({first_missing: indexes[i - 1] + 1n, last_missing: indexes[i] - 1n})
  }
  return gaps
}

/** The lowest index of the unbroken run of segments that ends at the highest one; null when there is none. */
export function contiguousRunStart(indexes: bigint[]): bigint | null {
  if (indexes.length === 0) return null
  let start = indexes.length - 1
  while (start > 0 && indexes[start - 1] + 1n === indexes[start]) start--
  return indexes[start]
}
