import {toHex} from '../../codec/hex.js'
import {notFound, usageError} from '../../errors.js'
import {walSegmentCodec} from '../../format/wal-segment.js'
import {readArtifact} from '../node/artifact-file.js'
import {Layout} from '../../layout.js'
import type {WalRecord} from '../../model.js'
import {readCurrentTimeline} from '../node/state.js'
import {readWalState, requireSoundWal, type WalSegmentState} from './state.js'

export interface DumpedRecord extends WalRecord {
  segment_path: string
  timeline: bigint
  segment_index: bigint
}

/** Every record of one segment file. */
export async function dumpSegmentFile(file: string): Promise<DumpedRecord[]> {
  const segment = await readArtifact(file, walSegmentCodec, {nowMs: 0n})
  return segment.records.map((record) => ({...record, segment_path: file, timeline: segment.timeline, segment_index: segment.segment_index}))
}

/** Part of a requested range that no segment on disk can hold. */
export interface MissingRange {
  from_lsn: bigint
  to_lsn: bigint
  why: 'before-oldest-segment' | 'missing-segment' | 'past-wal-head'
}

export interface LsnRangeDump {
  timeline: bigint
  from_lsn: bigint
  from_lsn_source: 'flag' | 'oldest-segment'
  to_lsn: bigint
  to_lsn_source: 'flag' | 'wal-head'
  wal_head_lsn: bigint
  segments_read: bigint[]
  missing: MissingRange[]
  records: DumpedRecord[]
}

const WHY_TEXT: Record<MissingRange['why'], string> = {
  'before-oldest-segment': 'before the oldest segment on disk',
  'missing-segment': 'in a missing segment',
  'past-wal-head': 'past the WAL head',
}

export const describeMissing = (m: MissingRange) => `LSNs ${m.from_lsn}..${m.to_lsn} are not on disk (${WHY_TEXT[m.why]})`

/**
 * The records with fromLsn ≤ LSN ≤ toLsn across the current timeline's
 * segments, in order. Only the segments whose LSN range meets the request
 * are decoded, so damage elsewhere does not stop it. A range no segment on
 * disk can hold is reported as not found; parts of one as `missing`.
 */
export async function dumpLsnRange(layout: Layout, fromFlag: bigint | undefined, toFlag: bigint | undefined): Promise<LsnRangeDump> {
  const timeline = await readCurrentTimeline(layout)
  const state = await readWalState(layout, timeline)
  const size = state.geometry.segment_bytes
  // Segment i holds LSNs [i × S, (i + 1) × S); with no header stating S only segment 0 exists.
  const startOf = (s: WalSegmentState) => (size === null ? 0n : s.index * size)
  const endOf = (s: WalSegmentState) => (size === null ? null : (s.index + 1n) * size - 1n)
  const newest = [...state.segments].reverse().find((s) => s.header !== null && s.header.record_count > 0n)
  if (newest === undefined) throw notFound(`${state.dir}: timeline ${timeline} holds no WAL record`)
  const head = newest.header!.end_lsn - 1n
  const from = fromFlag ?? startOf(state.segments[0])
  const to = toFlag ?? head
  if (to < from) throw usageError(`--to-lsn ${to} is below --from-lsn ${from}`)

  // Nothing past the head is on disk, whatever segment ranges say.
  const upTo = to < head ? to : head
  const selected = from > upTo ? [] : state.segments.filter((s) => startOf(s) <= upTo && (endOf(s) ?? head) >= from)
  requireSoundWal(state, (index) => selected.some((s) => s.index === index))

  const missing: MissingRange[] = []
  let cursor = from
  for (const s of state.segments) {
    if (cursor > upTo) break
    const start = startOf(s)
    const end = endOf(s) ?? head
    if (end < cursor) continue
    if (start > cursor) {
      const last = start - 1n < upTo ? start - 1n : upTo
      missing.push({from_lsn: cursor, to_lsn: last, why: s === state.segments[0] ? 'before-oldest-segment' : 'missing-segment'})
    }
    cursor = end + 1n
  }
  if (to > head) missing.push({from_lsn: from > head ? from : head + 1n, to_lsn: to, why: 'past-wal-head'})
  if (selected.length === 0) {
    throw notFound(`${state.dir}: ${missing.map(describeMissing).join('; ')}; the WAL holds LSNs ${startOf(state.segments[0])}..${head}`)
  }

  const records: DumpedRecord[] = []
  for (const s of selected) {
    for (const record of await dumpSegmentFile(s.path)) if (record.lsn >= from && record.lsn <= to) records.push(record)
  }
  return {
    timeline,
    from_lsn: from,
    from_lsn_source: fromFlag === undefined ? 'oldest-segment' : 'flag',
    to_lsn: to,
    to_lsn_source: toFlag === undefined ? 'wal-head' : 'flag',
    wal_head_lsn: head,
    segments_read: selected.map((s) => s.index),
    missing,
    records,
  }
}

