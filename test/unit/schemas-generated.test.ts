import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'
import {pathToFileURL} from 'node:url'

import {MODEL_COMMANDS} from '../../src/ui/contract.js'
import {schemasDir} from '../support/contract.js'
import {repoRoot} from '../support/fixtures.js'

/**
 * schemas/ is generated from the report types (scripts/schemas.mjs,
 * `npm run schemas`): each checked-in file must be what the generator
 * writes now, so a report field added, removed or retyped without
 * regenerating fails here, naming the file.
 */

interface Generated {
  files: Map<string, string>
  generated: string[]
  handWritten: string[]
}
type Generator = {generateSchemas(root: string): Generated; render(schema: unknown): string}

const generator = (): Promise<Generator> => import(pathToFileURL(path.join(repoRoot, 'scripts', 'schemas.mjs')).href) as Promise<Generator>

/**
 * Commands whose run() does not return its report yet: their documents are
 * printed by `emit`, so there is no type to generate from, and their files
 * are kept as written by hand. A command leaves this table when its run()
 * returns its report type (the test below fails until it does).
 */
const HAND_WRITTEN: Record<string, string> = {}

/** Commands without a --json document: no schema at all. */
const NO_DOCUMENT = new Set(['help', 'metrics', ...MODEL_COMMANDS])

let once: Promise<Generated> | undefined
const generated = () => (once ??= generator().then((g) => g.generateSchemas(repoRoot)))

/** The first lines where two texts part, for the failure message. */
function firstDifference(want: string, have: string): string {
  const a = want.split('\n')
  const b = have.split('\n')
  const at = a.findIndex((line, i) => line !== b[i])
  const from = Math.max(0, at - 2)
  return [`line ${at + 1}:`, ...a.slice(from, at + 3).map((line) => `  generated | ${line}`), ...b.slice(from, at + 3).map((line) => `  in schemas/ | ${line}`)].join('\n')
}

test('every generated schema is checked in exactly as the generator writes it', async () => {
  const {files} = await generated()
  assert.ok(files.has('defs.json'))
  const stale: string[] = []
  for (const [name, text] of files) {
    let checkedIn: string
    try {
      checkedIn = readFileSync(path.join(schemasDir, name), 'utf8')
    } catch {
      stale.push(`schemas/${name}: missing (run npm run schemas)`)
      continue
    }
    if (checkedIn !== text) stale.push(`schemas/${name} differs from its report type (run npm run schemas):\n${firstDifference(text, checkedIn)}`)
  }
  assert.deepEqual(stale, [], stale.join('\n'))
})

test('every command with a document is either generated or listed as hand-written, never both, never neither', async () => {
  const {generated: ids, handWritten} = await generated()
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
  const documented = Object.entries(manifest.commands)
    .filter(([id, command]) => 'json' in command.flags && !MODEL_COMMANDS.has(id))
    .map(([id]) => id)
    .sort()
  assert.ok(ids.length >= 7, `generated: ${ids.join(', ')}`)
  for (const id of ids) assert.ok(!(id in HAND_WRITTEN), `${id} is generated now: remove it from HAND_WRITTEN`)
  const stillByHand = handWritten.filter((id) => !NO_DOCUMENT.has(id)).sort()
  assert.deepEqual(stillByHand, Object.keys(HAND_WRITTEN).sort(), 'HAND_WRITTEN lists exactly the commands whose run() returns no report')
  assert.deepEqual([...ids, ...stillByHand].sort(), documented, 'every --json command has a schema, generated or by hand')
  const files = readdirSync(schemasDir).filter((name) => name.endsWith('.json'))
  for (const id of stillByHand) assert.ok(files.includes(`${id.replaceAll(':', '-')}.json`), `${id}: its hand-written schema is missing`)
})

test('the finding codes of defs.json are generated from the findings table', async () => {
  const {files} = await generated()
  const defs = JSON.parse(files.get('defs.json')!) as {$defs: {finding: {properties: {code: {enum: string[]}}}}}
  const {FINDINGS} = await import('../../src/core/findings.js')
  assert.deepEqual(defs.$defs.finding.properties.code.enum, Object.keys(FINDINGS).sort())
})

