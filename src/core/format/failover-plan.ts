/**
 * A saved failover plan (`failover plan --out FILE`), redrepl's own: the
 * cluster, the candidate and the promotion it records, what each node was
 * (role, timeline, position, history fingerprint) when planned, and each
 * other node's step. Sealed like the repository's facts, so a damaged or
 * edited plan is refused before any of it is trusted:
 *
 *   magic[8] "RRFOVER1" | u16 version=1 | string json | u32 crc
 */
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {openSealedJson, sealJson} from '../codec/sealed-json.js'
import {FormatError} from '../errors.js'
import {jsonArray, jsonBool, jsonNullable, jsonString, jsonU64} from './json-fields.js'

/** What one node must do once the candidate is promoted: RedDB's rejoin decision, or a step left to the operator. */
export type FailoverStepDecision = 'already_current' | 'follow_new_timeline' | 'rewind' | 'reclone' | 'manual'

export interface FailoverNodeStep {
  node: string
  decision: FailoverStepDecision
  /** The node's timeline and position (WAL head of a primary, relay flushed LSN of a replica) it was decided from; null when unknown. */
  timeline: bigint | null
  position_lsn: bigint | null
  /** rewind: the fork LSN it must rewind to; else null. */
  rewind_to_lsn: bigint | null
  /** follow / rewind: the first LSN the node then needs from the new primary; null otherwise or unknown. */
  wal_needed_from_lsn: bigint | null
  /** reclone: the base backup it is rebuilt from, in words; null otherwise. */
  backup: string | null
  reason: string
}

/** What a node was when the plan was made; apply refuses when it is not that any more. */
export interface NodePin {
  node: string
  reached: boolean
  role: 'primary' | 'replica' | 'unknown' | null
  timeline: bigint | null
  position_lsn: bigint | null
  /** sha256 of the node's history entries (timeline, parent, fork LSN, reason), hex. */
  history_fingerprint: string | null
}

const MAGIC = 'RRFOVER1'
const NAME = 'failover plan'
export const FAILOVER_PLAN_VERSION = 1
/** A plan lists a handful of nodes; anything near this is not one. */
export const MAX_FAILOVER_PLAN_BYTES = 4 * 1024 * 1024

export interface FailoverPlan {
  cluster: string
  created_at_unix_ms: bigint
  /** The node promoted, the replica id it is promoted as, and the promotion (timeline previous → new, forking at fork_lsn). */
  candidate: string
  replica_id: string
  previous_timeline: bigint
  new_timeline: bigint
  fork_lsn: bigint
  lost_lsn: bigint
  /** Nodes that may be the running primary of the previous timeline: the reached primaries and every node not reached when planned. */
  old_primaries: string[]
  pins: NodePin[]
  steps: FailoverNodeStep[]
  /** The [repo.NAME] section a reclone's backup goes through, as `failover plan --repo-name` pinned it; null or absent (plans saved before it existed): chosen at apply. */
  repo_name?: string | null
}

const DECISIONS = new Set(['already_current', 'follow_new_timeline', 'rewind', 'reclone', 'manual'])
const ROLES = new Set(['primary', 'replica', 'unknown'])

const u64OrNull = (value: JsonValue | undefined, field: string) => jsonNullable(value, (v) => jsonU64(v, field))
const stringOrNull = (value: JsonValue | undefined, field: string) => jsonNullable(value, (v) => jsonString(v, field))

function object(value: JsonValue | undefined, field: string) {
  if (!isJsonObject(value)) throw new FormatError(`${field} must be an object`)
  return value
}

function pinFromJson(value: JsonValue, field: string): NodePin {
  const pin = object(value, field)
  const role = stringOrNull(pin.role, `${field}.role`)
  if (role !== null && !ROLES.has(role)) throw new FormatError(`${field}.role must be primary, replica, unknown or null`)
  return {
    node: jsonString(pin.node, `${field}.node`),
    reached: jsonBool(pin.reached, `${field}.reached`),
    role: role as NodePin['role'],
    timeline: u64OrNull(pin.timeline, `${field}.timeline`),
    position_lsn: u64OrNull(pin.position_lsn, `${field}.position_lsn`),
    history_fingerprint: stringOrNull(pin.history_fingerprint, `${field}.history_fingerprint`),
  }
}

