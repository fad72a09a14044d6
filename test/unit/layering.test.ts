import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {useScratch} from '../support/cli.js'
import {areaOf, checkLayering, formatViolations, importsOf, type LayerRules} from '../support/layering.js'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

/** Shared leaves every layer may import: the error kinds and findings table, the model, the layout's names, the clock, units and the logger interface. */
const LEAVES = ['core/errors', 'core/findings', 'core/model', 'core/layout', 'core/clock', 'core/units', 'core/log']

/**
 * The arrows of style.md §1 and §2: commands → ui → core/ops → core/plan,
 * core/fs, core/format → core/codec → core/errors. An area reaches the areas
 * in its row and nothing else; `core` never reaches ui or commands.
 */
const RULES: LayerRules = {
  allowed: {
    commands: ['core/ops', 'ui', ...LEAVES],
    hooks: ['ui', ...LEAVES],
    ui: ['core/ops', 'core/plan', ...LEAVES],
    index: ['core/ops', 'core/plan', 'core/format', 'core/codec', ...LEAVES],
    'core/ops': ['core/plan', 'core/fs', 'core/format', 'core/codec', 'core/repo', 'core/config', 'core/token-bucket', ...LEAVES],
    'core/repo': ['core/fs', 'core/format', 'core/codec', 'core/token-bucket', ...LEAVES],
    'core/config': ['core/fs', 'core/format', 'core/codec', ...LEAVES],
    'core/plan': ['core/format', 'core/codec', ...LEAVES],
    'core/format': ['core/codec', ...LEAVES],
    'core/fs': ['core/codec', 'core/token-bucket', ...LEAVES],
    'core/codec': ['core/errors'],
    'core/clock': ['core/errors'],
    'core/errors': [],
    'core/findings': [],
    'core/model': [],
    'core/layout': [],
    'core/units': [],
    'core/log': [],
    'core/token-bucket': [],
  },
  restrictedModules: {
    'node:fs': ['core/fs'],
    'node:child_process': ['core/fs'],
  },
  forbiddenWords: {
    'core/format': ['process.env', 'Date.now'],
    'core/plan': ['process.env', 'Date.now'],
    'core/codec': ['process.env', 'Date.now'],
  },
  exceptions: [
    {file: 'ui/base-command.ts', target: 'core/codec/json', reason: 'every --json document is printed by the lossless writer, so u64 values stay exact integers'},
    {file: 'ui/numbers.ts', target: 'core/codec/limits', reason: 'a typed number is held to the same u64 bound the codecs hold'},
    {file: 'ui/log-file.ts', target: 'core/fs/append-file', reason: '--log-file is opened by the base command before any operation runs, and written by the logger it installs'},
    {file: 'hooks/preparse-config.ts', target: 'core/config', reason: 'oclif runs this hook before any command is parsed, to supply flag values from the config file'},
    {file: 'core/repo/local.ts', target: 'node:fs', reason: 'the directory store is a backend over files: it lists and reads its objects itself; its writes go through fs/atomic.ts'},
    {file: 'ui/bundle.ts', target: 'node:fs', reason: 'the oclif bundle and its code cache are read at start-up, before any operation exists to read them'},
  ],
}

test('every import under src/ follows the layering table of style.md', () => {
  const violations = checkLayering(SRC, RULES)
  assert.equal(violations.length, 0, `arrows against style.md §1/§2:\n${formatViolations(violations)}`)
})

test('every exception still names an arrow that exists, and gives a reason', () => {
  const bare = checkLayering(SRC, {...RULES, exceptions: []})
  const unused = RULES.exceptions.filter((e) => !bare.some((v) => v.file === e.file && (v.target === e.target || areaOf(v.target) === e.target)))
  assert.deepEqual(unused, [], 'an exception nothing needs any more must leave the table')
  for (const e of RULES.exceptions) assert.ok(e.reason.length > 20, `${e.file}: an exception needs a reason`)
})

