import {asUnsigned, isJsonObject, JsonSyntaxError, parseJson, stringifyJson, type JsonValue} from '../codec/json.js'
import {FormatError} from '../errors.js'
import type {ReplicationSlot, SlotCatalog} from '../model.js'
import type {ArtifactCodec, CodecContext} from './artifact.js'
import {catalogFromJson, catalogToJson, knownReason, normalizeSlots} from './slot-catalog.js'

const NAME = 'legacy slot store'
const utf8 = new TextDecoder('utf-8', {fatal: true})

/** Parses a JSON artifact's text: invalid UTF-8 or invalid JSON rejects the file. */
export function parseJsonArtifact(bytes: Uint8Array, name: string): JsonValue {
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new FormatError(`${name} is not valid UTF-8`)
  }
  try {
    return parseJson(text)
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new FormatError(`${name} is not JSON: ${error.message}`)
    throw error
  }
}

/**
 * One legacy entry as RedDB reads it: skipped (undefined) unless it is an
 * object with a string id and unsigned-integer restart/confirmed LSNs; an
 * optional field of the wrong type counts as absent.
 */
function slotFromEntry(entry: JsonValue, nowMs: bigint): ReplicationSlot | undefined {
  if (!isJsonObject(entry) || typeof entry.id !== 'string') return undefined
  const restart = asUnsigned(entry.restart_lsn)
  const confirmed = asUnsigned(entry.confirmed_lsn)
  if (restart === undefined || confirmed === undefined) return undefined
  const reason = knownReason(typeof entry.invalidation_reason === 'string' ? entry.invalidation_reason : null)
  return {
    replica_id: entry.id,
    restart_lsn: restart,
    confirmed_write_lsn: confirmed > restart ? confirmed : restart,
    confirmed_flush_lsn: restart,
    confirmed_apply_lsn: restart,
    active: reason === null,
    last_seen_at_unix_ms: asUnsigned(entry.last_seen_at_unix_ms) ?? nowMs,
    invalidation_reason: reason,
    invalidated_at_unix_ms: asUnsigned(entry.invalidated_at_unix_ms) ?? null,
  }
}

function decode(bytes: Uint8Array, context: CodecContext): SlotCatalog {
  const root = parseJsonArtifact(bytes, NAME)
  const entries = isJsonObject(root) && Array.isArray(root.slots) ? root.slots : []
  const slots = entries.map((entry) => slotFromEntry(entry, context.nowMs)).filter((slot) => slot !== undefined)
  return {timeline: 1n, slots: normalizeSlots(slots)}
}

/** What RedDB writes: pretty JSON, keys sorted, absent optionals omitted, confirmed = write. */
function encode(catalog: SlotCatalog): Uint8Array {
  const slots = normalizeSlots(catalog.slots).map((slot) => ({
    confirmed_lsn: slot.confirmed_write_lsn,
    id: slot.replica_id,
    invalidated_at_unix_ms: slot.invalidated_at_unix_ms ?? undefined,
    invalidation_reason: slot.invalidation_reason ?? undefined,
    last_seen_at_unix_ms: slot.last_seen_at_unix_ms,
    restart_lsn: slot.restart_lsn,
  }))
  return new TextEncoder().encode(stringifyJson({slots}, 2, true))
}

export const legacySlotStoreCodec: ArtifactCodec<SlotCatalog> = {
  kind: 'slot-catalog-legacy',
  label: NAME,
  decode,
  encode,
  toJson: catalogToJson,
  fromJson: catalogFromJson,
}
