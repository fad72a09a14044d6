/**
 * The WAL prune plan (`wal plan --out`, `wal prune --plan`) in the saved-plan
 * envelope (saved-plan-envelope.ts): its fields, the fingerprint of what
 * it was computed from, and what makes a pinned segment the same. Pure.
 */
import {hex32} from '../codec/crc.js'
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {FormatError, refused} from '../errors.js'
import {jsonArray, jsonBool, jsonNullable, jsonString, jsonU32, jsonU64} from '../format/json-fields.js'
import {pad20} from '../layout.js'
import type {RetentionPolicy} from './retention.js'
import {comparePlans, fingerprintOf, layoutScope, openPlanDocument, pinnedList, PLAN_SCHEMA, type PlanComparison, type PlanHead} from './saved-plan-envelope.js'

/** What retention reads of a slot: whether it is active and its floor, min(flush, apply). */
export interface SlotFloor {
  replica_id: string
  active: boolean
  floor_lsn: bigint
}

/** A segment as a plan pins it: a rewritten or regrown file no longer matches. */
export interface PinnedSegment {
  index: bigint
  bytes: bigint
  /** CRC-32 of the segment's header bytes, which hold its end LSN, record count and the CRC chained over its records. */
  header_crc32: number
}

/** Everything a WAL retention plan is computed from. */
export interface WalPlanInputs {
  /** SHA-256 of the decoded timeline history (empty history: of nothing). */
  history_sha256: string
  segment_bytes: bigint
  policy: RetentionPolicy
  fork_lsns: bigint[]
  catalog_timeline_adopted: boolean
  /** null: no slot catalog. */
  slots: SlotFloor[] | null
  /** Every segment of the timeline on disk, in index order. */
  segments: PinnedSegment[]
}

export interface SavedWalPlan extends PlanHead<'wal-prune'> {
  /** The data path as given, and the layout root it derives (what identifies the node). */
  data_path: string
  root_path: string
  timeline: bigint
  current_lsn: bigint
  segment_bytes: bigint
  policy: RetentionPolicy
  fork_lsns: bigint[]
  catalog_timeline_adopted: boolean
  history_sha256: string
  slots: SlotFloor[] | null
  /** The segments the plan releases, by file name in the timeline's WAL dir. */
  segments: Array<PinnedSegment & {name: string}>
}

/** A fresh plan on the layout as it is now, with every segment on disk. */
export interface FreshWalPlan {
  root_path: string
  timeline: bigint
  inputs: WalPlanInputs
  /** Why each segment on disk is kept or released now. */
  verdicts: Array<{index: bigint; action: 'keep' | 'remove'; reason: string}>
}

export const walSegmentFileName = (index: bigint) => `${pad20(index)}.redwal`

/** One hash over every input, so "nothing changed" is one comparison. */
export function walPlanFingerprint(inputs: WalPlanInputs): string {
  return fingerprintOf({
    history_sha256: inputs.history_sha256,
    segment_bytes: inputs.segment_bytes,
    policy: inputs.policy,
    fork_lsns: inputs.fork_lsns,
    catalog_timeline_adopted: inputs.catalog_timeline_adopted,
    slots: inputs.slots,
    segments: inputs.segments.map((s) => [s.index, s.bytes, s.header_crc32]),
  })
}

/** The document `wal plan --out` writes. */
export function savedWalPlan(fields: {data_path: string; root_path: string; timeline: bigint; current_lsn: bigint; inputs: WalPlanInputs; removable: bigint[]}): SavedWalPlan {
  const byIndex = new Map(fields.inputs.segments.map((s) => [s.index, s]))
  return {
    schema: PLAN_SCHEMA,
    kind: 'wal-prune',
    data_path: fields.data_path,
    root_path: fields.root_path,
    timeline: fields.timeline,
    current_lsn: fields.current_lsn,
    segment_bytes: fields.inputs.segment_bytes,
    policy: fields.inputs.policy,
    fork_lsns: fields.inputs.fork_lsns,
    catalog_timeline_adopted: fields.inputs.catalog_timeline_adopted,
    inputs_fingerprint: walPlanFingerprint(fields.inputs),
    history_sha256: fields.inputs.history_sha256,
    slots: fields.inputs.slots,
    segments: fields.removable.map((index) => {
      const pinned = byIndex.get(index)
      if (pinned === undefined) throw new Error(`segment ${index} is released but not on disk`)
      return {name: walSegmentFileName(index), ...pinned}
    }),
  }
}

const SHA256 = /^[0-9a-f]{64}$/

function slotFloor(value: JsonValue, i: number): SlotFloor {
  if (!isJsonObject(value)) throw new FormatError(`slots[${i}] must be an object`)
  return {replica_id: jsonString(value.replica_id, `slots[${i}].replica_id`), active: jsonBool(value.active, `slots[${i}].active`), floor_lsn: jsonU64(value.floor_lsn, `slots[${i}].floor_lsn`)}
}

/**
 * Reads a plan document: fields of the wrong type are corrupt (exit 3); a
 * document of another kind, or one naming a file that is not a segment of
 * the WAL dir (a path, `..`, a name that disagrees with its index), is
 * refused (exit 4). The caller adds the file name.
 */
