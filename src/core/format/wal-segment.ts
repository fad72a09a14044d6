import {crc32, hex32} from '../codec/crc.js'
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {U64_MAX} from '../codec/limits.js'
import {ByteReader} from '../codec/reader.js'
import {checkCount, expectConsumed, openSealed} from '../codec/sealed.js'
import {toHex} from '../codec/hex.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError, refused} from '../errors.js'
import type {WalRecord, WalSegment} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonHex, jsonU64} from './json-fields.js'

const MAGIC = 'RDPWAL01'
const RECORD_MAGIC = 'RDWREC01'
const NAME = 'primary-replica wal segment'
const HEADER_BYTES = 8 + 2 + 8 * 6 + 4
// format.md says 48 and 44; RedDB's files have a 44-byte header whose CRC covers the 40 bytes before it.
const FRAME_HEADER_BYTES = 44
/** The frame header bytes covered by header_crc: everything before it. */
const FRAME_HEADER_CRC_SPAN = 40

export const DEFAULT_SEGMENT_BYTES = 67_108_864n
export const MIN_SEGMENT_BYTES = 1_048_576n

/** RedDB raises a configured segment size below 1 MiB to 1 MiB. */
export function effectiveSegmentBytes(configured: bigint): bigint {
  return configured < MIN_SEGMENT_BYTES ? MIN_SEGMENT_BYTES : configured
}

export function segmentIndexForLsn(lsn: bigint, segmentBytes: bigint): bigint {
  return lsn / effectiveSegmentBytes(segmentBytes)
}

/** end_lsn − 1 when the segment holds a record; null when it is empty. */
export function walSegmentHead(segment: WalSegment): bigint | null {
  return segment.records.length === 0 ? null : segment.end_lsn - 1n
}

/** Plain u64 arithmetic as RedDB does it: the end after LSN u64::MAX wraps. */
const nextLsn = (lsn: bigint) => (lsn === U64_MAX ? 0n : lsn + 1n)

export function emptyWalSegment(timeline: bigint, index: bigint, segmentBytes: bigint): WalSegment {
  const start = index * effectiveSegmentBytes(segmentBytes)
  return {timeline, segment_index: index, start_lsn: start, end_lsn: start, records: []}
}

/**
 * Appends LSN `lsn` as RedDB does (§5): it must fall inside the segment's
 * LSN range and at or after end_lsn; its sequence follows the last one (0
 * in an empty segment). Returns a new segment model.
 */
export function appendWalRecord(segment: WalSegment, lsn: bigint, payload: Uint8Array, segmentBytes: bigint): WalSegment {
  const size = effectiveSegmentBytes(segmentBytes)
  const first = segment.segment_index * size
  if (lsn < first || lsn >= first + size) {
    throw refused(`LSN ${lsn} does not belong to WAL segment ${segment.segment_index} (LSNs ${first}..${first + size - 1n})`)
  }
  if (lsn < segment.end_lsn) throw refused(`LSN ${lsn} is below the segment's end LSN ${segment.end_lsn}`)
  const last = segment.records.at(-1)
  const record = {sequence: last ? last.sequence + 1n : 0n, lsn, payload}
  return {...segment, end_lsn: nextLsn(lsn), records: [...segment.records, record]}
}

/** A record frame's header fields (§5), its header CRC checked: shared by the decode and the streaming check. */
function readFrameHead(reader: ByteReader, index: number | bigint): {sequence: bigint; lsn: bigint; payloadLength: number; payloadCrc: number; storedPrevious: number; header: Uint8Array} {
  const frameStart = reader.offset
  reader.magic(RECORD_MAGIC, 'invalid wal record magic')
  const version = reader.u16()
  if (version !== 1) throw new FormatError(`unsupported wal record version ${version}`)
  reader.u16() // flags: written as 0, ignored on read (header_crc covers them)
  const sequence = reader.u64()
  const lsn = reader.u64()
  const payloadLength = reader.u32()
  const payloadCrc = reader.u32()
  const storedPrevious = reader.u32()
  const headerCrc = reader.u32()
  const header = reader.bytes.subarray(frameStart, frameStart + FRAME_HEADER_BYTES)
  const computedHeader = crc32(header.subarray(0, FRAME_HEADER_CRC_SPAN))
  if (headerCrc !== computedHeader) {
    throw new FormatError(`wal record ${index} header checksum mismatch: stored ${hex32(headerCrc)}, computed ${hex32(computedHeader)}`)
  }
  return {sequence, lsn, payloadLength, payloadCrc, storedPrevious, header}
}

