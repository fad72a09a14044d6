/**
 * Reading and writing saved plan files (`--out FILE`, `--plan FILE`): a plan
 * decides what gets removed, so it is read only from a regular file, never
 * through a link, with a size cap; and written atomically, a link at the
 * path being replaced rather than written through.
 */
import path from 'node:path'

import {isJsonObject, JsonSyntaxError, parseJson, stringifyJson, type JsonValue} from '../../codec/json.js'
import {FormatError, RedreplError, refused} from '../../errors.js'
import {lstat, realpath} from '../../fs/metadata.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {ioError, isMissing} from '../../fs/io-error.js'
import {readBounded} from '../../fs/open.js'
import {MAX_PLAN_FILE_BYTES, PLAN_SCHEMA, type PlanComparison} from '../../plan/saved-plan-envelope.js'

const resolved = (file: string) => realpath(file).catch(() => path.resolve(file))

/** Where a plan must never be written: a layout, a directory repository. */
export interface PlanGuardedArea {
  root: string
  /** How messages name it; `the layout` unless given. */
  what?: string
}

/**
 * A plan never takes an artifact's place: it is refused inside the layout (or repository directory),
 * and over an existing file unless that file is a plan (a typo such as
 * `--out data.rdb` must not replace the database). A link at the path is
 * replaced, never followed.
 */
async function checkPlanTarget(planPath: string, area: PlanGuardedArea | undefined): Promise<void> {
  const target = path.join(await resolved(path.dirname(path.resolve(planPath))), path.basename(planPath))
  if (area !== undefined) {
    const root = await resolved(area.root)
    const what = area.what ?? 'the layout'
    if (target === root || target.startsWith(`${root}${path.sep}`)) {
      throw refused(`${planPath}: lies inside ${what} ${area.root}, where a plan could take an artifact's place; nothing was written`, {code: 'plan.target', hint: `save the plan outside ${what}`})
    }
  }
  const info = await lstat(planPath).catch((error) => {
    if (isMissing(error)) return undefined
    throw ioError('write', planPath, error)
  })
  if (info === undefined || info.isSymbolicLink()) return
  let isPlan = false
  if (info.isFile()) {
    try {
      const value = parseJson(new TextDecoder('utf-8', {fatal: true}).decode(await readBounded(planPath, MAX_PLAN_FILE_BYTES, 'plan file', {noFollow: true})))
      isPlan = isJsonObject(value) && value.schema === PLAN_SCHEMA
    } catch (error) {
      if (!(error instanceof JsonSyntaxError || error instanceof TypeError || error instanceof FormatError)) throw error
    }
  }
  if (!isPlan) throw refused(`${planPath}: exists and is not a redrepl plan; nothing was written`, {code: 'plan.target', hint: 'choose a new file name, or remove that file first'})
}

/** Writes a plan atomically, after checkPlanTarget (`area`: where it must not go, if anywhere on this disk). */
export async function writePlanFile(planPath: string, document: unknown, area: PlanGuardedArea | undefined): Promise<void> {
  await checkPlanTarget(planPath, area)
  await writeFileAtomic(planPath, `${stringifyJson(document)}\n`, {label: 'plan-file', clearLeftovers: 'dead-writers'})
}

/** Reads and decodes a plan; every error names the file. */
export async function readPlanFile<T>(planPath: string, decode: (value: JsonValue) => T): Promise<T> {
  const bytes = await readBounded(planPath, MAX_PLAN_FILE_BYTES, 'plan file', {noFollow: true})
  try {
    return decode(parseJson(new TextDecoder('utf-8', {fatal: true}).decode(bytes)))
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(planPath)
    if (error instanceof JsonSyntaxError || error instanceof TypeError) throw new FormatError(`not a JSON document: ${error.message}`, planPath)
    if (error instanceof RedreplError) throw new RedreplError(error.kind, `${planPath}: ${error.message}`, {code: error.code, hint: error.hint})
    throw error
  }
}

/**
 * What `--plan` reports about the plan it applied, whatever its kind. `F`
 * is the kind's name for what the fresh plan releases beyond the saved
 * items (left in place): the JSON contract names it per kind.
 */
export type AppliedPlan<F extends string, K> = {
  plan_path: string
  inputs_fingerprint: string
  /** The node or repository is exactly as when the plan was made. */
  fingerprint_matches: boolean
  /** What changed without touching the saved items (a slot that advanced). */
  input_changes: string[]
} & {[field in F]: K[]}

/** `wal prune --plan`: segments the fresh plan releases beyond the saved ones. */
export type AppliedWalPlan = AppliedPlan<'more_released_segment_indexes', bigint>
/** `basebackup expire --plan`, `repo expire --plan`: manifests the fresh plan deletes beyond the saved ones. */
export type AppliedExpirePlan = AppliedPlan<'more_released_manifests', string>

/** The report of an applied plan from its comparison. */
export function appliedPlan<F extends string, K>(field: F, planPath: string, inputsFingerprint: string, comparison: Extract<PlanComparison<K>, {applies: true}>): AppliedPlan<F, K> {
  return {
    plan_path: planPath,
    inputs_fingerprint: inputsFingerprint,
    fingerprint_matches: comparison.fingerprint_matches,
    input_changes: comparison.input_changes,
    [field]: comparison.more_released,
  } as AppliedPlan<F, K>
}
