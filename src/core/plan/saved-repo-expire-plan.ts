/**
 * Saved repository expiry plans (`repo expire --out`, then `--plan`): the
 * document, its validation and the comparison with a fresh plan, on the
 * shared core of saved-expire-plan.ts. Pure.
 */
import {isJsonObject, stringifyJson, type JsonValue} from '../codec/json.js'
import {FormatError, refused} from '../errors.js'
import {jsonArray, jsonString, jsonU64} from '../format/json-fields.js'
import type {BackupRetentionPolicy} from './backup-retention.js'
import {DEFAULT_ORPHAN_GRACE_MS} from './repo-expire.js'
import {comparePinnedDeletions, decodePolicy, policyJson, type FreshVerdict} from './saved-expire-plan.js'
import {PLAN_SCHEMA, sha256Hex, type PlanComparison} from './saved-plan.js'

/** An object as the repository lists it: another object under the same key no longer matches. */
export interface PinnedRepoObject {
  /** The object's key. */
  name: string
  size: bigint
  modified_unix_ms: bigint
}

/** A backup as a plan pins it: its manifest object, and what the manifest says. */
export interface PinnedRepoBackup extends PinnedRepoObject {
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
}

export interface RepoExpirePlanInputs {
  policy: BackupRetentionPolicy
  segment_bytes: bigint
  /** Every backup of the node, oldest first. */
  backups: PinnedRepoBackup[]
  /** Every archived WAL object of the node. */
  wal: PinnedRepoObject[]
  /** Every object in the node's basebackup areas that no manifest names, collected or not. */
  orphans: PinnedRepoObject[]
}

export interface SavedRepoExpirePlan {
  schema: typeof PLAN_SCHEMA
  kind: 'repo-expire'
  repository: string
  node: string
  planned_at_unix_ms: bigint
  policy: BackupRetentionPolicy
  segment_bytes: bigint
  inputs_fingerprint: string
  /** The backups the plan deletes (each with its chunks). */
  backups: PinnedRepoBackup[]
  /** The WAL objects the plan deletes. */
  wal: PinnedRepoObject[]
  /** How old an unreferenced object must be to be collected. */
  orphan_grace_ms: bigint
  /** The unreferenced objects the plan deletes (none in a plan saved before orphans were collected). */
  orphans: PinnedRepoObject[]
}

export interface FreshRepoExpirePlan {
  repository: string
  node: string
  inputs: RepoExpirePlanInputs
  backup_verdicts: FreshVerdict[]
  wal_verdicts: FreshVerdict[]
  orphan_verdicts: FreshVerdict[]
}

export function repoExpirePlanFingerprint(inputs: RepoExpirePlanInputs): string {
  return `sha256:${sha256Hex(stringifyJson({...inputs, policy: policyJson(inputs.policy)}, 0, true))}`
}

/** The document `repo expire --out` writes. */
export function savedRepoExpirePlan(fields: {repository: string; node: string; planned_at_unix_ms: bigint; inputs: RepoExpirePlanInputs; deleted_backups: string[]; deleted_wal: string[]; orphan_grace_ms: bigint; deleted_orphans: string[]}): SavedRepoExpirePlan {
  const pick = <P extends {name: string}>(all: P[], names: string[]) => {
    const byName = new Map(all.map((p) => [p.name, p]))
    return names.map((name) => byName.get(name)!)
  }
  return {
    schema: PLAN_SCHEMA,
    kind: 'repo-expire',
    repository: fields.repository,
    node: fields.node,
    planned_at_unix_ms: fields.planned_at_unix_ms,
    policy: fields.inputs.policy,
    segment_bytes: fields.inputs.segment_bytes,
    inputs_fingerprint: repoExpirePlanFingerprint(fields.inputs),
    backups: pick(fields.inputs.backups, fields.deleted_backups),
    wal: pick(fields.inputs.wal, fields.deleted_wal),
    orphan_grace_ms: fields.orphan_grace_ms,
    orphans: pick(fields.inputs.orphans, fields.deleted_orphans),
  }
}

/** What the JSON document holds; `policy` in snake_case. */
export function repoExpirePlanDocument(plan: SavedRepoExpirePlan): Record<string, unknown> {
  return {...plan, policy: policyJson(plan.policy)}
}

function decodeObject(entry: JsonValue, where: string, seen: Set<string>): PinnedRepoObject {
  if (!isJsonObject(entry)) throw new FormatError(`${where} must be an object`)
  const name = jsonString(entry.name, `${where}.name`)
  if (seen.has(name)) throw refused(`${where} names ${name} twice`, {code: 'plan.invalid'})
  seen.add(name)
  return {name, size: jsonU64(entry.size, `${where}.size`), modified_unix_ms: jsonU64(entry.modified_unix_ms, `${where}.modified_unix_ms`)}
}

