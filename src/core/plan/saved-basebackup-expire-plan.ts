/**
 * The base backup expiry plan (`basebackup expire --out`, then `--plan`) in
 * the saved-plan envelope (saved-plan-envelope.ts): its fields, the
 * fingerprint of what it was computed from, and what makes a pinned backup
 * the same. Pure.
 */
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {FormatError, refused} from '../errors.js'
import {jsonString, jsonU32, jsonU64} from '../format/json-fields.js'
import {pad20, parseBasebackupName} from '../layout.js'
import type {BackupRetentionPolicy} from './backup-retention.js'
import {comparePlans, fingerprintOf, layoutScope, openPlanDocument, pinnedList, PLAN_SCHEMA, type PlanComparison, type PlanHead} from './saved-plan-envelope.js'

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

export interface SavedExpirePlan extends PlanHead<'basebackup-expire'> {
  data_path: string
  root_path: string
  timeline: bigint
  planned_at_unix_ms: bigint
  policy: BackupRetentionPolicy
  available_from_lsn: bigint
  /** The backups the plan deletes. */
  backups: PinnedBackup[]
}

export interface FreshExpirePlan {
  root_path: string
  timeline: bigint
  inputs: ExpirePlanInputs
  verdicts: Array<{name: string; action: 'keep' | 'delete'; reason: string}>
}

/** A retention policy as a plan document holds it (both expiry kinds). */
export const policyJson = (policy: BackupRetentionPolicy) => ('keepLast' in policy ? {keep_last: BigInt(policy.keepLast)} : {keep_within_ms: policy.keepWithinMs})

export function decodePolicy(value: JsonValue | undefined): BackupRetentionPolicy {
  if (!isJsonObject(value)) throw new FormatError('policy must be an object')
  if (value.keep_last !== undefined) {
    const keepLast = jsonU64(value.keep_last, 'policy.keep_last')
    if (keepLast < 1n || keepLast > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError('policy.keep_last must be at least 1')
    return {keepLast: Number(keepLast)}
  }
  return {keepWithinMs: jsonU64(value.keep_within_ms, 'policy.keep_within_ms')}
}

export function expirePlanFingerprint(inputs: ExpirePlanInputs): string {
  return fingerprintOf({policy: policyJson(inputs.policy), available_from_lsn: inputs.available_from_lsn, backups: inputs.backups})
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

/** Reads a plan document; like decodeSavedWalPlan, it refuses any name but a manifest file of the basebackup dir. */
export function decodeSavedExpirePlan(value: JsonValue): SavedExpirePlan {
  const {fields, inputs_fingerprint} = openPlanDocument(value, 'basebackup-expire')
  const backups = pinnedList(
    fields.backups,
    'backups',
    (entry, where) => {
      const name = jsonString(entry.name, `${where}.name`)
      const parsed = parseBasebackupName(name)
      const checkpoint = jsonU64(entry.checkpoint_lsn, `${where}.checkpoint_lsn`)
      if (parsed === undefined || parsed.checkpointLsn !== checkpoint || name !== `base-${pad20(parsed.startLsn)}-${pad20(checkpoint)}.redbase`) {
        throw refused(`${where} names ${JSON.stringify(name)}, not a base backup manifest of checkpoint ${checkpoint}: a plan only ever names manifest files inside the basebackup directory`, {code: 'plan.invalid'})
      }
      return {name, checkpoint_lsn: checkpoint, snapshot_bytes: jsonU64(entry.snapshot_bytes, `${where}.snapshot_bytes`), snapshot_checksum: jsonU32(entry.snapshot_checksum, `${where}.snapshot_checksum`)}
    },
    (backup) => backup.name,
  )
  return {
    schema: PLAN_SCHEMA,
    kind: 'basebackup-expire',
    data_path: jsonString(fields.data_path, 'data_path'),
    root_path: jsonString(fields.root_path, 'root_path'),
    timeline: jsonU64(fields.timeline, 'timeline'),
    planned_at_unix_ms: jsonU64(fields.planned_at_unix_ms, 'planned_at_unix_ms'),
    policy: decodePolicy(fields.policy),
    available_from_lsn: jsonU64(fields.available_from_lsn, 'available_from_lsn'),
    inputs_fingerprint,
    backups,
  }
}

/** A backup's `same()`: the snapshot size and checksum it was planned with; undefined when both hold. */
export const backupDiffers = (saved: PinnedBackup, now: PinnedBackup) => (saved.snapshot_bytes === now.snapshot_bytes && saved.snapshot_checksum === now.snapshot_checksum ? undefined : 'was replaced by another snapshot')

/**
 * Whether a saved expiry plan may be applied now: same layout and
 * timeline, and every saved backup still there, the same backup, and
 * deleted by the fresh plan too. A fresh plan that deletes more applies.
 */
export function compareExpirePlans(saved: SavedExpirePlan, fresh: FreshExpirePlan): PlanComparison<string> {
  const inputs: string[] = []
  if (saved.available_from_lsn !== fresh.inputs.available_from_lsn) inputs.push(`the oldest WAL kept moved (LSN ${saved.available_from_lsn} → ${fresh.inputs.available_from_lsn})`)
  return comparePlans({
    // Another timeline is named alone: its backups are another set.
    scope: layoutScope(saved, fresh).map((part) => ({...part, withInputs: false})),
    groups: [
      {
        saved: saved.backups,
        present: fresh.inputs.backups,
        verdicts: fresh.verdicts.map((v) => ({key: v.name, released: v.action === 'delete', reason: v.reason})),
        key: (backup: PinnedBackup) => backup.name,
        label: (backup: PinnedBackup) => `backup ${backup.name}`,
        differs: backupDiffers,
      },
    ],
    input_changes: inputs,
    fingerprints: {saved: saved.inputs_fingerprint, fresh: expirePlanFingerprint(fresh.inputs)},
  })
}