export function decodeSavedWalPlan(value: JsonValue): SavedWalPlan {
  const {fields, inputs_fingerprint} = openPlanDocument(value, 'wal-prune')
  const policy = fields.policy
  if (!isJsonObject(policy)) throw new FormatError('policy must be an object')
  const history = jsonString(fields.history_sha256, 'history_sha256')
  if (!SHA256.test(history)) throw new FormatError('history_sha256 must be a SHA-256 digest')
  const segments = pinnedList(
    fields.segments,
    'segments',
    (entry, where) => {
      const name = jsonString(entry.name, `${where}.name`)
      const index = jsonU64(entry.index, `${where}.index`)
      if (name !== walSegmentFileName(index)) {
        throw refused(`${where} names ${JSON.stringify(name)}, not the WAL segment file of index ${index} (${walSegmentFileName(index)}): a plan only ever names segment files inside the WAL directory`, {code: 'plan.invalid'})
      }
      return {name, index, bytes: jsonU64(entry.bytes, `${where}.bytes`), header_crc32: jsonU32(entry.header_crc32, `${where}.header_crc32`)}
    },
    (segment) => `segment ${segment.index}`,
  )
  return {
    schema: PLAN_SCHEMA,
    kind: 'wal-prune',
    data_path: jsonString(fields.data_path, 'data_path'),
    root_path: jsonString(fields.root_path, 'root_path'),
    timeline: jsonU64(fields.timeline, 'timeline'),
    current_lsn: jsonU64(fields.current_lsn, 'current_lsn'),
    segment_bytes: jsonU64(fields.segment_bytes, 'segment_bytes'),
    policy: {
      min_segments: jsonU64(policy.min_segments, 'policy.min_segments'),
      max_bytes: jsonU64(policy.max_bytes, 'policy.max_bytes'),
      keep_until_replicas_ack: jsonBool(policy.keep_until_replicas_ack, 'policy.keep_until_replicas_ack'),
    },
    fork_lsns: jsonArray(fields.fork_lsns, 'fork_lsns').map((lsn, i) => jsonU64(lsn, `fork_lsns[${i}]`)),
    catalog_timeline_adopted: jsonBool(fields.catalog_timeline_adopted, 'catalog_timeline_adopted'),
    inputs_fingerprint,
    history_sha256: history,
    slots: jsonNullable(fields.slots ?? null, (slots) => jsonArray(slots, 'slots').map(slotFloor)),
    segments,
  }
}

/** How the slots moved between two plans, one phrase per slot. */
export function slotChanges(saved: SlotFloor[] | null, fresh: SlotFloor[] | null): string[] {
  if (saved === null && fresh === null) return []
  if (saved === null) return ['a slot catalog appeared']
  if (fresh === null) return ['the slot catalog is gone']
  const changes: string[] = []
  const now = new Map(fresh.map((slot) => [slot.replica_id, slot]))
  for (const before of saved) {
    const after = now.get(before.replica_id)
    const name = `slot ${before.replica_id}`
    if (after === undefined) changes.push(`${name} was dropped`)
    else {
      if (before.active !== after.active) changes.push(`${name} became ${after.active ? 'active' : 'inactive'}`)
      if (after.floor_lsn > before.floor_lsn) changes.push(`${name} advanced (LSN ${before.floor_lsn} → ${after.floor_lsn})`)
      if (after.floor_lsn < before.floor_lsn) changes.push(`${name} regressed (LSN ${before.floor_lsn} → ${after.floor_lsn})`)
    }
  }
  const known = new Set(saved.map((slot) => slot.replica_id))
  for (const slot of fresh) if (!known.has(slot.replica_id)) changes.push(`slot ${slot.replica_id} appeared${slot.active ? ` (LSN ${slot.floor_lsn})` : ''}`)
  return changes
}

/** The inputs that differ between the saved plan and the fresh one, in words. */
function inputChanges(saved: SavedWalPlan, fresh: FreshWalPlan): string[] {
  const changes: string[] = []
  if (saved.history_sha256 !== fresh.inputs.history_sha256) changes.push('history changed')
  if (saved.segment_bytes !== fresh.inputs.segment_bytes) changes.push(`segment size changed (${saved.segment_bytes} → ${fresh.inputs.segment_bytes})`)
  changes.push(...slotChanges(saved.slots, fresh.inputs.slots))
  return changes
}

/** A segment's `same()`: the size and the header CRC it was planned with; undefined when both hold. */
export function segmentDiffers(saved: PinnedSegment, now: PinnedSegment): string | undefined {
  if (now.bytes !== saved.bytes) return `changed size (${saved.bytes} → ${now.bytes} bytes)`
  if (now.header_crc32 !== saved.header_crc32) return `was rewritten (header CRC ${hex32(saved.header_crc32)} → ${hex32(now.header_crc32)})`
  return undefined
}

/**
 * Whether a saved plan may be applied now: only when it names this layout
 * and timeline, and the fresh plan releases every saved segment too, each
 * still of the saved size and header CRC. The fresh plan may release more;
 * only the saved ones go. Otherwise every change found is named.
 */
export function compareWalPlans(saved: SavedWalPlan, fresh: FreshWalPlan): PlanComparison {
  return comparePlans({
    scope: layoutScope(saved, fresh),
    groups: [
      {
        saved: saved.segments,
        present: fresh.inputs.segments,
        verdicts: fresh.verdicts.map((v) => ({key: v.index, released: v.action === 'remove', reason: v.reason})),
        key: (segment: PinnedSegment) => segment.index,
        label: (segment: PinnedSegment) => `segment ${pad20(segment.index)}`,
        differs: segmentDiffers,
      },
    ],
    input_changes: inputChanges(saved, fresh),
    fingerprints: {saved: saved.inputs_fingerprint, fresh: walPlanFingerprint(fresh.inputs)},
  })
}
