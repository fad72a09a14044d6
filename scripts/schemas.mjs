// Generates schemas/*.json, the closed JSON Schemas of the --json contract
// (docs/json.md), from the report types: a command's schema is the type its
// run() returns, walked with the TypeScript checker. `npm run schemas`
// writes the files; test/unit/schemas-generated.test.ts fails when a
// checked-in file differs from what this produces. A command whose run()
// returns nothing yet keeps its hand-written file.
//
// Mapping (one rule per TypeScript form, so the types stay the source of truth):
//   bigint                      → defs.json#/$defs/u64
//   number                      → a non-negative integer; `@signed` on the field: any integer
//   string                      → string (`@pattern RE` on the field adds the pattern)
//   'a' | 'b'                   → enum (with null when the union holds null)
//   boolean                     → boolean
//   T | null                    → T's type with "null", or anyOf [T, null]
//   T[]                         → array of T (`@minItems N` on the field: at least N)
//   {…} / interface             → closed object; `x?:` is the one way a field may be absent
//   Record<string, T>           → object whose every value is T
//   a type tagged `@jsonDef N`  → defs.json#/$defs/N, defined once there
//   an array of a type tagged `@jsonList L` (beside its `@jsonDef`) → defs.json#/$defs/L
//   A | B (objects)             → anyOf [A, B]
// Anything else (unknown, any, functions, an index signature beside fields,
// a required field that may be undefined) stops the generation, naming the
// command and the field: JSON cannot say it, so the type must.
import {readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import ts from 'typescript'

const DRAFT = 'https://json-schema.org/draft/2020-12/schema'
const BASE = 'https://redrepl.dev/schemas'
const U64_MAX = 18446744073709551615n

/** Code-point order, the same on every machine (localeCompare depends on the locale). */
const byValue = (a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0)

/** `wal:plan` → `wal-plan`. */
const fileNameOf = (id) => id.replaceAll(':', '-')

/** Every command module under src/commands, with its id: `repo/key/add.ts` → `repo:key:add`. */
function commandFiles(root) {
  const dir = path.join(root, 'src', 'commands')
  const found = []
  const walk = (at, prefix) => {
    for (const entry of readdirSync(at, {withFileTypes: true}).sort((a, b) => byValue(a.name, b.name))) {
      if (entry.isDirectory()) walk(path.join(at, entry.name), [...prefix, entry.name])
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push({id: [...prefix, entry.name.slice(0, -3)].join(':'), file: path.join(at, entry.name)})
    }
  }
  walk(dir, [])
  return found
}

/** The majors and model commands of src/ui/contract.ts, read from its source so the two cannot disagree. */
function contractOf(program, root) {
  const source = program.getSourceFile(path.join(root, 'src', 'ui', 'contract.ts'))
  if (source === undefined) throw new Error('src/ui/contract.ts: not found')
  const contract = {major: undefined, majors: {}, models: []}
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue
    for (const declaration of statement.declarationList.declarations) {
      const name = declaration.name.getText(source)
      const init = declaration.initializer
      if (name === 'CONTRACT_MAJOR' && init && ts.isNumericLiteral(init)) contract.major = Number(init.text)
      if (name === 'COMMAND_MAJORS' && init && ts.isObjectLiteralExpression(init)) {
        for (const property of init.properties) {
          if (ts.isPropertyAssignment(property) && ts.isNumericLiteral(property.initializer)) contract.majors[property.name.text] = Number(property.initializer.text)
        }
      }
      if (name === 'MODEL_COMMANDS' && init) {
        const visit = (node) => {
          if (ts.isStringLiteral(node)) contract.models.push(node.text)
          ts.forEachChild(node, visit)
        }
        visit(init)
      }
    }
  }
  if (contract.major === undefined) throw new Error('src/ui/contract.ts: no numeric CONTRACT_MAJOR')
  return contract
}

