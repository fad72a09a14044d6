/**
 * The --json contract as the tests hold it: every document names its
 * schema (`redrepl.<topic>-<verb>/<major>`), and schemas/<topic>-<verb>.json
 * of that major must accept it. A failure names the command, the field path
 * and the rule broken, so whoever adds a field sees which schema to extend.
 */
import {Ajv2020, type ErrorObject, type ValidateFunction} from 'ajv/dist/2020.js'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import type {JsonValue} from '../../src/core/codec/json.js'
import {repoRoot} from './fixtures.js'

export const schemasDir = path.join(repoRoot, 'schemas')

const SCHEMA_TAG = /^redrepl\.([a-z][a-z0-9-]*)\/([1-9][0-9]*)$/

/** `redrepl.wal-plan/1` → the `$id` of schemas/wal-plan.json at major 1. */
export const schemaUrl = (name: string, major: string | number) => `https://redrepl.dev/schemas/v${major}/${name}.json`

let compiled: Ajv2020 | undefined

/** Every schema under schemas/, compiled once per test process. */
export function contractValidator(): Ajv2020 {
  if (compiled) return compiled
  const ajv = new Ajv2020({allErrors: true, strict: true, allowUnionTypes: true})
  for (const file of readdirSync(schemasDir).filter((name) => name.endsWith('.json'))) {
    // The schemas hold no integer that needs more than a double (u64's maximum rounds to 2^64, still above every valid u64).
    ajv.addSchema(JSON.parse(readFileSync(path.join(schemasDir, file), 'utf8')) as object)
  }
  compiled = ajv
  return ajv
}

/**
 * A copy ajv can check: bigints become Numbers. Only the copy loses
 * precision above 2^53; type and minimum checks do not depend on it, and the
 * tests keep asserting exact values on the original document.
 */
function checkable(value: JsonValue): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (Array.isArray(value)) return value.map(checkable)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, checkable(item)]))
  return value
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(document)' : error.instancePath
  const extra = error.keyword === 'additionalProperties' ? ` "${(error.params as {additionalProperty: string}).additionalProperty}"` : ''
  return `${where}: ${error.message}${extra} [${error.keyword} at ${error.schemaPath}]`
}

/**
 * Integers past 2^53 arrive as bigints, and as Numbers they round: 2^64
 * would pass a `maximum` of 2^64 − 1. No integer of the contract is above
 * u64, so the exact bound is checked on the original.
 */
function aboveU64(value: JsonValue, where: string): string | null {
  if (typeof value === 'bigint') return value > 0xffff_ffff_ffff_ffffn ? `${where}: ${value} is above the u64 maximum` : null
  if (value === null || typeof value !== 'object') return null
  for (const [key, item] of Object.entries(value)) {
    const found = aboveU64(item, `${where}/${key}`)
    if (found !== null) return found
  }
  return null
}

/** Throws unless the document carries a known schema tag and that schema accepts it. */
export function assertContract(document: JsonValue): void {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new Error('--json document: not a JSON object')
  const tag = document.schema
  const match = typeof tag === 'string' ? SCHEMA_TAG.exec(tag) : null
  if (match === null) throw new Error(`--json document: "schema" is ${JSON.stringify(String(tag))}, not redrepl.<topic>-<verb>/<major>`)
  const [, name, major] = match
  const validate: ValidateFunction | undefined = contractValidator().getSchema(schemaUrl(name, major))
  if (validate === undefined) throw new Error(`${tag}: no schema ${schemaUrl(name, major)} (add schemas/${name}.json)`)
  const tooLarge = aboveU64(document, '')
  if (tooLarge !== null) throw new Error(`${tag} (redrepl ${name.replace('-', ' ')} --json): ${tooLarge}`)
  if (!validate(checkable(document))) {
    throw new Error(`${tag} (redrepl ${name.replace('-', ' ')} --json) breaks schemas/${name}.json:\n  ${validate.errors!.map(describe).join('\n  ')}`)
  }
}