// A small project of its own: the mapping of each TypeScript form, and the forms refused.
const scratch = mkdtempSync(path.join(tmpdir(), 'redrepl-schemas-'))
after(() => rmSync(scratch, {recursive: true, force: true}))

function project(name: string, report: string, shared = false): string {
  const root = path.join(scratch, name)
  mkdirSync(path.join(root, 'src', 'ui'), {recursive: true})
  mkdirSync(path.join(root, 'src', 'commands', 'thing'), {recursive: true})
  writeFileSync(path.join(root, 'tsconfig.json'), JSON.stringify({compilerOptions: {target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: [], strict: true}, include: ['src/**/*.ts']}))
  writeFileSync(path.join(root, 'src', 'ui', 'contract.ts'), "export const CONTRACT_MAJOR = 1\nexport const COMMAND_MAJORS: Record<string, number> = {'thing:new': 3}\nexport const MODEL_COMMANDS = new Set(['thing:model'])\n")
  writeFileSync(path.join(root, 'src', 'report.ts'), report)
  const command = (names: string, body: string) =>
    `import type {${names}} from '../../report.js'\nexport default class C {\n  async run(): Promise<${body}> {\n    return undefined as never\n  }\n}\n`
  writeFileSync(path.join(root, 'src', 'commands', 'thing', 'show.ts'), command('Report', 'Report'))
  if (shared) writeFileSync(path.join(root, 'src', 'commands', 'thing', 'new.ts'), command('Shared', '{tag: Shared}'))
  writeFileSync(path.join(root, 'src', 'commands', 'thing', 'model.ts'), command('Report', 'Report'))
  writeFileSync(path.join(root, 'src', 'commands', 'thing', 'quiet.ts'), 'export default class C {\n  async run(): Promise<void> {}\n}\n')
  return root
}

test('each TypeScript form maps to its JSON Schema form', async () => {
  const {generateSchemas} = await generator()
  const root = project(
    'forms',
    `/** @jsonDef shared\n * @jsonList shareds */
export interface Shared { id: string }
export interface Report {
  lsn: bigint
  count: number
  /** @signed */
  delta: number
  /** @pattern ^[0-9a-f]{64}$ */
  digest: string
  kind: 'b' | 'a'
  maybe: 'x' | null
  path: string | null
  head: bigint | null
  flag: boolean
  later?: string
  rows: Array<{at: bigint}>
  /** @minItems 1 */
  history: bigint[]
  data: Record<string, bigint | string | null>
  one: Shared | null
  many: Shared[]
  either: {a: string} | {b: bigint}
}`,
    true,
  )
  const {files, generated: ids, handWritten} = generateSchemas(root)
  assert.deepEqual(ids, ['thing:new', 'thing:show'])
  assert.deepEqual(handWritten, ['thing:quiet'])
  const show = JSON.parse(files.get('thing-show.json')!)
  const u64 = {$ref: 'defs.json#/$defs/u64'}
  assert.equal(show.$id, 'https://redrepl.dev/schemas/v1/thing-show.json')
  assert.equal(show.title, 'redrepl thing show --json')
  assert.equal(show.additionalProperties, false)
  assert.deepEqual(show.required, ['schema', 'lsn', 'count', 'delta', 'digest', 'kind', 'maybe', 'path', 'head', 'flag', 'rows', 'history', 'data', 'one', 'many', 'either'])
  assert.deepEqual(show.properties, {
    schema: {const: 'redrepl.thing-show/1'},
    lsn: u64,
    count: {type: 'integer', minimum: 0},
    delta: {type: 'integer'},
    digest: {type: 'string', pattern: '^[0-9a-f]{64}$'},
    kind: {enum: ['a', 'b']},
    maybe: {enum: ['x', null]},
    path: {type: ['string', 'null']},
    head: {anyOf: [u64, {type: 'null'}]},
    flag: {type: 'boolean'},
    later: {type: 'string'},
    rows: {type: 'array', items: {type: 'object', additionalProperties: false, required: ['at'], properties: {at: u64}}},
    history: {type: 'array', items: u64, minItems: 1},
    data: {type: 'object', additionalProperties: {type: ['integer', 'string', 'null']}},
    one: {anyOf: [{$ref: 'defs.json#/$defs/shared'}, {type: 'null'}]},
    many: {$ref: 'defs.json#/$defs/shareds'},
    either: {
      anyOf: [
        {type: 'object', additionalProperties: false, required: ['a'], properties: {a: {type: 'string'}}},
        {type: 'object', additionalProperties: false, required: ['b'], properties: {b: u64}},
      ],
    },
  })
  // Past major 1, references to defs.json (which stays at /v1/) are absolute.
  const later = JSON.parse(files.get('thing-new.json')!)
  assert.equal(later.$id, 'https://redrepl.dev/schemas/v3/thing-new.json')
  assert.deepEqual(later.properties.tag, {$ref: 'https://redrepl.dev/schemas/v1/defs.json#/$defs/shared'})
  const defs = JSON.parse(files.get('defs.json')!)
  assert.deepEqual(Object.keys(defs.$defs), ['u64', 'shared', 'shareds'])
  assert.deepEqual(defs.$defs.shared, {type: 'object', additionalProperties: false, required: ['id'], properties: {id: {type: 'string'}}})
  assert.deepEqual(defs.$defs.shareds, {type: 'array', items: {$ref: '#/$defs/shared'}})
  assert.match(files.get('defs.json')!, /"maximum": 18446744073709551615\n/)
  assert.ok(!files.has('thing-model.json'), 'a model command prints RedDB\'s format, not a contract document')
  for (const text of files.values()) assert.ok(text.endsWith('}\n') && text.includes('\n  "'), 'two-space JSON with a trailing newline')
})