function createProgram(root) {
  const configPath = path.join(root, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(config.error.messageText, '\n')}`)
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const rootNames = [...commandFiles(root).map((command) => command.file), path.join(root, 'src', 'ui', 'contract.ts')]
  const options = {...parsed.options, noEmit: true, incremental: false, tsBuildInfoFile: undefined}
  // Report types are plain data declared under src/: the packages' declarations (the AWS SDK's alone are
  // megabytes) are read as empty modules, which keeps a run to seconds. A report field typed from a package
  // then has no mapping and stops the run, naming it.
  const host = ts.createCompilerHost(options, true)
  const read = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, language, onError, fresh) => {
    const packaged = fileName.includes('/node_modules/') && !fileName.includes('/node_modules/typescript/lib/')
    return packaged ? ts.createSourceFile(fileName, 'export {}', language) : read(fileName, language, onError, fresh)
  }
  return ts.createProgram({rootNames, options, host})
}

/** The JSDoc tags of a symbol as a map of name → text (the last one wins). */
function tagsOf(symbol, checker) {
  const tags = new Map()
  if (symbol === undefined) return tags
  for (const tag of symbol.getJsDocTags(checker)) tags.set(tag.name, ts.displayPartsToString(tag.text ?? []).trim())
  return tags
}

/** The declared name of a type's own declaration tagged `@jsonDef`, if any. */
function defTags(type, checker) {
  for (const symbol of [type.aliasSymbol, type.getSymbol()]) {
    if (symbol === undefined) continue
    const tags = tagsOf(symbol, checker)
    if (tags.has('jsonDef')) return {name: tags.get('jsonDef'), list: tags.get('jsonList'), symbol}
  }
  return undefined
}

/**
 * The generator over one program: `schemaOf(type)` for a report, with the
 * shared definitions it meets collected for defs.json.
 */
class Walker {
  constructor(checker) {
    this.checker = checker
    /** Shared definitions by name, built once each (`u64` is the generator's own). */
    this.defs = new Map()
    this.defOwners = new Map()
    this.major = 1
  }

  /** A reference to defs.json from a schema file of this major: relative under /v1/, absolute from other majors. */
  ref(name) {
    return {$ref: `${this.major === 1 ? '' : `${BASE}/v1/`}defs.json#/$defs/${name}`}
  }

  fail(where, message) {
    throw new Error(`${where}: ${message}`)
  }

  /** The schema of a field's or an item's type; `tags` are the field's JSDoc tags. */
  schemaOf(type, where, tags = new Map(), optional = false) {
    const checker = this.checker
    const f = type.flags
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) this.fail(where, `type ${checker.typeToString(type)} says nothing a schema can check: give the field its real type`)
    if (f & ts.TypeFlags.Undefined) this.fail(where, 'a field that may be undefined is left out of JSON: make it optional (x?:) or null')
    if (type.isUnion()) return this.unionOf(type.types, where, tags, optional)
    if (f & (ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral)) return this.ref('u64')
    if (f & ts.TypeFlags.Number) return this.numberOf(tags)
    if (f & ts.TypeFlags.String) return this.stringOf(tags)
    if (f & ts.TypeFlags.Boolean) return {type: 'boolean'}
    if (f & ts.TypeFlags.Null) return {type: 'null'}
    if (type.isStringLiteral() || type.isNumberLiteral()) return {enum: [type.value]}
    if (f & ts.TypeFlags.BooleanLiteral) return {const: checker.typeToString(type) === 'true'}
    if (checker.isArrayType(type)) {
      const [item] = checker.getTypeArguments(type)
      const def = defTags(item, checker)
      if (def?.list !== undefined) {
        this.define(item, def, where)
        this.defineList(def)
        return this.ref(def.list)
      }
      const array = {type: 'array', items: this.schemaOf(item, `${where}[]`)}
      if (tags.has('minItems')) array.minItems = Number(tags.get('minItems'))
      return array
    }
    if (checker.isTupleType(type)) this.fail(where, 'a tuple: use an object with named fields')
    if (f & ts.TypeFlags.Object) {
      if (type.getCallSignatures().length > 0) this.fail(where, 'a function is not JSON')
      const def = defTags(type, checker)
      if (def !== undefined) {
        this.define(type, def, where)
        return this.ref(def.name)
      }
      return this.objectOf(type, where)
    }
    if (type.isIntersection()) return this.objectOf(type, where)
    return this.fail(where, `type ${checker.typeToString(type)} has no JSON Schema mapping`)
  }

  numberOf(tags) {
    const schema = tags.has('signed') ? {type: 'integer'} : {type: 'integer', minimum: 0}
    if (tags.has('minimum')) schema.minimum = Number(tags.get('minimum'))
    if (tags.has('maximum')) schema.maximum = Number(tags.get('maximum'))
    return schema
  }

  stringOf(tags) {
    return tags.has('pattern') ? {type: 'string', pattern: tags.get('pattern')} : {type: 'string'}
  }

  /**
   * A union without `undefined` (optional fields lose it before): literals
   * become an enum; plain primitives with null a list of types; anything
   * else anyOf, with null last.
   */
  unionOf(types, where, tags, optional) {
    // An optional field's type holds undefined: absent is what `required` says.
    let members = optional ? types.filter((member) => !(member.flags & ts.TypeFlags.Undefined)) : types
    if (members.length === 1) return this.schemaOf(members[0], where, tags)
    if (members.some((member) => member.flags & ts.TypeFlags.Undefined)) this.fail(where, 'a field that may be undefined is left out of JSON: make it optional (x?:) or null')
    const nullable = members.some((member) => member.flags & ts.TypeFlags.Null)
    members = members.filter((member) => !(member.flags & ts.TypeFlags.Null))
    // TypeScript spells boolean as true | false.
    const booleans = members.filter((member) => member.flags & ts.TypeFlags.BooleanLiteral)
    const isBoolean = booleans.length === 2
    if (isBoolean) members = members.filter((member) => !(member.flags & ts.TypeFlags.BooleanLiteral))
    const literal = (member) => member.isStringLiteral() || member.isNumberLiteral()
    if (!isBoolean && members.length > 0 && members.every(literal)) {
      // Sorted: a union's order is the checker's, not the source's.
      return {enum: [...members.map((member) => member.value).sort(byValue), ...(nullable ? [null] : [])]}
    }
    const plain = (member) => member.flags & (ts.TypeFlags.String | ts.TypeFlags.Number | ts.TypeFlags.BigInt)
    const kinds = [...members.map((member) => (member.flags & ts.TypeFlags.String ? 'string' : 'integer')), ...(isBoolean ? ['boolean'] : [])]
    if (members.every(plain) && !(members.length === 1 && members[0].flags & (ts.TypeFlags.BigInt | ts.TypeFlags.Number)) && !tags.has('pattern')) {
      // bigint | number is one JSON kind: an integer.
      const unique = [...new Set(kinds)].sort(byValue)
      if (unique.length === 1 && !nullable) return {type: unique[0]}
      return {type: [...unique, ...(nullable ? ['null'] : [])]}
    }
    const schemas = [...members.map((member) => this.schemaOf(member, where, tags)), ...(isBoolean ? [{type: 'boolean'}] : [])]
    if (schemas.length === 1 && !nullable) return schemas[0]
    schemas.sort((a, b) => byValue(JSON.stringify(a), JSON.stringify(b)))
    return {anyOf: [...schemas, ...(nullable ? [{type: 'null'}] : [])]}
  }

  /** A closed object: every field listed, the optional ones not required; or a record of one value type. */
  objectOf(type, where) {
    const checker = this.checker
    const properties = checker.getPropertiesOfType(type)
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String)
    if (index !== undefined) {
      if (properties.length > 0) this.fail(where, 'an index signature beside named fields: the schema could not close the object')
      return {type: 'object', additionalProperties: this.schemaOf(index.type, `${where}[key]`)}
    }
    const schema = {type: 'object', additionalProperties: false, required: [], properties: {}}
    for (const property of properties) {
      const name = property.getName()
      const at = `${where}.${name}`
      const optional = (property.flags & ts.SymbolFlags.Optional) !== 0
      const fieldType = checker.getTypeOfSymbol(property)
      if (fieldType.flags & ts.TypeFlags.Never) this.fail(at, 'a field of type never')
      const tags = tagsOf(property, checker)
      const field = this.schemaOf(fieldType, at, tags, optional)
      if (tags.has('description')) field.description = tags.get('description')
      if (!optional) schema.required.push(name)
      schema.properties[name] = field
    }
    return schema
  }

  /** Builds the shared definition `def.name` once; two types may not claim one name. */
  define(type, def, where) {
    const owner = this.defOwners.get(def.name)
    if (owner !== undefined) {
      if (owner !== def.symbol) this.fail(where, `two types are tagged @jsonDef ${def.name}`)
      return
    }
    this.defOwners.set(def.name, def.symbol)
    // Defined at major 1, whatever the schema that met it first.
    const major = this.major
    this.major = 1
    try {
      const schema = this.objectOf(type, def.name)
      const description = tagsOf(def.symbol, this.checker).get('description')
      this.defs.set(def.name, description === undefined ? schema : {description, ...schema})
    } finally {
      this.major = major
    }
  }

  defineList(def) {
    this.defs.set(def.list, {type: 'array', items: {$ref: `#/$defs/${def.name}`}})
  }
}

