/**
 * Saved base backup expiry plans (`basebackup expire --out`, then `--plan`):
 * the document, its validation and the comparison with a fresh plan, as
 * saved-plan.ts does for WAL. Pure.
 */
import {isJsonObject, stringifyJson, type JsonValue} from '../codec/json.js'
import {FormatError, refused} from '../errors.js'
import {jsonArray, jsonString, jsonU32, jsonU64} from '../format/json-fields.js'
import {pad20, parseBasebackupName} from '../layout.js'
import type {BackupRetentionPolicy} from './backup-retention.js'
import {PLAN_SCHEMA, sha256Hex, type PlanComparison} from './saved-plan.js'

/** A backup as a plan pins it: another backup under the same name no longer matches. */
export interface PinnedBackup {
  /** The manifest's file name in the timeline's basebackup dir. */
  name: string
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  snapshot_checksum: number
}

export interface ExpirePlanInputs {
  policy: BackupRetentionPolicy
  /** The oldest LSN the WAL kept serves: it decides which backups are usable. */
  available_from_lsn: bigint
  /** Every backup of the timeline, oldest first. */
  backups: PinnedBackup[]
}

export interface SavedExpirePlan {
  schema: typeof PLAN_SCHEMA
  kind: 'basebackup-expire'
  data_path: string
  root_path: string
  timeline: bigint
  planned_at_unix_ms: bigint
  policy: BackupRetentionPolicy
  available_from_lsn: bigint
  inputs_fingerprint: string
  /** The backups the plan deletes. */
  backups: PinnedBackup[]
}

export interface FreshExpirePlan {
  root_path: string
  timeline: bigint
  inputs: ExpirePlanInputs
  verdicts: Array<{name: string; action: 'keep' | 'delete'; reason: string}>
}

export const policyJson = (policy: BackupRetentionPolicy) => ('keepLast' in policy ? {keep_last: BigInt(policy.keepLast)} : {keep_within_ms: policy.keepWithinMs})

export function expirePlanFingerprint(inputs: ExpirePlanInputs): string {
  return `sha256:${sha256Hex(stringifyJson({policy: policyJson(inputs.policy), available_from_lsn: inputs.available_from_lsn, backups: inputs.backups}, 0, true))}`
}

/** The document `basebackup expire --out` writes. */
export function savedExpirePlan(fields: {data_path: string; root_path: string; timeline: bigint; planned_at_unix_ms: bigint; inputs: ExpirePlanInputs; deleted: string[]}): SavedExpirePlan {
  const byName = new Map(fields.inputs.backups.map((b) => [b.name, b]))
  return {
    schema: PLAN_SCHEMA,
    kind: 'basebackup-expire',
    data_path: fields.data_path,
    root_path: fields.root_path,
    timeline: fields.timeline,
    planned_at_unix_ms: fields.planned_at_unix_ms,
    policy: fields.inputs.policy,
    available_from_lsn: fields.inputs.available_from_lsn,
    inputs_fingerprint: expirePlanFingerprint(fields.inputs),
    backups: fields.deleted.map((name) => byName.get(name)!),
  }
}

/** What the JSON document holds; `policy` in snake_case. */
export function expirePlanDocument(plan: SavedExpirePlan): Record<string, unknown> {
  return {...plan, policy: policyJson(plan.policy)}
}

