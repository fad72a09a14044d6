import {compareUtf8, isJsonObject, type JsonValue} from '../codec/json.js'
import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import type {InvalidationReason, ReplicationSlot, SlotCatalog} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonBool, jsonNullable, jsonString, jsonU128, jsonU64} from './json-fields.js'

const MAGIC = 'RDSLOT01'
const NAME = 'replication slot catalog'
const WRITTEN_VERSION = 2
/** Smallest encoded slot (v1): an empty id's length, four u64 LSNs, the bool. */
const MIN_SLOT_BYTES = 4 + 8 * 4 + 1

export const INVALIDATION_REASONS: readonly InvalidationReason[] = ['wal-removed', 'horizon', 'idle-timeout']

/** A known reason, or null for anything else (unknown reasons read as absent). */
export function knownReason(text: string | null | undefined): InvalidationReason | null {
  return INVALIDATION_REASONS.includes(text as InvalidationReason) ? (text as InvalidationReason) : null
}

/** A slot must satisfy apply ≤ flush ≤ write. */
export function checkSlotPositions(slot: ReplicationSlot): void {
  if (slot.confirmed_apply_lsn > slot.confirmed_flush_lsn || slot.confirmed_flush_lsn > slot.confirmed_write_lsn) {
    throw new FormatError(
      `slot ${slot.replica_id} positions are not ordered (apply ${slot.confirmed_apply_lsn} ≤ flush ${slot.confirmed_flush_lsn} ≤ write ${slot.confirmed_write_lsn} must hold)`,
    )
  }
}

/** Unique by replica id (a later duplicate replaces the earlier), sorted by UTF-8 bytes. */
export function normalizeSlots(slots: ReplicationSlot[]): ReplicationSlot[] {
  const byId = new Map<string, ReplicationSlot>()
  for (const slot of slots) byId.set(slot.replica_id, slot)
  return [...byId.values()].sort((a, b) => compareUtf8(a.replica_id, b.replica_id))
}

export function slotRetentionFloor(slot: ReplicationSlot): bigint {
  return slot.confirmed_flush_lsn < slot.confirmed_apply_lsn ? slot.confirmed_flush_lsn : slot.confirmed_apply_lsn
}

/** The minimum floor over active slots; null when no slot is active. */
export function catalogRetentionFloor(catalog: SlotCatalog): bigint | null {
  let floor: bigint | null = null
  for (const slot of catalog.slots) {
    if (!slot.active) continue
    const own = slotRetentionFloor(slot)
    if (floor === null || own < floor) floor = own
  }
  return floor
}

/** The catalog without `replicaId`'s slot, as RedDB writes it after dropping that slot. */
export function dropSlot(catalog: SlotCatalog, replicaId: string): SlotCatalog {
  return {timeline: catalog.timeline, slots: catalog.slots.filter((slot) => slot.replica_id !== replicaId)}
}

/**
 * The catalog with `replicaId`'s slot invalidated as RedDB invalidates one:
 * inactive, with the reason and the time; its positions stay, so what it
 * had acknowledged is still shown, but it no longer holds WAL back.
 */
export function invalidateSlot(catalog: SlotCatalog, replicaId: string, reason: InvalidationReason, nowMs: bigint): SlotCatalog {
  return {
    timeline: catalog.timeline,
    slots: catalog.slots.map((slot) => (slot.replica_id === replicaId ? {...slot, active: false, invalidation_reason: reason, invalidated_at_unix_ms: nowMs} : slot)),
  }
}

