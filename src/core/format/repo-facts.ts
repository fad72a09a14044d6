/**
 * The facts object of a repository namespace: what the files of the replica
 * set that pushes there pin, as `repo push` read them from the node, so that
 * every `repo` command takes them from the repository instead of a flag or a
 * default. redrepl's own artifact, not RedDB's: a sealed binary envelope
 * (magic, version, CRC trailer, as RedDB's artifacts are, format.md §2) around
 * a lossless JSON body, so it is checked like every other object and still
 * readable with `strings`.
 *
 *   magic[8] "RRFACTS1" | u16 version=1 | string json | u32 crc
 */
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {openSealedJson, sealJson} from '../codec/sealed-json.js'
import {FormatError} from '../errors.js'
import type {RedDBRelease, TimelineEntry, TimelineHistory} from '../model.js'
import {jsonArray, jsonNullable, jsonString, jsonU32, jsonU64} from './json-fields.js'
import {validateTimelineHistory} from './timeline-history.js'

const MAGIC = 'RRFACTS1'
const NAME = 'repository facts'
export const REPO_FACTS_VERSION = 1
/** A history of 10,000 timelines is far beyond any replica set; the object stays small. */
export const MAX_REPO_FACTS_BYTES = 4n * 1024n * 1024n

const RELEASE_NAMES: readonly RedDBRelease[] = ['reddb-1.12', 'reddb-1.23']

/** Who wrote the facts last: for messages that name both sides of a conflict. */
export interface FactsWriter {
  host: string
  data_path: string
  timeline: bigint
  unix_ms: bigint
}

/** The segment of the current timeline pushed while RedDB could still append to it (`--include-current`). */
export interface LiveSegment {
  timeline: bigint
  index: bigint
  bytes: bigint
  checksum: number
}

export interface RepoFacts {
  /** The namespace's name (`--node`/`--cluster`): the replica set's, one per set. */
  namespace: string
  /** S from the WAL segment headers (format.md §5); null while only segment 0 was ever seen. */
  segment_bytes: bigint | null
  /** The segment whose header fixed S, for messages. */
  segment_bytes_from: {timeline: bigint; index: bigint} | null
  /** The newest RedDB release a data file showed (a layout-2 superblock is 1.23's); null before a database was seen. */
  rdb_release: RedDBRelease | null
  /** The timeline history as the repository holds it; empty when no member ever had one (timeline 1). */
  history: TimelineEntry[]
  created_unix_ms: bigint
  updated_unix_ms: bigint
  last_writer: FactsWriter
  live_segment: LiveSegment | null
}

const u64OrNull = (value: JsonValue | undefined, field: string) => jsonNullable(value ?? null, (v) => jsonU64(v, field))

/** The rules every facts object keeps, on decode and before every write. */
export function validateRepoFacts(facts: RepoFacts): void {
  if (facts.namespace === '') throw new FormatError(`${NAME}: namespace must not be empty`)
  if (facts.segment_bytes !== null && facts.segment_bytes < 1_048_576n) throw new FormatError(`${NAME}: segment_bytes ${facts.segment_bytes} is below RedDB's 1 MiB floor`)
  if ((facts.segment_bytes === null) !== (facts.segment_bytes_from === null)) throw new FormatError(`${NAME}: segment_bytes and segment_bytes_from must be given together`)
  if (facts.rdb_release !== null && !RELEASE_NAMES.includes(facts.rdb_release)) throw new FormatError(`${NAME}: unknown rdb_release ${facts.rdb_release}`)
  if (facts.history.length > 0) validateTimelineHistory({entries: facts.history})
}

function fromJson(json: JsonValue): RepoFacts {
  if (!isJsonObject(json)) throw new FormatError(`${NAME} JSON must be an object`)
  const writer = json.last_writer
  if (!isJsonObject(writer)) throw new FormatError('last_writer must be an object')
  const from = json.segment_bytes_from ?? null
  const live = json.live_segment ?? null
  const release = jsonNullable(json.rdb_release ?? null, (v) => jsonString(v, 'rdb_release'))
  const facts: RepoFacts = {
    namespace: jsonString(json.namespace, 'namespace'),
    segment_bytes: u64OrNull(json.segment_bytes, 'segment_bytes'),
    segment_bytes_from: from === null ? null : isJsonObject(from) ? {timeline: jsonU64(from.timeline, 'segment_bytes_from.timeline'), index: jsonU64(from.index, 'segment_bytes_from.index')} : fail('segment_bytes_from must be an object'),
    rdb_release: release as RedDBRelease | null,
    history: jsonArray(json.history, 'history').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`history[${i}] must be an object`)
      return {
        timeline: jsonU64(item.timeline, `history[${i}].timeline`),
        parent_timeline: u64OrNull(item.parent_timeline, `history[${i}].parent_timeline`),
        fork_lsn: jsonU64(item.fork_lsn, `history[${i}].fork_lsn`),
        created_at_unix_ms: jsonU64(item.created_at_unix_ms, `history[${i}].created_at_unix_ms`),
        reason: jsonString(item.reason, `history[${i}].reason`),
      }
    }),
    created_unix_ms: jsonU64(json.created_unix_ms, 'created_unix_ms'),
    updated_unix_ms: jsonU64(json.updated_unix_ms, 'updated_unix_ms'),
    last_writer: {
      host: jsonString(writer.host, 'last_writer.host'),
      data_path: jsonString(writer.data_path, 'last_writer.data_path'),
      timeline: jsonU64(writer.timeline, 'last_writer.timeline'),
      unix_ms: jsonU64(writer.unix_ms, 'last_writer.unix_ms'),
    },
    live_segment:
      live === null
        ? null
        : isJsonObject(live)
          ? {timeline: jsonU64(live.timeline, 'live_segment.timeline'), index: jsonU64(live.index, 'live_segment.index'), bytes: jsonU64(live.bytes, 'live_segment.bytes'), checksum: jsonU32(live.checksum, 'live_segment.checksum')}
          : fail('live_segment must be an object'),
  }
  validateRepoFacts(facts)
  return facts
}

function fail(message: string): never {
  throw new FormatError(message)
}

function toJson(facts: RepoFacts): JsonValue {
  return {
    namespace: facts.namespace,
    segment_bytes: facts.segment_bytes,
    segment_bytes_from: facts.segment_bytes_from && {...facts.segment_bytes_from},
    rdb_release: facts.rdb_release,
    history: facts.history.map((entry) => ({...entry})),
    created_unix_ms: facts.created_unix_ms,
    updated_unix_ms: facts.updated_unix_ms,
    last_writer: {...facts.last_writer},
    live_segment: facts.live_segment && {...facts.live_segment},
  }
}

export function encodeRepoFacts(facts: RepoFacts): Uint8Array {
  validateRepoFacts(facts)
  return sealJson(MAGIC, REPO_FACTS_VERSION, toJson(facts))
}

export function decodeRepoFacts(bytes: Uint8Array): RepoFacts {
  return fromJson(openSealedJson(bytes, NAME, MAGIC, [REPO_FACTS_VERSION]))
}

/** The history as RedDB's model holds it; null for an empty one (no member had a history file). */
export const factsHistory = (facts: RepoFacts): TimelineHistory | null => (facts.history.length === 0 ? null : {entries: facts.history})