function readFrame(reader: ByteReader, index: number, previousFrameCrc: number): {record: WalRecord; frameCrc: number} {
  const {sequence, lsn, payloadLength, payloadCrc, storedPrevious, header} = readFrameHead(reader, index)
  const payload = reader.bytesView(payloadLength)
  const computedPayload = crc32(payload)
  if (payloadCrc !== computedPayload) {
    throw new FormatError(`wal record payload checksum mismatch: stored ${hex32(payloadCrc)}, computed ${hex32(computedPayload)}`)
  }
  if (storedPrevious !== previousFrameCrc) {
    throw new FormatError(`wal record previous crc mismatch: stored ${hex32(storedPrevious)}, expected ${hex32(previousFrameCrc)}`)
  }
  return {record: {sequence, lsn, payload}, frameCrc: crc32(payload, crc32(header))}
}

/** Magic, version, then the fields that place the segment (§5): shared by the full decode and the header-only one. */
function readHeadFields(reader: ByteReader): {timeline: bigint; segment_index: bigint; start_lsn: bigint; end_lsn: bigint} {
  reader.magic(MAGIC, 'invalid wal segment magic')
  const version = reader.u16()
  if (version !== 1) throw new FormatError(`unsupported primary-replica wal version ${version}`)
  return {timeline: reader.u64(), segment_index: reader.u64(), start_lsn: reader.u64(), end_lsn: reader.u64()}
}

/** Decodes a segment; record payloads are views into `bytes`, not copies. */
function decode(bytes: Uint8Array): WalSegment {
  const reader = openSealed(bytes, NAME)
  const {timeline, segment_index, start_lsn, end_lsn} = readHeadFields(reader)
  const count = checkCount(reader, reader.u64(), FRAME_HEADER_BYTES, 'wal record')
  const payloadBytes = reader.u64()
  const tailCrc = reader.u32()
  const records: WalRecord[] = []
  let previousCrc = 0
  let expectedFrom = start_lsn
  let totalPayload = 0n
  for (let i = 0; i < count; i++) {
    const {record, frameCrc} = readFrame(reader, i, previousCrc)
    if (record.lsn < expectedFrom) throw new FormatError(`wal record lsn ${record.lsn} overlaps previous end ${expectedFrom}`)
    const last = records.at(-1)
    if (last && record.sequence !== last.sequence + 1n) {
      throw new FormatError(`wal record sequence ${record.sequence} does not follow ${last.sequence}`)
    }
    records.push(record)
    previousCrc = frameCrc
    expectedFrom = nextLsn(record.lsn)
    totalPayload += BigInt(record.payload.length)
  }
  const computedEnd = records.length === 0 ? start_lsn : expectedFrom
  if (end_lsn !== computedEnd) throw new FormatError(`wal segment end lsn mismatch: stored ${end_lsn}, computed ${computedEnd}`)
  if (payloadBytes !== totalPayload) throw new FormatError(`wal segment payload bytes mismatch: stored ${payloadBytes}, computed ${totalPayload}`)
  if (tailCrc !== previousCrc) throw new FormatError(`wal segment tail crc mismatch: stored ${hex32(tailCrc)}, computed ${hex32(previousCrc)}`)
  expectConsumed(reader, NAME)
  return {timeline, segment_index, start_lsn, end_lsn, records}
}

/** The fixed header fields of a segment, enough to place it without reading its records. */
export interface WalSegmentHeader {
  timeline: bigint
  segment_index: bigint
  start_lsn: bigint
  end_lsn: bigint
  record_count: bigint
}

/** Bytes a reader needs for `decodeWalSegmentHeader`. */
export const WAL_SEGMENT_HEADER_BYTES = HEADER_BYTES

/**
 * Reads the header of a segment from its first bytes. The file's CRC covers
 * the whole file and is not checked here: callers that act on more than the
 * segment's place (its records) decode it in full.
 */
export function decodeWalSegmentHeader(prefix: Uint8Array): WalSegmentHeader {
  const reader = new ByteReader(prefix, `${NAME} is too short for its header`)
  return {...readHeadFields(reader), record_count: reader.u64()}
}

/**
 * The rules of `decode` (§5), applied to a segment as its bytes arrive, so a
 * download can be checked on its way to disk without being held: one frame
 * header at a time is kept, never a payload. `size` is the whole file's,
 * its trailing CRC included; that CRC is the caller's to check as the bytes
 * pass (repo/integrity.ts). A unit test holds it to `decode`: the same
 * bytes (with a good CRC) are accepted by both or refused by both.
 */
