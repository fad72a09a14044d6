/**
 * The envelope every saved plan shares (`--out FILE`, then `--plan FILE`,
 * as `terraform plan -out` and `apply PLAN`): the schema and kind, the
 * scope a plan belongs to (a layout and timeline, a repository and node),
 * the fingerprint of what it was computed from, and the items it pins.
 * Each kind (saved-wal-plan.ts, saved-basebackup-expire-plan.ts,
 * saved-repo-expire-plan.ts) supplies its fields and what makes a pinned
 * item the same; reading the envelope, checking the scope and comparing a
 * saved plan with a fresh one are written here once. Pure: the ops layer
 * reads and writes the file and plans again.
 */
import {createHash} from 'node:crypto'

import {isJsonObject, stringifyJson, type JsonObject, type JsonValue} from '../codec/json.js'
import {FormatError, refused, type RedreplError} from '../errors.js'
import {jsonArray, jsonString} from '../format/json-fields.js'

export const PLAN_SCHEMA = 'redrepl-plan/1'

/** Largest plan file read: a WAL dir of 100,000 released segments takes about 10 MB. */
export const MAX_PLAN_FILE_BYTES = 64 << 20

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** One hash over every input, so "nothing changed" is one comparison. */
export function fingerprintOf(inputs: unknown): string {
  return `sha256:${sha256Hex(stringifyJson(inputs, 0, true))}`
}

const FINGERPRINT = /^sha256:[0-9a-f]{64}$/

/** The kinds of saved plan, by the command that applies them. */
export type PlanKind = 'wal-prune' | 'basebackup-expire' | 'repo-expire'

/** What a plan's document must open with, whatever its kind. */
export interface PlanHead<K extends PlanKind> {
  schema: typeof PLAN_SCHEMA
  kind: K
  inputs_fingerprint: string
}

/** How a refusal names each kind: `a plan of kind "x", not a WAL prune plan`. */
const TITLE: Record<PlanKind, string> = {
  'wal-prune': 'a WAL prune plan',
  'basebackup-expire': 'a base backup expiry plan',
  'repo-expire': 'a repository expiry plan',
}

/**
 * Reads a plan document's envelope: a value that is not an object, or a
 * fingerprint that is not a digest, is corrupt (exit 3); another schema
 * version or another kind is refused (exit 4). Returns the object for the
 * kind's own fields; the caller adds the file name.
 */
export function openPlanDocument(value: JsonValue, kind: PlanKind): {fields: JsonObject; inputs_fingerprint: string} {
  if (!isJsonObject(value)) throw new FormatError('a plan must be a JSON object')
  if (value.schema !== PLAN_SCHEMA) throw refused(`not a redrepl plan of this version (schema ${JSON.stringify(value.schema ?? null)}, expected "${PLAN_SCHEMA}")`, {code: 'plan.invalid'})
  if (value.kind !== kind) throw refused(`a plan of kind ${JSON.stringify(value.kind ?? null)}, not ${TITLE[kind]}`, {code: 'plan.invalid'})
  const inputsFingerprint = jsonString(value.inputs_fingerprint, 'inputs_fingerprint')
  if (!FINGERPRINT.test(inputsFingerprint)) throw new FormatError('inputs_fingerprint must be a SHA-256 digest')
  return {fields: value, inputs_fingerprint: inputsFingerprint}
}

/**
 * Reads a list of pinned items, each named once: `decode` reads one
 * object, `label` says how a refusal names it (`segment 0`, a key). A name
 * given twice is refused, as deleting it twice would be.
 */
export function pinnedList<P>(value: JsonValue | undefined, field: string, decode: (entry: JsonObject, where: string) => P, label: (item: P) => string, seen = new Set<string>()): P[] {
  return jsonArray(value, field).map((entry, i) => {
    const where = `${field}[${i}]`
    if (!isJsonObject(entry)) throw new FormatError(`${where} must be an object`)
    const item = decode(entry, where)
    const name = label(item)
    if (seen.has(name)) throw refused(`${where} names ${name} twice`, {code: 'plan.invalid'})
    seen.add(name)
    return item
  })
}

/** One thing a plan belongs to, as saved and as it is now. */
export interface ScopePart {
  saved: string | bigint
  now: string | bigint
  /** The change in words, when saved and now differ. */
  says: string
  /** Whether the inputs' changes are named too (a timeline that moved also rewrote the history). */
  withInputs?: boolean
}

/** The layout and timeline a plan on a node belongs to. */
export const layoutScope = (saved: {root_path: string; timeline: bigint}, now: {root_path: string; timeline: bigint}): ScopePart[] => [
  {saved: saved.root_path, now: now.root_path, says: `the plan is for the layout ${saved.root_path}, not ${now.root_path}`},
  {saved: saved.timeline, now: now.timeline, says: `the plan is for timeline ${saved.timeline}, the current timeline is ${now.timeline}`, withInputs: true},
]