export function decodePolicy(value: JsonValue | undefined): BackupRetentionPolicy {
  if (!isJsonObject(value)) throw new FormatError('policy must be an object')
  if (value.keep_last !== undefined) {
    const keepLast = jsonU64(value.keep_last, 'policy.keep_last')
    if (keepLast < 1n || keepLast > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError('policy.keep_last must be at least 1')
    return {keepLast: Number(keepLast)}
  }
  return {keepWithinMs: jsonU64(value.keep_within_ms, 'policy.keep_within_ms')}
}

/** Reads a plan document; like decodeSavedWalPlan, it refuses any name but a manifest file of the basebackup dir. */
export function decodeSavedExpirePlan(value: JsonValue): SavedExpirePlan {
  if (!isJsonObject(value)) throw new FormatError('a plan must be a JSON object')
  if (value.schema !== PLAN_SCHEMA) throw refused(`not a redrepl plan of this version (schema ${JSON.stringify(value.schema ?? null)}, expected "${PLAN_SCHEMA}")`, {code: 'plan.invalid'})
  if (value.kind !== 'basebackup-expire') throw refused(`a plan of kind ${JSON.stringify(value.kind ?? null)}, not a base backup expiry plan`, {code: 'plan.invalid'})
  const fingerprint = jsonString(value.inputs_fingerprint, 'inputs_fingerprint')
  if (!/^sha256:[0-9a-f]{64}$/.test(fingerprint)) throw new FormatError('inputs_fingerprint must be a SHA-256 digest')
  const seen = new Set<string>()
  const backups = jsonArray(value.backups, 'backups').map((entry, i) => {
    if (!isJsonObject(entry)) throw new FormatError(`backups[${i}] must be an object`)
    const name = jsonString(entry.name, `backups[${i}].name`)
    const parsed = parseBasebackupName(name)
    const checkpoint = jsonU64(entry.checkpoint_lsn, `backups[${i}].checkpoint_lsn`)
    if (parsed === undefined || parsed.checkpointLsn !== checkpoint || name !== `base-${pad20(parsed.startLsn)}-${pad20(checkpoint)}.redbase`) {
      throw refused(`backups[${i}] names ${JSON.stringify(name)}, not a base backup manifest of checkpoint ${checkpoint}: a plan only ever names manifest files inside the basebackup directory`, {code: 'plan.invalid'})
    }
    if (seen.has(name)) throw refused(`backups[${i}] names ${name} twice`, {code: 'plan.invalid'})
    seen.add(name)
    return {name, checkpoint_lsn: checkpoint, snapshot_bytes: jsonU64(entry.snapshot_bytes, `backups[${i}].snapshot_bytes`), snapshot_checksum: jsonU32(entry.snapshot_checksum, `backups[${i}].snapshot_checksum`)}
  })
  return {
    schema: PLAN_SCHEMA,
    kind: 'basebackup-expire',
    data_path: jsonString(value.data_path, 'data_path'),
    root_path: jsonString(value.root_path, 'root_path'),
    timeline: jsonU64(value.timeline, 'timeline'),
    planned_at_unix_ms: jsonU64(value.planned_at_unix_ms, 'planned_at_unix_ms'),
    policy: decodePolicy(value.policy),
    available_from_lsn: jsonU64(value.available_from_lsn, 'available_from_lsn'),
    inputs_fingerprint: fingerprint,
    backups,
  }
}

/** A fresh plan's verdict on one item a saved plan may name. */
export interface FreshVerdict {
  name: string
  action: 'keep' | 'delete'
  reason: string
}

/** One kind of pinned item (backups, WAL objects) a saved plan deletes, with what the fresh plan sees of it. */
export interface PinnedGroup<P extends {name: string}> {
  /** How a message names an item: `backup`, `WAL object`. */
  noun: string
  /** What a changed item became, for messages: `another snapshot`. */
  replacement: string
  saved: P[]
  present: P[]
  verdicts: FreshVerdict[]
  /** Whether the item present is the one the plan pinned. */
  same: (saved: P, now: P) => boolean
}

/** What blocks applying one group: a saved item gone, replaced, or kept by the fresh plan. */
function blockingChanges<P extends {name: string}>(group: PinnedGroup<P>): string[] {
  const present = new Map(group.present.map((p) => [p.name, p]))
  const verdicts = new Map(group.verdicts.map((v) => [v.name, v]))
  const blocking: string[] = []
  for (const item of group.saved) {
    const now = present.get(item.name)
    if (now === undefined) blocking.push(`${group.noun} ${item.name} is gone`)
    else if (!group.same(item, now)) blocking.push(`${group.noun} ${item.name} was replaced by ${group.replacement}`)
    else {
      const verdict = verdicts.get(item.name)
      if (verdict?.action !== 'delete') blocking.push(`${group.noun} ${item.name} is kept now (${verdict?.reason ?? 'no verdict'})`)
    }
  }
  return blocking
}

/**
 * Whether saved expiry deletions may be applied: every saved item of every
 * group still present, the same, and deleted by the fresh plan too. What
 * the first group's fresh plan deletes beyond the saved items is reported
 * as more_released (left alone). `scope` holds changes that block outright.
 */
export function comparePinnedDeletions(fields: {scope: string[]; groups: Array<PinnedGroup<any>>; input_changes: string[]; fingerprints: {saved: string; fresh: string}}): PlanComparison<string> {
  if (fields.scope.length > 0) return {applies: false, changes: fields.scope}
  const blocking = fields.groups.flatMap((group) => blockingChanges(group))
  if (blocking.length > 0) return {applies: false, changes: [...blocking, ...fields.input_changes]}
  const [first] = fields.groups
  const savedNames = new Set(first.saved.map((p) => p.name))
  return {
    applies: true,
    fingerprint_matches: fields.fingerprints.saved === fields.fingerprints.fresh,
    input_changes: fields.input_changes,
    more_released: first.verdicts.filter((v) => v.action === 'delete' && !savedNames.has(v.name)).map((v) => v.name),
  }
}

/**
 * Whether a saved expiry plan may be applied now: same layout and
 * timeline, and every saved backup still there, the same backup, and
 * deleted by the fresh plan too. A fresh plan that deletes more applies.
 */
export function compareExpirePlans(saved: SavedExpirePlan, fresh: FreshExpirePlan): PlanComparison<string> {
  const scope: string[] = []
  if (saved.root_path !== fresh.root_path) scope.push(`the plan is for the layout ${saved.root_path}, not ${fresh.root_path}`)
  else if (saved.timeline !== fresh.timeline) scope.push(`the plan is for timeline ${saved.timeline}, the current timeline is ${fresh.timeline}`)
  const inputs: string[] = []
  if (saved.available_from_lsn !== fresh.inputs.available_from_lsn) inputs.push(`the oldest WAL kept moved (LSN ${saved.available_from_lsn} → ${fresh.inputs.available_from_lsn})`)
  return comparePinnedDeletions({
    scope,
    groups: [{noun: 'backup', replacement: 'another snapshot', saved: saved.backups, present: fresh.inputs.backups, verdicts: fresh.verdicts, same: (a: PinnedBackup, b: PinnedBackup) => a.snapshot_bytes === b.snapshot_bytes && a.snapshot_checksum === b.snapshot_checksum}],
    input_changes: inputs,
    fingerprints: {saved: saved.inputs_fingerprint, fresh: expirePlanFingerprint(fresh.inputs)},
  })
}