function stepFromJson(value: JsonValue, field: string): FailoverNodeStep {
  const step = object(value, field)
  const decision = jsonString(step.decision, `${field}.decision`)
  if (!DECISIONS.has(decision)) throw new FormatError(`${field}.decision must be one of ${[...DECISIONS].join(', ')}`)
  return {
    node: jsonString(step.node, `${field}.node`),
    decision: decision as FailoverNodeStep['decision'],
    timeline: u64OrNull(step.timeline, `${field}.timeline`),
    position_lsn: u64OrNull(step.position_lsn, `${field}.position_lsn`),
    rewind_to_lsn: u64OrNull(step.rewind_to_lsn, `${field}.rewind_to_lsn`),
    wal_needed_from_lsn: u64OrNull(step.wal_needed_from_lsn, `${field}.wal_needed_from_lsn`),
    backup: stringOrNull(step.backup, `${field}.backup`),
    reason: jsonString(step.reason, `${field}.reason`),
  }
}

/** Every node named once, the candidate among the pins and not among the steps, each other node with one step. */
export function validateFailoverPlan(plan: FailoverPlan): void {
  const names = plan.pins.map((pin) => pin.node)
  if (new Set(names).size !== names.length) throw new FormatError('pins name a node twice')
  if (!names.includes(plan.candidate)) throw new FormatError(`candidate ${plan.candidate} is not among the pinned nodes`)
  const stepped = plan.steps.map((step) => step.node)
  const others = names.filter((name) => name !== plan.candidate)
  if (stepped.length !== others.length || others.some((name) => !stepped.includes(name))) throw new FormatError('steps must name every node but the candidate, once each')
  if (plan.new_timeline !== plan.previous_timeline + 1n) throw new FormatError(`new_timeline ${plan.new_timeline} must follow previous_timeline ${plan.previous_timeline}`)
  for (const name of plan.old_primaries) if (!names.includes(name)) throw new FormatError(`old_primaries names ${name}, which is not pinned`)
}

function fromJson(json: JsonValue): FailoverPlan {
  const body = object(json, `${NAME} JSON`)
  const plan: FailoverPlan = {
    cluster: jsonString(body.cluster, 'cluster'),
    created_at_unix_ms: jsonU64(body.created_at_unix_ms, 'created_at_unix_ms'),
    candidate: jsonString(body.candidate, 'candidate'),
    replica_id: jsonString(body.replica_id, 'replica_id'),
    previous_timeline: jsonU64(body.previous_timeline, 'previous_timeline'),
    new_timeline: jsonU64(body.new_timeline, 'new_timeline'),
    fork_lsn: jsonU64(body.fork_lsn, 'fork_lsn'),
    lost_lsn: jsonU64(body.lost_lsn, 'lost_lsn'),
    old_primaries: jsonArray(body.old_primaries, 'old_primaries').map((v, i) => jsonString(v, `old_primaries[${i}]`)),
    pins: jsonArray(body.pins, 'pins').map((v, i) => pinFromJson(v, `pins[${i}]`)),
    steps: jsonArray(body.steps, 'steps').map((v, i) => stepFromJson(v, `steps[${i}]`)),
    ...(body.repo_name === undefined ? {} : {repo_name: stringOrNull(body.repo_name, 'repo_name')}),
  }
  validateFailoverPlan(plan)
  return plan
}

export function encodeFailoverPlan(plan: FailoverPlan): Uint8Array {
  validateFailoverPlan(plan)
  return sealJson(MAGIC, FAILOVER_PLAN_VERSION, plan as unknown as JsonValue)
}

export function decodeFailoverPlan(bytes: Uint8Array): FailoverPlan {
  return fromJson(openSealedJson(bytes, NAME, MAGIC, [FAILOVER_PLAN_VERSION]))
}