/** The first part of the scope that moved, in words, or nothing when the plan belongs here. */
export function scopeChanges(scope: ScopePart[], inputChanges: readonly string[] = []): string[] {
  const moved = scope.find((part) => part.saved !== part.now)
  if (moved === undefined) return []
  return moved.withInputs ? [moved.says, ...inputChanges] : [moved.says]
}

/** A fresh plan's verdict on one item on disk or in the listing. */
export interface FreshVerdict<K> {
  key: K
  /** Whether the fresh plan removes or deletes it. */
  released: boolean
  reason: string
}

/** One kind of item a saved plan pins (segments, backups, WAL objects), with what the fresh plan sees of it. */
export interface PinnedGroup<P, K> {
  saved: readonly P[]
  present: readonly P[]
  verdicts: ReadonlyArray<FreshVerdict<K>>
  key: (item: P) => K
  /** How a change names the item: `segment 00000000000000000001`, `backup base-….redbase`. */
  label: (item: P) => string
  /** The kind's `same()`: undefined when the item present is the one the plan pinned, else what became of it. */
  differs: (saved: P, now: P) => string | undefined
}

/** A saved plan compared with a fresh one; `K` names what a plan releases (segment indexes, manifest names). */
export type PlanComparison<K = bigint> =
  | {
      applies: true
      /** The inputs are exactly those the plan was made from. */
      fingerprint_matches: boolean
      /** What changed in the inputs without touching the saved items. */
      input_changes: string[]
      /** What the first group's fresh plan releases beyond the saved plan (left alone). */
      more_released: K[]
    }
  | {applies: false; changes: string[]}

/** What blocks applying one group: a saved item gone, changed, or kept by the fresh plan. */
function blockingChanges<P, K>(group: PinnedGroup<P, K>): string[] {
  const present = new Map(group.present.map((item) => [group.key(item), item]))
  const verdicts = new Map(group.verdicts.map((v) => [v.key, v]))
  const blocking: string[] = []
  for (const item of group.saved) {
    const key = group.key(item)
    const name = group.label(item)
    const now = present.get(key)
    const differs = now === undefined ? undefined : group.differs(item, now)
    if (now === undefined) blocking.push(`${name} is gone`)
    else if (differs !== undefined) blocking.push(`${name} ${differs}`)
    else {
      const verdict = verdicts.get(key)
      if (verdict?.released !== true) blocking.push(`${name} is kept now (${verdict?.reason ?? 'no verdict'})`)
    }
  }
  return blocking
}

/**
 * Whether a saved plan may be applied now: only when it belongs to this
 * scope, and every item of every group is still present, the same, and
 * released by the fresh plan too. The fresh plan may release more; only the
 * saved items go. Otherwise every change found is named, what blocks first.
 */
export function comparePlans<K>(fields: {scope: ScopePart[]; groups: [PinnedGroup<any, K>, ...Array<PinnedGroup<any, any>>]; input_changes: string[]; fingerprints: {saved: string; fresh: string}}): PlanComparison<K> {
  const scope = scopeChanges(fields.scope, fields.input_changes)
  if (scope.length > 0) return {applies: false, changes: scope}
  const blocking = fields.groups.flatMap((group) => blockingChanges(group))
  if (blocking.length > 0) return {applies: false, changes: [...blocking, ...fields.input_changes]}
  const [first] = fields.groups
  const savedKeys = new Set(first.saved.map((item) => first.key(item)))
  return {
    applies: true,
    fingerprint_matches: fields.fingerprints.saved === fields.fingerprints.fresh,
    input_changes: fields.input_changes,
    more_released: first.verdicts.filter((v) => v.released && !savedKeys.has(v.key)).map((v) => v.key),
  }
}

/** Where a plan was made, for the refusal of one that no longer fits. */
export interface PlanPlace {
  /** `layout`, `repository`. */
  where: string
  /** What nothing was done to: `removed`, `deleted`. */
  nothing: string
  /** The command that makes a new plan: `wal plan`, `repo expire`. */
  replan: string
}

/** The refusal (exit 4) of a saved plan that no longer fits, naming every change found. */
export function stalePlan(planPath: string, place: PlanPlace, changes: readonly string[]): RedreplError {
  return refused(`${planPath}: the ${place.where} changed since the plan was made: ${changes.join('; ')}; nothing was ${place.nothing}`, {
    code: 'plan.stale',
    hint: `make a new plan (${place.replan} --out FILE), review it, and apply that`,
  })
}