test('a document a base class prints itself (@jsonAlso) is a form of the command\'s schema, after its report', async () => {
  const {generateSchemas} = await generator()
  const root = project('also', '/** @jsonAlso Failed */\nexport abstract class Base<R> { abstract run(): Promise<R> }\nexport interface Failed { status: \'UNKNOWN\'; message: string }\nexport interface Report { ok: boolean }')
  writeFileSync(path.join(root, 'src', 'commands', 'thing', 'show.ts'), "import {Base, type Report} from '../../report.js'\nexport default class C extends Base<Report> {\n  async run(): Promise<Report> {\n    return {ok: true}\n  }\n}\n")
  const show = JSON.parse(generateSchemas(root).files.get('thing-show.json')!)
  const schema = {const: 'redrepl.thing-show/1'}
  assert.deepEqual(show.anyOf, [
    {type: 'object', additionalProperties: false, required: ['schema', 'ok'], properties: {schema, ok: {type: 'boolean'}}},
    {type: 'object', additionalProperties: false, required: ['schema', 'status', 'message'], properties: {schema, status: {enum: ['UNKNOWN']}, message: {type: 'string'}}},
  ])
})

test('a report the schema could not close or type is refused, naming the command and the field', async () => {
  const {generateSchemas} = await generator()
  const refusals: Array<[string, string, RegExp]> = [
    ['unknown', 'export interface Report { a: string; extra: unknown }', /thing:show\.extra: type unknown says nothing a schema can check/],
    ['any', 'export interface Report { rows: Array<{x: any}> }', /thing:show\.rows\[\]\.x: type any/],
    ['undefined', 'export interface Report { gone: string | undefined }', /thing:show\.gone: a field that may be undefined/],
    ['index', 'export interface Report { named: string; [key: string]: string }', /thing:show: an index signature beside named fields/],
    ['function', 'export interface Report { call: () => void }', /thing:show\.call: a function is not JSON/],
    ['tuple', 'export interface Report { pair: [bigint, bigint] }', /thing:show\.pair: a tuple/],
    ['twice', '/** @jsonDef d */ interface A { a: string }\n/** @jsonDef d */ interface B { b: string }\nexport interface Report { a: A; b: B }', /two types are tagged @jsonDef d/],
  ]
  for (const [name, report, message] of refusals) {
    assert.throws(() => generateSchemas(project(name, report)), message, name)
  }
})