/**
 * The documents a command prints: the report type its run() returns
 * (awaited), and each type a base class names with `@jsonAlso NAME` in its
 * doc comment (a document the base prints itself, as a Nagios command's
 * UNKNOWN). Undefined when run() returns nothing yet.
 */
function documentTypesOf(checker, source) {
  const symbol = checker.getSymbolAtLocation(source)
  const exported = symbol && checker.getExportsOfModule(symbol).find((entry) => entry.getName() === 'default')
  if (exported === undefined) return undefined
  const declared = checker.getDeclaredTypeOfSymbol(exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported)
  const run = declared.getProperty('run')
  if (run === undefined) return undefined
  const [signature] = checker.getTypeOfSymbol(run).getCallSignatures()
  if (signature === undefined) return undefined
  const result = checker.getAwaitedType(signature.getReturnType()) ?? signature.getReturnType()
  if (result.flags & (ts.TypeFlags.Void | ts.TypeFlags.Undefined | ts.TypeFlags.Never)) return undefined
  // A union's order is the checker's: sorted by how each member reads, so the file does not change with it.
  const types = result.isUnion() ? [...result.types].sort((a, b) => byValue(checker.typeToString(a), checker.typeToString(b))) : [result]
  for (let base = declared.getBaseTypes?.()?.[0]; base !== undefined; base = base.getBaseTypes?.()?.[0]) {
    const declaration = base.getSymbol()?.declarations?.[0]
    const also = declaration && tagsOf(base.getSymbol(), checker).get('jsonAlso')
    if (!also) continue
    const named = typeNamedIn(checker, declaration.getSourceFile(), also)
    if (named === undefined) throw new Error(`${base.getSymbol().getName()}: @jsonAlso ${also} names no type its module declares or imports`)
    types.push(named)
  }
  return types
}