export class WalSegmentStreamCheck {
  private readonly pending = new Uint8Array(HEADER_BYTES)
  private pendingLength = 0
  private phase: 'header' | 'frame' | 'payload' | 'trailer' = 'header'
  private head: {header: WalSegmentHeader; payloadBytes: bigint; tailCrc: number} | undefined
  /** Bytes of the file taken so far, counting each frame's payload once its header announces it. */
  private claimed = BigInt(HEADER_BYTES)
  private records = 0n
  private previousCrc = 0
  private expectedFrom = 0n
  private lastSequence: bigint | undefined
  private totalPayload = 0n
  private trailerBytes = 0
  // The frame being read.
  private frame = {sequence: 0n, lsn: 0n, length: 0, left: 0, payloadCrc: 0, storedPayloadCrc: 0, storedPrevious: 0, crc: 0}

  constructor(private readonly size: bigint) {
    if (size < BigInt(HEADER_BYTES + 4)) throw new FormatError(`${NAME} is too short for its header`)
  }

  /** The header, once it has passed. */
  get header(): WalSegmentHeader | undefined {
    return this.head?.header
  }

  push(piece: Uint8Array): void {
    let at = 0
    while (at < piece.length) {
      if (this.phase === 'trailer') {
        this.trailerBytes += piece.length - at
        if (this.trailerBytes > 4) throw new FormatError(`${NAME}: unexpected trailing bytes`)
        return
      }
      if (this.phase === 'payload') {
        const part = piece.subarray(at, at + Math.min(this.frame.left, piece.length - at))
        this.frame.payloadCrc = crc32(part, this.frame.payloadCrc)
        this.frame.crc = crc32(part, this.frame.crc)
        this.frame.left -= part.length
        at += part.length
        if (this.frame.left === 0) this.endFrame()
        continue
      }
      const want = this.phase === 'header' ? HEADER_BYTES : FRAME_HEADER_BYTES
      const take = Math.min(want - this.pendingLength, piece.length - at)
      this.pending.set(piece.subarray(at, at + take), this.pendingLength)
      this.pendingLength += take
      at += take
      if (this.pendingLength === want) {
        this.pendingLength = 0
        if (this.phase === 'header') this.readHeader(this.pending.subarray(0, HEADER_BYTES))
        else this.readFrameHeader(this.pending.subarray(0, FRAME_HEADER_BYTES))
      }
    }
  }

  /** After the last byte: the totals `decode` checks; returns the header. */
  finish(): WalSegmentHeader {
    if (this.phase !== 'trailer' || this.trailerBytes !== 4) throw new FormatError(`${NAME}: truncated while reading wal record ${this.records}`)
    const {header, payloadBytes, tailCrc} = this.head!
    const computedEnd = this.records === 0n ? header.start_lsn : this.expectedFrom
    if (header.end_lsn !== computedEnd) throw new FormatError(`wal segment end lsn mismatch: stored ${header.end_lsn}, computed ${computedEnd}`)
    if (payloadBytes !== this.totalPayload) throw new FormatError(`wal segment payload bytes mismatch: stored ${payloadBytes}, computed ${this.totalPayload}`)
    if (tailCrc !== this.previousCrc) throw new FormatError(`wal segment tail crc mismatch: stored ${hex32(tailCrc)}, computed ${hex32(this.previousCrc)}`)
    return header
  }

  private readHeader(bytes: Uint8Array): void {
    const reader = new ByteReader(bytes, `${NAME} is too short for its header`)
    const fields = readHeadFields(reader)
    const record_count = reader.u64()
    // As checkCount in decode: the bytes after the count must hold a frame header per record.
    const remaining = this.size - 4n - BigInt(8 + 2 + 8 * 5)
    if (record_count * BigInt(FRAME_HEADER_BYTES) > remaining) throw new FormatError(`wal record count ${record_count} does not fit in the remaining ${remaining} bytes`)
    this.head = {header: {...fields, record_count}, payloadBytes: reader.u64(), tailCrc: reader.u32()}
    this.expectedFrom = fields.start_lsn
    this.phase = record_count === 0n ? 'trailer' : 'frame'
  }

