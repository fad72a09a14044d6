import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {ERROR_CODES, EXIT_CODES, RedreplError, refused} from '../../src/core/errors.js'
import {FINDINGS} from '../../src/core/findings.js'
import {ERRNO_TRANSLATIONS, ioError} from '../../src/core/fs/io-error.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SRC = path.join(ROOT, 'src')
const TABLE = path.join('core', 'errors.ts')

function sources(): Map<string, string> {
  const files = new Map<string, string>()
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (entry.name.endsWith('.ts')) files.set(path.relative(SRC, file), readFileSync(file, 'utf8'))
    }
  }
  walk(SRC)
  return files
}

const codes = Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>

test('every error code of the table is raised somewhere in src, by its literal name', () => {
  const files = sources()
  const unraised = codes.filter((code) => ![...files].some(([name, text]) => name !== TABLE && text.includes(`'${code}'`)))
  assert.deepEqual(unraised, [])
})

test('no error code is built at run time: no template, no cast, and every code literal given to a failure is in the table', () => {
  const offenders: string[] = []
  for (const [name, text] of sources()) {
    for (const [index, line] of text.split('\n').entries()) {
      const where = `${name}:${index + 1}`
      if (/\bcode: `/.test(line) || /`io\.\$\{(?!string\})/.test(line)) offenders.push(`${where}: a code built from a template`)
      if (/as ErrorCode(Of)?\b/.test(line)) offenders.push(`${where}: a string cast to an error code`)
      for (const [, code] of line.matchAll(/\bcode: '([a-z0-9-]+\.[A-Za-z0-9_.-]+)'/g)) {
        // Findings carry codes of their own table; a failure's must be in this one.
        if (!Object.hasOwn(ERROR_CODES, code!) && !Object.hasOwn(FINDINGS, code!)) offenders.push(`${where}: ${code} is in neither table`)
      }
    }
  }
  assert.deepEqual(offenders, [])
})

test('docs/errors.md lists exactly the table: each code with its exit code and meaning', () => {
  const text = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8')
  const rows = new Map<string, {exit: string; meaning: string}>()
  for (const [, code, exit, meaning] of text.matchAll(/^\| `([^`]+)` \| ([^|]+) \| (.+) \|$/gm)) rows.set(code!, {exit: exit!.trim(), meaning: meaning!.trim()})
  const expected = new Map(codes.map((code) => {
    const {kind, meaning} = ERROR_CODES[code]
    return [code, {exit: kind === 'as-cause' ? 'as its cause' : String(EXIT_CODES[kind]), meaning}]
  }))
  assert.deepEqual(rows, expected)
})

test('every translated errno has its io code in the table, with the kind the translator gives it', () => {
  const ioCodes = codes.filter((code) => code.startsWith('io.'))
  const translated = Object.values(ERRNO_TRANSLATIONS).map((t) => t.code)
  assert.deepEqual([...translated, 'io.other'].sort(), [...ioCodes].sort())
  for (const [errno, {code}] of Object.entries(ERRNO_TRANSLATIONS)) {
    const error = ioError('read', '/x', Object.assign(new Error(errno), {code: errno}))
    assert.equal(error.code, code)
    assert.equal(error.kind, ERROR_CODES[code].kind)
  }
})

test('a failure keeps the code it was given, and its exit code is the one the table documents', () => {
  const error = refused('/plan: stale', {code: 'plan.stale'})
  assert.ok(error instanceof RedreplError)
  assert.equal(error.code, 'plan.stale')
  assert.equal(error.exitCode, EXIT_CODES[ERROR_CODES['plan.stale'].kind])
})