/**
 * Reads a plan document. A key it names is deleted only when the fresh
 * plan, made from the repository's own listing, deletes it too.
 */
export function decodeSavedRepoExpirePlan(value: JsonValue): SavedRepoExpirePlan {
  if (!isJsonObject(value)) throw new FormatError('a plan must be a JSON object')
  if (value.schema !== PLAN_SCHEMA) throw refused(`not a redrepl plan of this version (schema ${JSON.stringify(value.schema ?? null)}, expected "${PLAN_SCHEMA}")`, {code: 'plan.invalid'})
  if (value.kind !== 'repo-expire') throw refused(`a plan of kind ${JSON.stringify(value.kind ?? null)}, not a repository expiry plan`, {code: 'plan.invalid'})
  const fingerprint = jsonString(value.inputs_fingerprint, 'inputs_fingerprint')
  if (!/^sha256:[0-9a-f]{64}$/.test(fingerprint)) throw new FormatError('inputs_fingerprint must be a SHA-256 digest')
  const seen = new Set<string>()
  const backups = jsonArray(value.backups, 'backups').map((entry, i) => {
    const object = decodeObject(entry, `backups[${i}]`, seen)
    const fields = entry as Record<string, JsonValue>
    return {...object, checkpoint_lsn: jsonU64(fields.checkpoint_lsn, `backups[${i}].checkpoint_lsn`), snapshot_bytes: jsonU64(fields.snapshot_bytes, `backups[${i}].snapshot_bytes`)}
  })
  const wal = jsonArray(value.wal, 'wal').map((entry, i) => decodeObject(entry, `wal[${i}]`, seen))
  // A plan saved before orphans were collected deletes none.
  const orphans = value.orphans === undefined ? [] : jsonArray(value.orphans, 'orphans').map((entry, i) => decodeObject(entry, `orphans[${i}]`, seen))
  const orphanGraceMs = value.orphan_grace_ms === undefined ? DEFAULT_ORPHAN_GRACE_MS : jsonU64(value.orphan_grace_ms, 'orphan_grace_ms')
  // 0: the repository knew no segment size (only segment 0 was ever archived).
  const segmentBytes = jsonU64(value.segment_bytes, 'segment_bytes')
  return {
    schema: PLAN_SCHEMA,
    kind: 'repo-expire',
    repository: jsonString(value.repository, 'repository'),
    node: jsonString(value.node, 'node'),
    planned_at_unix_ms: jsonU64(value.planned_at_unix_ms, 'planned_at_unix_ms'),
    policy: decodePolicy(value.policy),
    segment_bytes: segmentBytes,
    inputs_fingerprint: fingerprint,
    backups,
    wal,
    orphan_grace_ms: orphanGraceMs,
    orphans,
  }
}

const sameObject = (a: PinnedRepoObject, b: PinnedRepoObject) => a.size === b.size && a.modified_unix_ms === b.modified_unix_ms

/**
 * Whether a saved repository expiry plan may be applied now: same
 * repository and node, and every saved backup and WAL object still listed,
 * unchanged, and deleted by the fresh plan too.
 */
export function compareRepoExpirePlans(saved: SavedRepoExpirePlan, fresh: FreshRepoExpirePlan): PlanComparison<string> {
  const scope: string[] = []
  if (saved.repository !== fresh.repository) scope.push(`the plan is for the repository ${saved.repository}, not ${fresh.repository}`)
  else if (saved.node !== fresh.node) scope.push(`the plan is for node ${saved.node}, not ${fresh.node}`)
  return comparePinnedDeletions({
    scope,
    groups: [
      {
        noun: 'backup',
        replacement: 'another manifest',
        saved: saved.backups,
        present: fresh.inputs.backups,
        verdicts: fresh.backup_verdicts,
        same: (a: PinnedRepoBackup, b: PinnedRepoBackup) => sameObject(a, b) && a.checkpoint_lsn === b.checkpoint_lsn && a.snapshot_bytes === b.snapshot_bytes,
      },
      {noun: 'WAL object', replacement: 'another object', saved: saved.wal, present: fresh.inputs.wal, verdicts: fresh.wal_verdicts, same: sameObject},
      {noun: 'unreferenced object', replacement: 'another object', saved: saved.orphans, present: fresh.inputs.orphans, verdicts: fresh.orphan_verdicts, same: sameObject},
    ],
    input_changes: [],
    fingerprints: {saved: saved.inputs_fingerprint, fresh: repoExpirePlanFingerprint(fresh.inputs)},
  })
}
