/**
 * The archive's health as `repo push` last saw it, one object per
 * namespace beside the facts (format/repo-facts.ts), so that monitoring
 * reads when the archive last took a push and why the last one failed
 * without touching a node. Same envelope as the facts: magic, version, a
 * lossless JSON body, CRC trailer.
 *
 *   magic[8] "RRSTAT01" | u16 version=1 | string json | u32 crc
 */
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {openSealedJson, sealJson} from '../codec/sealed-json.js'
import {FormatError} from '../errors.js'
import {jsonBool, jsonNullable, jsonString, jsonU64} from './json-fields.js'

const MAGIC = 'RRSTAT01'
const NAME = 'repository push status'
export const MAX_REPO_STATUS_BYTES = 1024n * 1024n
/** A failure's reason is one message line; longer ones are cut, so the object stays small. */
export const MAX_REASON_CHARS = 2000

export interface PushOutcome {
  unix_ms: bigint
  host: string
  data_path: string
}

export interface RepoPushStatus {
  last_success: (PushOutcome & {timeline: bigint; objects_uploaded: bigint}) | null
  last_failure: (PushOutcome & {reason: string}) | null
  /** The last push recorded failed (clocks of two hosts cannot order the two outcomes; the order they were written in does). */
  failing: boolean
}

function outcome(value: JsonValue | undefined, field: string): PushOutcome {
  if (!isJsonObject(value)) throw new FormatError(`${field} must be an object`)
  return {unix_ms: jsonU64(value.unix_ms, `${field}.unix_ms`), host: jsonString(value.host, `${field}.host`), data_path: jsonString(value.data_path, `${field}.data_path`)}
}

function fromJson(json: JsonValue): RepoPushStatus {
  if (!isJsonObject(json)) throw new FormatError(`${NAME} JSON must be an object`)
  return {
    last_success: jsonNullable(json.last_success ?? null, (v) => ({
      ...outcome(v, 'last_success'),
      timeline: jsonU64((v as {timeline?: JsonValue}).timeline, 'last_success.timeline'),
      objects_uploaded: jsonU64((v as {objects_uploaded?: JsonValue}).objects_uploaded, 'last_success.objects_uploaded'),
    })),
    last_failure: jsonNullable(json.last_failure ?? null, (v) => ({...outcome(v, 'last_failure'), reason: jsonString((v as {reason?: JsonValue}).reason, 'last_failure.reason')})),
    failing: jsonBool(json.failing, 'failing'),
  }
}

export function encodeRepoStatus(status: RepoPushStatus): Uint8Array {
  const json = {failing: status.failing, last_success: status.last_success && {...status.last_success}, last_failure: status.last_failure && {...status.last_failure, reason: status.last_failure.reason.slice(0, MAX_REASON_CHARS)}}
  return sealJson(MAGIC, 1, json)
}

export function decodeRepoStatus(bytes: Uint8Array): RepoPushStatus {
  return fromJson(openSealedJson(bytes, NAME, MAGIC, [1]))
}
