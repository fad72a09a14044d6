import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {after, test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {Layout} from '../../src/core/layout.js'
import {releaseOfFixtureSet} from '../conformance/suite.js'
import {fixturePath, fixturesDir, listFixtures} from '../support/fixtures.js'
import {runCli, tempDir} from '../support/cli.js'
import {MiB, writeWalNode} from '../support/wal-node.js'

const JSON_EXTENSIONS = ['.logical.slots.json', '.rebootstrap.ready']

/** Artifact files of a fixture category (not their .json models, errors or re-encodings). */
function artifacts(category: string): Array<{kind: string; file: string}> {
  return listFixtures(category).flatMap((kind) =>
    readdirSync(fixturePath(category, kind))
      .filter((name) => !name.includes('.reencoded.') && !name.endsWith('.txt'))
      .filter((name) => !name.endsWith('.json') || JSON_EXTENSIONS.some((ext) => name.endsWith(ext)))
      .map((name) => ({kind, file: fixturePath(category, kind, name)})),
  )
}

/** Databases are opened by the rules of the RedDB that made the set (a format-1 file does not show which). */
const reddbFlag = ['--reddb', releaseOfFixtureSet(fixturesDir).slice('reddb-'.length)]
const rulesFor = (file: string) => (file.endsWith('.rdb') ? reddbFlag : [])

/** Runs tasks a few at a time: each is a separate CLI process. */
async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run))
}

test('inspect --json prints exactly the canonical model of every valid fixture', async () => {
  const cases = artifacts('valid')
  assert.ok(cases.length > 50)
  await inBatches(cases, 4, async ({file}) => {
    const result = await runCli(['inspect', '--json', ...rulesFor(file), file])
    assert.equal(result.exitCode, 0, `${file}: ${result.stderr}`)
    const base = path.basename(file).replace(/(\.logical\.slots\.json|\.rebootstrap\.ready|\.[a-z]+)$/, '')
    const expected = stringifyJson(parseJson(readFileSync(path.join(path.dirname(file), `${base}.json`), 'utf8')))
    assert.equal(result.stdout, `${expected}\n`, file)
    assert.equal(result.stderr, '')
  })
})

test('inspect rejects every invalid and crash fixture with one line and exit 3', async () => {
  const cases = [...artifacts('invalid'), ...artifacts('crashes')]
  assert.ok(cases.length > 50)
  await inBatches(cases, 4, async ({kind, file}) => {
    for (const args of [['inspect', ...rulesFor(file), file], ['inspect', '--json', ...rulesFor(file), '--kind', kind, file]]) {
      const result = await runCli(args)
      assert.equal(result.exitCode, 3, `${file}: ${result.stderr}`)
      assert.equal(result.stdout, '')
      const lines = result.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 1, result.stderr)
      assert.ok(lines[0].startsWith(`redrepl: ${file}: `), lines[0])
    }
  })
})

test('inspect names a missing file (exit 6), an unknown kind (exit 2) and an unrecognisable file (exit 3)', async () => {
  const {dir, cleanup} = await tempDir()
  try {
    const missing = await runCli(['inspect', path.join(dir, 'nope.redwal')])
    assert.equal(missing.exitCode, 6)
    assert.match(missing.stderr, /nope\.redwal: no such file/)
    const badKind = await runCli(['inspect', '--kind', 'bogus', fixturePath('valid', 'wal-segment', 'empty.redwal')])
    assert.equal(badKind.exitCode, 2)
    const text = path.join(dir, 'notes.txt')
    await import('node:fs/promises').then((fs) => fs.writeFile(text, 'hello'))
    const unknown = await runCli(['inspect', text])
    assert.equal(unknown.exitCode, 3)
    assert.match(unknown.stderr, /notes\.txt: unrecognised artifact/)
  } finally {
    await cleanup()
  }
})

test('inspect shows a readable summary without --json', async () => {
  const result = await runCli(['inspect', fixturePath('valid', 'slot-catalog', 'three-slots.redslots')])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.match(result.stdout, /slot-catalog/)
  assert.match(result.stdout, /replica_id/)
})

test('human output cuts a long record list, naming what it left out; --output wide shows every record', async () => {
  const {dir, cleanup} = await tempDir('redrepl-inspect-')
  after(cleanup)
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {1: 60}})
  const segment = Layout.fromDataPath(data).walSegmentPath(1n, 1n)
  const human = await runCli(['inspect', segment])
  assert.equal(human.exitCode, 0, human.stderr)
  assert.match(human.stdout, /^records \(60\)$/m)
  assert.match(human.stdout, /^… 10 more records \(use --output wide or --json for all\)$/m)
  assert.doesNotMatch(human.stdout, /\b1048635\b/, 'the 60th record is left out')
  const wide = await runCli(['inspect', segment, '--output', 'wide'])
  assert.equal(wide.exitCode, 0, wide.stderr)
  assert.match(wide.stdout, /\b1048635\b/, 'every record is shown')
  assert.doesNotMatch(wide.stdout, /more records/)
})
