/**
 * The documentation says each thing once and says it right: the releases
 * served, one row per environment variable and per reliability scenario.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

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
