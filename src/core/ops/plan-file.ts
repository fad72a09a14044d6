/**
 * Reading and writing saved plan files (`--out FILE`, `--plan FILE`): a plan
 * decides what gets removed, so it is read only from a regular file, never
 * through a link, with a size cap; and written atomically, a link at the
 * path being replaced rather than written through.
 */
import {JsonSyntaxError, parseJson, stringifyJson, type JsonValue} from '../codec/json.js'
import {FormatError, RedreplError} from '../errors.js'
import {writeFileAtomic} from '../fs/atomic.js'
import {readBounded} from '../fs/open.js'
import {MAX_PLAN_FILE_BYTES} from '../plan/saved-plan.js'

export async function writePlanFile(planPath: string, document: unknown): Promise<void> {
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
