/**
 * The documentation says each thing once and says it right: the releases
 * served, one row per environment variable and per reliability scenario.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {FINDINGS} from '../../src/core/findings.js'
import {checkFlags} from '../../src/ui/check-flags.js'
import {repoRoot} from '../support/fixtures.js'
import {runCli} from '../support/cli.js'

const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8')
const firstCells = (text: string) => text.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('|---')).map((line) => line.split(' | ')[0])
const repeated = (cells: string[]) => cells.filter((cell, i) => cells.indexOf(cell) !== i)

test('redrepl --help names both RedDB releases it serves', async () => {
  const result = await runCli(['--help'])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.match(result.stdout, /RedDB 1\.12 and 1\.23/)
  assert.doesNotMatch(result.stdout, /RedDB 1\.12 primary/)
})

test('README lists each environment variable once; RELIABILITY.md has one row per scenario', () => {
  const env = read('README.md').split('\n').filter((line) => line.startsWith('| `REDREPL_') || line.startsWith('| `REDDB_'))
  assert.ok(env.length > 3)
  assert.deepEqual(repeated(firstCells(env.join('\n'))), [])
  assert.deepEqual(repeated(firstCells(read('RELIABILITY.md'))), [])
})

test('docs/monitoring.md names every finding check can report, with what pages and what does not', () => {
  const doc = read('docs/monitoring.md')
  // Reported by other commands only: a --force override, and retention notes of slot changes.
  const elsewhere = new Set(['force.overridden', 'slot.no-catalog', 'wal.retention-unplanned'])
  const missing = Object.keys(FINDINGS).filter((code) => !elsewhere.has(code) && !doc.includes(`\`${code}\``))
  assert.deepEqual(missing, [])
  const pairs = Object.keys(checkFlags).filter((flag) => flag.startsWith('warning-')).map((flag) => flag.slice('warning-'.length))
  assert.ok(pairs.length >= 12, pairs.join())
  assert.deepEqual(pairs.filter((pair) => !doc.includes(`(\`${pair}\`)`)), [], 'every threshold pair with its defaults')
})