test('the parser reads static, type-only, multi-line, re-export, side-effect and dynamic imports, and skips comments', () => {
  const text = [
    "import {a} from './a.js'",
    "import type {B} from '../core/b.js'",
    'import {',
    '  c,',
    '  d,',
    "} from 'node:fs/promises'",
    "export {e} from './e.js'",
    "export * from './f.js'",
    "import './side.js'",
    "// import {x} from './commented.js'",
    "/* import {y} from './blocked.js' */",
    "const url = 'file://not-a-comment'; const m = await import('../core/dyn.js')",
    "const s = \"import {z} from './in-a-string.js'\"",
  ].join('\n')
  const edges = importsOf('ui/x.ts', text)
  assert.deepEqual(
    edges.map((e) => [e.line, e.target]),
    [
      [1, 'ui/a'],
      [2, 'core/b'],
      [6, 'node:fs'],
      [7, 'ui/e'],
      [8, 'ui/f'],
      [9, 'ui/side'],
      [12, 'core/dyn'],
    ],
  )
  assert.equal(areaOf('core/fs/atomic'), 'core/fs')
  assert.equal(areaOf('core/errors'), 'core/errors')
  assert.equal(areaOf('commands/wal/prune'), 'commands')
})

test('planted violations are each named by file:line and rule, and an exception lets exactly its arrow through', async () => {
  const scratch = useScratch()
  const root = await scratch.dir('redrepl-layering-')
  const put = (file: string, text: string): void => {
    mkdirSync(path.dirname(path.join(root, file)), {recursive: true})
    writeFileSync(path.join(root, file), text)
  }
  put('commands/wal/prune.ts', "import {x} from '../../core/ops/wal.js'\nimport {atomic} from '../../core/fs/atomic.js'\n")
  put('ui/flags.ts', "import {open} from '../core/repo/open.js'\n")
  put('core/fs/read.ts', "\n\nimport type {Codec} from '../format/artifact.js'\n")
  put('core/format/artifact.ts', "export const now = () => Date.now()\nexport const home = process.env.HOME\n")
  put('core/plan/retention.ts', "import {readFile} from 'node:fs/promises'\n")
  put('core/ops/wal.ts', "import {stat} from 'node:fs'\nimport {render} from '../../ui/render.js'\n")
  put('core/codec/json.ts', "import {x} from '../format/artifact.js'\n")
  put('core/fs/atomic.ts', "import {open} from 'node:fs/promises'\n")
  put('ui/render.ts', "import {x} from '../core/ops/wal.js'\n")

  const found = formatViolations(checkLayering(root, RULES)).split('\n').sort()
  assert.deepEqual(found, [
    'src/commands/wal/prune.ts:2: commands must not import core/fs (../../core/fs/atomic.js); it may import ' + RULES.allowed.commands.join(', '),
    'src/core/codec/json.ts:1: core/codec must not import core/format (../format/artifact.js); it may import core/errors',
    'src/core/format/artifact.ts:1: core/format is pure: it must not use Date.now',
    'src/core/format/artifact.ts:2: core/format is pure: it must not use process.env',
    'src/core/fs/read.ts:3: core/fs must not import core/format (../format/artifact.js); it may import ' + RULES.allowed['core/fs'].join(', '),
    'src/core/ops/wal.ts:1: only core/fs may import node:fs (node:fs)',
    'src/core/ops/wal.ts:2: core/ops must not import ui (../../ui/render.js); it may import ' + RULES.allowed['core/ops'].join(', '),
    'src/core/plan/retention.ts:1: only core/fs may import node:fs (node:fs/promises)',
    'src/ui/flags.ts:1: ui must not import core/repo (../core/repo/open.js); it may import ' + RULES.allowed.ui.join(', '),
  ])

  const excused: LayerRules = {...RULES, exceptions: [{file: 'core/ops/wal.ts', target: 'node:fs', reason: 'planted for the test of exceptions'}]}
  const after = checkLayering(root, excused).map((v) => `${v.file}:${v.line}`)
  assert.ok(!after.includes('core/ops/wal.ts:1'))
  assert.ok(after.includes('core/ops/wal.ts:2'))
  assert.ok(after.includes('core/plan/retention.ts:1'))

  put('extra/thing.ts', "import {x} from '../ui/render.js'\n")
  assert.ok(checkLayering(root, RULES).some((v) => v.file === 'extra/thing.ts' && v.rule === 'extra is in no row of the layering table'))
})