  private readFrameHeader(header: Uint8Array): void {
    const reader = new ByteReader(header, `${NAME}: truncated while reading wal record ${this.records}`)
    const {sequence, lsn, payloadLength: length, payloadCrc: storedPayloadCrc, storedPrevious} = readFrameHead(reader, this.records)
    this.claimed += BigInt(FRAME_HEADER_BYTES + length)
    if (this.claimed > this.size - 4n) throw new FormatError(`${NAME}: truncated while reading wal record ${this.records}`)
    this.frame = {sequence, lsn, length, left: length, payloadCrc: 0, storedPayloadCrc, storedPrevious, crc: crc32(header)}
    this.phase = 'payload'
    if (length === 0) this.endFrame()
  }

  private endFrame(): void {
    const frame = this.frame
    if (frame.storedPayloadCrc !== frame.payloadCrc) throw new FormatError(`wal record payload checksum mismatch: stored ${hex32(frame.storedPayloadCrc)}, computed ${hex32(frame.payloadCrc)}`)
    if (frame.storedPrevious !== this.previousCrc) throw new FormatError(`wal record previous crc mismatch: stored ${hex32(frame.storedPrevious)}, expected ${hex32(this.previousCrc)}`)
    if (frame.lsn < this.expectedFrom) throw new FormatError(`wal record lsn ${frame.lsn} overlaps previous end ${this.expectedFrom}`)
    if (this.lastSequence !== undefined && frame.sequence !== this.lastSequence + 1n) throw new FormatError(`wal record sequence ${frame.sequence} does not follow ${this.lastSequence}`)
    this.lastSequence = frame.sequence
    this.previousCrc = frame.crc
    this.expectedFrom = nextLsn(frame.lsn)
    this.totalPayload += BigInt(frame.length)
    this.records++
    this.phase = this.records === this.head!.header.record_count ? 'trailer' : 'frame'
  }
}

function encode(segment: WalSegment): Uint8Array {
  const payloadBytes = segment.records.reduce((sum, record) => sum + record.payload.length, 0)
  const writer = new ByteWriter(HEADER_BYTES + segment.records.length * FRAME_HEADER_BYTES + payloadBytes + 4)
  const frames = new ByteWriter(FRAME_HEADER_BYTES)
  let previousCrc = 0
  const encodedFrames: Array<[Uint8Array, Uint8Array]> = []
  for (const record of segment.records) {
    frames.length = 0
    frames.ascii(RECORD_MAGIC).u16(1).u16(0).u64(record.sequence).u64(record.lsn).u32(record.payload.length).u32(crc32(record.payload)).u32(previousCrc)
    frames.u32(frames.crc())
    const header = frames.finish()
    encodedFrames.push([header, record.payload])
    previousCrc = crc32(record.payload, crc32(header))
  }
  writer
    .ascii(MAGIC)
    .u16(1)
    .u64(segment.timeline)
    .u64(segment.segment_index)
    .u64(segment.start_lsn)
    .u64(segment.end_lsn)
    .u64(BigInt(segment.records.length))
    .u64(BigInt(payloadBytes))
    .u32(previousCrc)
  for (const [header, payload] of encodedFrames) writer.bytes(header).bytes(payload)
  return writer.sealWithCrc().finish()
}

function toJson(segment: WalSegment): JsonValue {
  return {
    timeline: segment.timeline,
    segment_index: segment.segment_index,
    start_lsn: segment.start_lsn,
    end_lsn: segment.end_lsn,
    records: segment.records.map((record) => ({sequence: record.sequence, lsn: record.lsn, payload_hex: toHex(record.payload)})),
  }
}

function fromJson(json: JsonValue): WalSegment {
  if (!isJsonObject(json)) throw new FormatError('wal segment JSON must be an object')
  return {
    timeline: jsonU64(json.timeline, 'timeline'),
    segment_index: jsonU64(json.segment_index, 'segment_index'),
    start_lsn: jsonU64(json.start_lsn, 'start_lsn'),
    end_lsn: jsonU64(json.end_lsn, 'end_lsn'),
    records: jsonArray(json.records, 'records').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`records[${i}] must be an object`)
      return {
        sequence: jsonU64(item.sequence, `records[${i}].sequence`),
        lsn: jsonU64(item.lsn, `records[${i}].lsn`),
        payload: jsonHex(item.payload_hex, `records[${i}].payload_hex`),
      }
    }),
  }
}

export const walSegmentCodec: ArtifactCodec<WalSegment> = {kind: 'wal-segment', label: 'WAL segment', decode, encode, toJson, fromJson}
