import {isJsonObject, type JsonValue} from '../codec/json.js'
import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import type {TimelineEntry, TimelineHistory} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonNullable, jsonString, jsonU64} from './json-fields.js'

const MAGIC = 'RDTLINE1'
const NAME = 'timeline history'
/** Smallest encoded entry: five u64-sized fields, the bool and an empty string's length. */
const MIN_ENTRY_BYTES = 8 + 1 + 8 + 8 + 8 + 4

/** The chain rules of §3, checked on decode and before every write. */
export function validateTimelineHistory(history: TimelineHistory): void {
  const [first, ...rest] = history.entries
  if (first === undefined) throw new FormatError(`${NAME} must contain an initial entry`)
  if (first.parent_timeline !== null) throw new FormatError(`initial ${NAME} entry cannot have a parent`)
  if (first.timeline !== 1n) throw new FormatError(`${NAME} must start at initial timeline 1, not ${first.timeline}`)
  let previous = first
  for (const entry of rest) {
    if (entry.parent_timeline !== previous.timeline) {
      throw new FormatError(`${NAME} parent ${entry.parent_timeline ?? 'none'} of timeline ${entry.timeline} does not match previous timeline ${previous.timeline}`)
    }
    if (entry.timeline <= entry.parent_timeline) throw new FormatError(`timeline ${entry.timeline} must be greater than parent ${entry.parent_timeline}`)
    previous = entry
  }
}

/** The timeline of the last entry; timeline 1 when there is no history file. */
export function currentTimeline(history: TimelineHistory | null): bigint {
  return history?.entries.at(-1)?.timeline ?? 1n
}

function decode(bytes: Uint8Array): TimelineHistory {
  const reader = openSealed(bytes, NAME)
  reader.magic(MAGIC, `invalid ${NAME} magic`)
  expectVersion(reader.u16(), [1], NAME)
  const count = checkCount(reader, reader.u32(), MIN_ENTRY_BYTES, `${NAME} entry`)
  const entries: TimelineEntry[] = []
  for (let i = 0; i < count; i++) {
    const timeline = reader.u64()
    const hasParent = reader.bool()
    const parent = reader.u64()
    entries.push({
      timeline,
      parent_timeline: hasParent ? parent : null,
      fork_lsn: reader.u64(),
      created_at_unix_ms: reader.u64(),
      reason: reader.string('timeline history reason'),
    })
  }
  const history = {entries}
  validateTimelineHistory(history)
  expectConsumed(reader, NAME)
  return history
}

function encode(history: TimelineHistory): Uint8Array {
  validateTimelineHistory(history)
  const writer = new ByteWriter().ascii(MAGIC).u16(1).u32(history.entries.length)
  for (const entry of history.entries) {
    writer
      .u64(entry.timeline)
      .bool(entry.parent_timeline !== null)
      .u64(entry.parent_timeline ?? 0n)
      .u64(entry.fork_lsn)
      .u64(entry.created_at_unix_ms)
      .string(entry.reason)
  }
  return writer.sealWithCrc().finish()
}

function toJson(history: TimelineHistory): JsonValue {
  return {entries: history.entries.map((entry) => ({...entry}))}
}

function fromJson(json: JsonValue): TimelineHistory {
  if (!isJsonObject(json)) throw new FormatError(`${NAME} JSON must be an object`)
  return {
    entries: jsonArray(json.entries, 'entries').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`entries[${i}] must be an object`)
      return {
        timeline: jsonU64(item.timeline, `entries[${i}].timeline`),
        parent_timeline: jsonNullable(item.parent_timeline, (value) => jsonU64(value, `entries[${i}].parent_timeline`)),
        fork_lsn: jsonU64(item.fork_lsn, `entries[${i}].fork_lsn`),
        created_at_unix_ms: jsonU64(item.created_at_unix_ms, `entries[${i}].created_at_unix_ms`),
        reason: jsonString(item.reason, `entries[${i}].reason`),
      }
    }),
  }
}

export const timelineHistoryCodec: ArtifactCodec<TimelineHistory> = {
  kind: 'timeline-history',
  label: NAME,
  decode,
  encode,
  toJson,
  fromJson,
}

