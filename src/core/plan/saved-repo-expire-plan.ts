/**
 * The repository expiry plan (`repo expire --out`, then `--plan`) in the
 * saved-plan envelope (saved-plan-envelope.ts): its fields, the
 * fingerprint of what it was computed from, and what makes a pinned object
 * the same. Pure.
 */
import type {JsonObject, JsonValue} from '../codec/json.js'
import {jsonString, jsonU64} from '../format/json-fields.js'
import type {BackupRetentionPolicy} from './backup-retention.js'
import {DEFAULT_ORPHAN_GRACE_MS} from './repo-expire.js'
import {decodePolicy, policyJson} from './saved-basebackup-expire-plan.js'
import {comparePlans, fingerprintOf, openPlanDocument, pinnedList, PLAN_SCHEMA, type PlanComparison, type PlanHead} from './saved-plan-envelope.js'

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

export interface SavedRepoExpirePlan extends PlanHead<'repo-expire'> {
  repository: string
  node: string
  planned_at_unix_ms: bigint
  policy: BackupRetentionPolicy
  segment_bytes: bigint
  /** The backups the plan deletes (each with its chunks). */
  backups: PinnedRepoBackup[]
  /** The WAL objects the plan deletes. */
  wal: PinnedRepoObject[]
  /** How old an unreferenced object must be to be collected. */
  orphan_grace_ms: bigint
  /** The unreferenced objects the plan deletes (none in a plan saved before orphans were collected). */
  orphans: PinnedRepoObject[]
}

/** A fresh plan's verdict on one object the listing holds. */
export interface RepoVerdict {
  name: string
  action: 'keep' | 'delete'
  reason: string
}

export interface FreshRepoExpirePlan {
  repository: string
  node: string
  inputs: RepoExpirePlanInputs
  backup_verdicts: RepoVerdict[]
  wal_verdicts: RepoVerdict[]
  orphan_verdicts: RepoVerdict[]
}

export function repoExpirePlanFingerprint(inputs: RepoExpirePlanInputs): string {
  return fingerprintOf({...inputs, policy: policyJson(inputs.policy)})
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

function decodeObject(entry: JsonObject, where: string): PinnedRepoObject {
  return {name: jsonString(entry.name, `${where}.name`), size: jsonU64(entry.size, `${where}.size`), modified_unix_ms: jsonU64(entry.modified_unix_ms, `${where}.modified_unix_ms`)}
}

/**
 * Reads a plan document. A key it names is deleted only when the fresh
 * plan, made from the repository's own listing, deletes it too.
 */
export function decodeSavedRepoExpirePlan(value: JsonValue): SavedRepoExpirePlan {
  const {fields, inputs_fingerprint} = openPlanDocument(value, 'repo-expire')
  // One key is deleted once: it may appear in one list only.
  const seen = new Set<string>()
  const name = (object: PinnedRepoObject) => object.name
  const backups = pinnedList(
    fields.backups,
    'backups',
    (entry, where) => ({...decodeObject(entry, where), checkpoint_lsn: jsonU64(entry.checkpoint_lsn, `${where}.checkpoint_lsn`), snapshot_bytes: jsonU64(entry.snapshot_bytes, `${where}.snapshot_bytes`)}),
    name,
    seen,
  )
  const wal = pinnedList(fields.wal, 'wal', decodeObject, name, seen)
  // A plan saved before orphans were collected deletes none.
  const orphans = fields.orphans === undefined ? [] : pinnedList(fields.orphans, 'orphans', decodeObject, name, seen)
  const orphanGraceMs = fields.orphan_grace_ms === undefined ? DEFAULT_ORPHAN_GRACE_MS : jsonU64(fields.orphan_grace_ms, 'orphan_grace_ms')
  // 0: the repository knew no segment size (only segment 0 was ever archived).
  const segmentBytes = jsonU64(fields.segment_bytes, 'segment_bytes')
  return {
    schema: PLAN_SCHEMA,
    kind: 'repo-expire',
    repository: jsonString(fields.repository, 'repository'),
    node: jsonString(fields.node, 'node'),
    planned_at_unix_ms: jsonU64(fields.planned_at_unix_ms, 'planned_at_unix_ms'),
    policy: decodePolicy(fields.policy),
    segment_bytes: segmentBytes,
    inputs_fingerprint,
    backups,
    wal,
    orphan_grace_ms: orphanGraceMs,
    orphans,
  }
}

/** An object's `same()`: the size and modification time the listing gave when planned. */
const objectDiffers = (a: PinnedRepoObject, b: PinnedRepoObject) => (a.size === b.size && a.modified_unix_ms === b.modified_unix_ms ? undefined : 'was replaced by another object')

/** A backup's `same()`: its manifest object, and the checkpoint and snapshot size the manifest states. */
const backupDiffers = (a: PinnedRepoBackup, b: PinnedRepoBackup) =>
  objectDiffers(a, b) === undefined && a.checkpoint_lsn === b.checkpoint_lsn && a.snapshot_bytes === b.snapshot_bytes ? undefined : 'was replaced by another manifest'

const verdictsOf = (verdicts: RepoVerdict[]) => verdicts.map((v) => ({key: v.name, released: v.action === 'delete', reason: v.reason}))

/** The groups of objects a repository plan pins, each named as changes name it. */
function group<P extends PinnedRepoObject>(noun: string, saved: P[], present: P[], verdicts: RepoVerdict[], differs: (a: P, b: P) => string | undefined) {
  return {saved, present, verdicts: verdictsOf(verdicts), key: (p: P) => p.name, label: (p: P) => `${noun} ${p.name}`, differs}
}

/**
 * Whether a saved repository expiry plan may be applied now: same
 * repository and node, and every saved backup and WAL object still listed,
 * unchanged, and deleted by the fresh plan too.
 */
export function compareRepoExpirePlans(saved: SavedRepoExpirePlan, fresh: FreshRepoExpirePlan): PlanComparison<string> {
  return comparePlans({
    scope: [
      {saved: saved.repository, now: fresh.repository, says: `the plan is for the repository ${saved.repository}, not ${fresh.repository}`},
      {saved: saved.node, now: fresh.node, says: `the plan is for node ${saved.node}, not ${fresh.node}`},
    ],
    groups: [
      group('backup', saved.backups, fresh.inputs.backups, fresh.backup_verdicts, backupDiffers),
      group('WAL object', saved.wal, fresh.inputs.wal, fresh.wal_verdicts, objectDiffers),
      group('unreferenced object', saved.orphans, fresh.inputs.orphans, fresh.orphan_verdicts, objectDiffers),
    ],
    input_changes: [],
    fingerprints: {saved: saved.inputs_fingerprint, fresh: repoExpirePlanFingerprint(fresh.inputs)},
  })
}
