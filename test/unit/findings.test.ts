import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {FINDINGS} from '../../src/core/findings.js'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(file) : entry.name.endsWith('.ts') ? [file] : []
  })
}

test('every finding code in the table is emitted somewhere, and every emitted code is in the table', () => {
  const text = sources(SRC)
    .filter((file) => file !== path.join(SRC, 'core', 'findings.ts'))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n')
  const codes = Object.keys(FINDINGS)
  for (const code of codes) assert.ok(text.includes(`'${code}'`), `finding ${code} is never emitted`)
  // Codes are quoted `area.what` strings passed to report()/finding().
  const emitted = [...text.matchAll(/(?:report|finding)\([^)]*?'([a-z]+\.[a-z0-9-]+)'/g)].map((m) => m[1])
  assert.ok(emitted.length > 0)
  for (const code of emitted) assert.ok(code in FINDINGS, `emitted code ${code} is not in the findings table`)
})

test('findings codes are area.kebab-case and have a severity and a summary', () => {
  for (const [code, spec] of Object.entries(FINDINGS)) {
    assert.match(code, /^[a-z]+\.[a-z0-9-]+$/)
    assert.ok(['error', 'warning', 'note'].includes(spec.severity))
    assert.ok(spec.summary.length > 10)
  }
})
