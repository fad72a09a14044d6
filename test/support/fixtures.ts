import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseJson, type JsonValue} from '../../src/core/codec/json.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

/** The golden fixtures: the first set REDREPL_FIXTURES names (DIR[:DIR…]), else ../shared/fixtures/v1.12.0 beside the repo. */
export const fixturesDir = process.env.REDREPL_FIXTURES?.split(':')[0] || path.resolve(repoRoot, '../shared/fixtures/v1.12.0')

/** RedDB 1.23.2's set, whose embedded databases are format 2 (wrapped WALs, second-slot manifests). Never written to. */
export const fixturesDir123 = path.resolve(repoRoot, '../shared/fixtures/v1.23.2')

export const NOW_MS = 1700000000000n

export function fixturePath(...parts: string[]): string {
  return path.join(fixturesDir, ...parts)
}

export function readFixture(...parts: string[]): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(...parts)))
}

export function readFixtureJson(...parts: string[]): JsonValue {
  return parseJson(readFileSync(fixturePath(...parts), 'utf8'))
}

/** File names in a fixture folder (empty when the folder does not exist). */
export function listFixtures(...parts: string[]): string[] {
  const dir = fixturePath(...parts)
  return existsSync(dir) ? readdirSync(dir).sort() : []
}

export {repoRoot}