/** The type a module declares or imports under `name`. */
function typeNamedIn(checker, source, name) {
  for (const statement of source.statements) {
    if ((ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && statement.name.text === name) return checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(statement.name))
    const bindings = ts.isImportDeclaration(statement) ? statement.importClause?.namedBindings : undefined
    if (bindings === undefined || !ts.isNamedImports(bindings)) continue
    const element = bindings.elements.find((entry) => entry.name.text === name)
    if (element === undefined) continue
    const symbol = checker.getSymbolAtLocation(element.name)
    return checker.getDeclaredTypeOfSymbol(symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol)
  }
  return undefined
}

/** A top-level document: each object of the union gets `schema` first, as withSchema prints it. */
function documentOf(walker, members, id, tag) {
  const objects = members.map((member) => {
    if (!(member.flags & ts.TypeFlags.Object) && !member.isIntersection()) walker.fail(id, 'a report must be an object (or a union of objects)')
    const body = walker.objectOf(member, id)
    return {...body, required: ['schema', ...body.required], properties: {schema: {const: tag}, ...body.properties}}
  })
  return objects.length === 1 ? objects[0] : {anyOf: objects}
}

const DEFS_HEAD = {
  $schema: DRAFT,
  $id: `${BASE}/v1/defs.json`,
  title: 'Shared definitions of the redrepl --json contract, major version 1',
}

const U64 = {
  description: 'An unsigned 64-bit integer (LSN, timeline, byte count, unix ms), printed as an exact integer literal.',
  type: 'integer',
  minimum: 0,
  // Written as the exact literal below (JSON.stringify cannot hold it).
  maximum: '__U64_MAX__',
}

/** 2-space JSON with a trailing newline; u64's maximum written exactly. */
export function render(schema) {
  return `${JSON.stringify(schema, null, 2).replace('"__U64_MAX__"', String(U64_MAX))}\n`
}

/**
 * Every generated schema file: `{files: Map<name, text>, generated: ids,
 * handWritten: ids}` (`handWritten`: commands whose run() returns nothing
 * yet, whose files are kept as they are). defs.json is always generated.
 */
export function generateSchemas(root) {
  const program = createProgram(root)
  const checker = program.getTypeChecker()
  const contract = contractOf(program, root)
  const walker = new Walker(checker)
  const files = new Map()
  const generated = []
  const handWritten = []
  for (const {id, file} of commandFiles(root)) {
    if (contract.models.includes(id)) continue
    const source = program.getSourceFile(file)
    const types = documentTypesOf(checker, source)
    if (types === undefined) {
      handWritten.push(id)
      continue
    }
    const major = contract.majors[id] ?? contract.major
    const name = fileNameOf(id)
    walker.major = major
    const document = documentOf(walker, types, id, `redrepl.${name}/${major}`)
    files.set(`${name}.json`, render({$schema: DRAFT, $id: `${BASE}/v${major}/${name}.json`, title: `redrepl ${id.replaceAll(':', ' ')} --json`, ...document}))
    generated.push(id)
  }
  const defs = {u64: U64, ...Object.fromEntries([...walker.defs.entries()].sort(([a], [b]) => byValue(a, b)))}
  files.set('defs.json', render({...DEFS_HEAD, $defs: defs}))
  return {files, generated, handWritten}
}

// `npm run schemas`: write the files.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const {files, generated, handWritten} = generateSchemas(root)
  for (const [name, text] of files) {
    const target = path.join(root, 'schemas', name)
    let before = null
    try {
      before = readFileSync(target, 'utf8')
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
    }
    if (before !== text) {
      // Whole or not at all: a new file beside the old one, renamed over it.
      const temp = `${target}.${process.pid}-${Date.now()}.tmp`
      writeFileSync(temp, text, {flag: 'wx'})
      renameSync(temp, target)
      console.log(`schemas/${name}: written`)
    }
  }
  console.log(`schemas: ${generated.length} generated from their report types; commands without one (their files, if any, kept as written): ${handWritten.join(', ')}`)
}