export type PayloadFormat = 'hex' | 'base64' | 'text' | 'none'

/** One record as `wal dump` reports it, its payload rendered as asked. */
export interface RecordRow {
  segment_index: bigint
  timeline: bigint
  sequence: bigint
  lsn: bigint
  payload_bytes: number
  payload: string | null
}

/**
 * `wal dump`'s document, for a segment file or an LSN range: the range
 * fields are null for a file (from_lsn and to_lsn are both inclusive, as the
 * flags give them).
 */
export interface WalDumpReport {
  segment_path: string | null
  timeline: bigint
  from_lsn: bigint | null
  from_lsn_source: LsnRangeDump['from_lsn_source'] | null
  to_lsn: bigint | null
  to_lsn_source: LsnRangeDump['to_lsn_source'] | null
  wal_head_lsn: bigint | null
  segments_read: bigint[]
  missing: MissingRange[]
  payload_format: PayloadFormat
  records: RecordRow[]
}

function renderPayload(payload: Uint8Array, format: PayloadFormat): string | null {
  switch (format) {
    case 'hex':
      return toHex(payload)
    case 'base64':
      return Buffer.from(payload).toString('base64')
    case 'text':
      // Printable ASCII as is, everything else escaped, so a terminal never receives control bytes.
      return [...payload].map((byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('')
    case 'none':
      return null
  }
}

const rowsOf = (records: DumpedRecord[], format: PayloadFormat): RecordRow[] =>
  records.map((record) => ({
    segment_index: record.segment_index,
    timeline: record.timeline,
    sequence: record.sequence,
    lsn: record.lsn,
    payload_bytes: record.payload.length,
    payload: renderPayload(record.payload, format),
  }))

/** The records of one segment file, as `wal dump FILE` reports them. */
export async function dumpSegmentReport(file: string, format: PayloadFormat): Promise<WalDumpReport> {
  const segment = await readArtifact(file, walSegmentCodec, {nowMs: 0n})
  const records = segment.records.map((record) => ({...record, segment_path: file, timeline: segment.timeline, segment_index: segment.segment_index}))
  return {
    segment_path: file,
    timeline: segment.timeline,
    from_lsn: null,
    from_lsn_source: null,
    to_lsn: null,
    to_lsn_source: null,
    wal_head_lsn: null,
    segments_read: [segment.segment_index],
    missing: [],
    payload_format: format,
    records: rowsOf(records, format),
  }
}

/** The records of an LSN range, as `wal dump --data-path` reports them. */
export async function dumpRangeReport(layout: Layout, fromLsn: bigint | undefined, toLsn: bigint | undefined, format: PayloadFormat): Promise<WalDumpReport> {
  const {records, ...range} = await dumpLsnRange(layout, fromLsn, toLsn)
  return {segment_path: null, ...range, payload_format: format, records: rowsOf(records, format)}
}