function decode(bytes: Uint8Array): SlotCatalog {
  const reader = openSealed(bytes, NAME)
  reader.magic(MAGIC, `invalid ${NAME} magic`)
  const version = reader.u16()
  expectVersion(version, [1, 2], NAME)
  const timeline = reader.u64()
  const count = checkCount(reader, reader.u32(), MIN_SLOT_BYTES, 'slot')
  const slots: ReplicationSlot[] = []
  for (let i = 0; i < count; i++) {
    const replica_id = reader.string('replica id')
    const restart_lsn = reader.u64()
    const confirmed_write_lsn = reader.u64()
    const confirmed_flush_lsn = reader.u64()
    const confirmed_apply_lsn = reader.u64()
    const active = reader.bool()
    let last_seen_at_unix_ms = 0n
    let invalidation_reason: InvalidationReason | null = active ? null : 'horizon'
    let invalidated_at_unix_ms: bigint | null = null
    if (version === 2) {
      last_seen_at_unix_ms = reader.u128()
      invalidation_reason = knownReason(reader.optString('invalidation reason'))
      invalidated_at_unix_ms = reader.optU128('invalidated at')
    }
    const slot = {
      replica_id,
      restart_lsn,
      confirmed_write_lsn,
      confirmed_flush_lsn,
      confirmed_apply_lsn,
      active,
      last_seen_at_unix_ms,
      invalidation_reason,
      invalidated_at_unix_ms,
    }
    checkSlotPositions(slot)
    slots.push(slot)
  }
  expectConsumed(reader, NAME)
  return {timeline, slots: normalizeSlots(slots)}
}

function encode(catalog: SlotCatalog): Uint8Array {
  const slots = normalizeSlots(catalog.slots)
  const writer = new ByteWriter().ascii(MAGIC).u16(WRITTEN_VERSION).u64(catalog.timeline).u32(slots.length)
  for (const slot of slots) {
    checkSlotPositions(slot)
    writer
      .string(slot.replica_id)
      .u64(slot.restart_lsn)
      .u64(slot.confirmed_write_lsn)
      .u64(slot.confirmed_flush_lsn)
      .u64(slot.confirmed_apply_lsn)
      .bool(slot.active)
      .u128(slot.last_seen_at_unix_ms)
      .optString(slot.invalidation_reason)
      .optU128(slot.invalidated_at_unix_ms)
  }
  return writer.sealWithCrc().finish()
}

export function slotToJson(slot: ReplicationSlot): {[key: string]: JsonValue} {
  return {...slot}
}

export function slotFromJson(json: JsonValue, at: string): ReplicationSlot {
  if (!isJsonObject(json)) throw new FormatError(`${at} must be an object`)
  return {
    replica_id: jsonString(json.replica_id, `${at}.replica_id`),
    restart_lsn: jsonU64(json.restart_lsn, `${at}.restart_lsn`),
    confirmed_write_lsn: jsonU64(json.confirmed_write_lsn, `${at}.confirmed_write_lsn`),
    confirmed_flush_lsn: jsonU64(json.confirmed_flush_lsn, `${at}.confirmed_flush_lsn`),
    confirmed_apply_lsn: jsonU64(json.confirmed_apply_lsn, `${at}.confirmed_apply_lsn`),
    active: jsonBool(json.active, `${at}.active`),
    last_seen_at_unix_ms: jsonU128(json.last_seen_at_unix_ms, `${at}.last_seen_at_unix_ms`),
    invalidation_reason: knownReason(jsonNullable(json.invalidation_reason, (value) => jsonString(value, `${at}.invalidation_reason`))),
    invalidated_at_unix_ms: jsonNullable(json.invalidated_at_unix_ms, (value) => jsonU128(value, `${at}.invalidated_at_unix_ms`)),
  }
}

export function catalogToJson(catalog: SlotCatalog): JsonValue {
  return {timeline: catalog.timeline, slots: catalog.slots.map(slotToJson)}
}

export function catalogFromJson(json: JsonValue): SlotCatalog {
  if (!isJsonObject(json)) throw new FormatError('slot catalog JSON must be an object')
  return {
    timeline: jsonU64(json.timeline, 'timeline'),
    slots: jsonArray(json.slots, 'slots').map((slot, i) => slotFromJson(slot, `slots[${i}]`)),
  }
}

export const slotCatalogCodec: ArtifactCodec<SlotCatalog> = {
  kind: 'slot-catalog',
  label: NAME,
  decode,
  encode,
  toJson: catalogToJson,
  fromJson: catalogFromJson,
}
