import {crc32} from '../codec/crc.js'
import {toHex} from '../codec/hex.js'
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import type {RelayRecord, RelaySegment} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonHex, jsonU64} from './json-fields.js'

const MAGIC = 'RDRSEG01'
const NAME = 'replica relay log segment'
const MIN_RECORD_BYTES = 8 + 4

/** The segment rules of §7, checked on decode and before writing. */
export function validateRelaySegment(segment: RelaySegment): void {
  if (segment.records.length === 0) throw new FormatError('relay segment cannot be empty')
  if (segment.end_lsn < segment.start_lsn) throw new FormatError(`relay segment end lsn ${segment.end_lsn} is before start lsn ${segment.start_lsn}`)
  let previous: bigint | undefined
  for (const record of segment.records) {
    if (record.lsn < segment.start_lsn || record.lsn > segment.end_lsn) {
      throw new FormatError(`relay record lsn ${record.lsn} is outside segment range ${segment.start_lsn}..=${segment.end_lsn}`)
    }
    if (previous !== undefined && record.lsn <= previous) throw new FormatError(`relay segment records are not strictly ordered (lsn ${record.lsn} after ${previous})`)
    previous = record.lsn
  }
}

/** A segment built from records, as a replica writes one: start = first LSN, end = largest LSN. */
export function relaySegmentFromRecords(timeline: bigint, records: RelayRecord[]): RelaySegment {
  if (records.length === 0) throw new FormatError('relay segment cannot be empty')
  const end = records.reduce((max, record) => (record.lsn > max ? record.lsn : max), records[0].lsn)
  const segment = {timeline, start_lsn: records[0].lsn, end_lsn: end, records}
  validateRelaySegment(segment)
  return segment
}

/** The checksum a relay manifest records for a segment: the CRC of the whole file. */
export function relaySegmentChecksum(bytes: Uint8Array): number {
  return crc32(bytes)
}

function decode(bytes: Uint8Array): RelaySegment {
  const reader = openSealed(bytes, NAME)
  reader.magic(MAGIC, `invalid ${NAME} magic`)
  expectVersion(reader.u16(), [1], 'relay log segment')
  const timeline = reader.u64()
  const start_lsn = reader.u64()
  const end_lsn = reader.u64()
  const count = checkCount(reader, reader.u64(), MIN_RECORD_BYTES, 'relay record')
  const records: RelayRecord[] = []
  for (let i = 0; i < count; i++) {
    const lsn = reader.u64()
    records.push({lsn, payload: reader.bytesView(reader.u32())})
  }
  const segment = {timeline, start_lsn, end_lsn, records}
  validateRelaySegment(segment)
  expectConsumed(reader, NAME)
  return segment
}

function encode(segment: RelaySegment): Uint8Array {
  validateRelaySegment(segment)
  const size = segment.records.reduce((sum, record) => sum + MIN_RECORD_BYTES + record.payload.length, 8 + 2 + 32 + 4)
  const writer = new ByteWriter(size).ascii(MAGIC).u16(1).u64(segment.timeline).u64(segment.start_lsn).u64(segment.end_lsn).u64(BigInt(segment.records.length))
  for (const record of segment.records) writer.u64(record.lsn).u32(record.payload.length).bytes(record.payload)
  return writer.sealWithCrc().finish()
}

function toJson(segment: RelaySegment): JsonValue {
  return {
    timeline: segment.timeline,
    start_lsn: segment.start_lsn,
    end_lsn: segment.end_lsn,
    records: segment.records.map((record) => ({lsn: record.lsn, payload_hex: toHex(record.payload)})),
  }
}

function fromJson(json: JsonValue): RelaySegment {
  if (!isJsonObject(json)) throw new FormatError('relay segment JSON must be an object')
  return {
    timeline: jsonU64(json.timeline, 'timeline'),
    start_lsn: jsonU64(json.start_lsn, 'start_lsn'),
    end_lsn: jsonU64(json.end_lsn, 'end_lsn'),
    records: jsonArray(json.records, 'records').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`records[${i}] must be an object`)
      return {lsn: jsonU64(item.lsn, `records[${i}].lsn`), payload: jsonHex(item.payload_hex, `records[${i}].payload_hex`)}
    }),
  }
}

export const relaySegmentCodec: ArtifactCodec<RelaySegment> = {kind: 'relay-segment', label: 'relay segment', decode, encode, toJson, fromJson}
