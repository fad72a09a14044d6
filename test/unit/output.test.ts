import assert from 'node:assert/strict'
import {before, test} from 'node:test'

import {RedreplCommand} from '../../src/ui/base-command.js'
import {jsonFlag} from '../../src/ui/flags.js'
import {askedOutputMode, PIPE_WIDTH, resolveOutputMode, tableWidth} from '../../src/ui/output.js'
import {LINE_INTERVAL_MS, progressLine, progressLines, progressMode, spinnerAnimates} from '../../src/ui/progress.js'
import {colourEnabled, loadStyle} from '../../src/ui/style.js'
import {displayWidth, fitColumns, renderColumns, renderFieldTsv, renderTsv, tableOf, tsvField, wrapText, type Column} from '../../src/ui/table.js'

before(() => loadStyle(false))

interface Row {
  name: string
  size: bigint
  note: string | null
}

/** A slots-show-like table: a key column, a long text column, and details that may go. */
const COLUMNS: Array<Column<Row>> = [
  {header: 'name', value: (r) => r.name, priority: 1},
  {header: 'detail a', value: () => 'aaaaaaaa', priority: 3},
  {header: 'size', value: (r) => `${r.size} B`, raw: (r) => r.size, key: 'size_bytes', priority: 1},
  {header: 'detail b', value: () => 'bbbbbbbb', priority: 3},
  {header: 'detail c', value: () => 'cccccccc', priority: 2},
  {header: 'note', value: (r) => r.note, priority: 1},
]
const rows = (note: string): Row[] => [
  {name: 'replica-a', size: 18446744073709551615n, note},
  {name: 'replica-b', size: 0n, note: null},
]
// Natural widths 9, 8, 22, 8, 8, 10: 84 columns in all.
const view = tableOf(COLUMNS, rows('short note'))
const longNote = tableOf(COLUMNS, rows('a note long enough that a narrow terminal has to wrap it somewhere'))
const lines = (text: string) => text.split('\n')
const widest = (text: string) => Math.max(...lines(text).map(displayWidth))

test('at 200 columns every column shows and nothing wraps or is announced', () => {
  const out = renderColumns(view, 200)
  for (const column of COLUMNS) assert.match(out, new RegExp(column.header))
  assert.doesNotMatch(out, /hidden/)
  assert.equal(lines(out).length, 2 + 1 + 2)
  assert.match(out, /18446744073709551615 B/)
})

test('at 80 columns the highest priority numbers go first, rightmost first among equals, and the footer names them', () => {
  const out = renderColumns(view, 80)
  const table = lines(out).slice(0, -1).join('\n')
  assert.ok(widest(table) <= 80, `${widest(table)} columns:\n${out}`)
  assert.doesNotMatch(table, /detail b/)
  assert.match(table, /detail a.*detail c/)
  assert.equal(lines(out).at(-1), '1 column hidden (detail b); --output wide shows all')
  // Narrower: the other priority 3 column, then the priority 2 one.
  assert.equal(lines(renderColumns(view, 70)).at(-1), '2 columns hidden (detail a, detail b); --output wide shows all')
  assert.equal(lines(renderColumns(view, 61)).at(-1), '3 columns hidden (detail a, detail b, detail c); --output wide shows all')
  // Priority 1 columns stay, whole.
  assert.match(table, /replica-a/)
  assert.match(table, /18446744073709551615 B/)
})

test('at 40 columns only priority 1 columns stay, and a long cell wraps instead of overflowing', () => {
  const out = renderColumns(longNote, 40)
  const table = lines(out).slice(0, -1).join('\n')
  assert.ok(widest(table) <= 40, `${widest(table)} columns:\n${out}`)
  assert.equal(lines(out).at(-1), '3 columns hidden (detail a, detail b, detail c); --output wide shows all')
  assert.match(table, /│ name/)
  assert.match(table, /│ size/)
  assert.match(table, /│ note/)
  // Every word of the note is still there, over several lines.
  const noteText = lines(table)
    .map((line) => line.split('│').at(-2)?.trim() ?? '')
    .join(' ')
  for (const word of ['narrow', 'terminal', 'somewhere']) assert.match(noteText, new RegExp(word))
})

test('fitting: drop order by priority then position, never priority 1, wrap the widest together, never below 8', () => {
  // 1 + Σ(w + 3): 10 + 10 + 10 → 40 wide.
  assert.deepEqual(fitColumns([10, 10, 10], [1, 2, 2], 40), {shown: [0, 1, 2], widths: [10, 10, 10]})
  assert.deepEqual(fitColumns([10, 10, 10], [1, 2, 2], 39).shown, [0, 1])
  assert.deepEqual(fitColumns([10, 10, 10], [1, 3, 2], 39).shown, [0, 2])
  assert.deepEqual(fitColumns([10, 10, 10], [1, 2, 2], 14).shown, [0])
  assert.deepEqual(fitColumns([30, 4, 30], [1, 1, 1], 50), {shown: [0, 1, 2], widths: [18, 4, 18]})
  // Too narrow for even the floor: the table overflows rather than cutting values to nothing.
  assert.deepEqual(fitColumns([30, 30], [1, 1], 10), {shown: [0, 1], widths: [8, 8]})
  assert.deepEqual(fitColumns([], [], 10), {shown: [], widths: []})
})

test('wrapping breaks at spaces, splits a word longer than the width, and keeps colour codes out of the count', () => {
  assert.equal(wrapText('alpha beta gamma', 10), 'alpha beta\ngamma')
  assert.equal(wrapText('abcdefghijkl', 5), 'abcde\nfghij\nkl')
  assert.equal(wrapText('\u001B[31mshort\u001B[39m', 5), '\u001B[31mshort\u001B[39m')
  assert.equal(displayWidth('\u001B[1mbold\u001B[22m'), 4)
})

test('TSV: every column, exact raw values, snake_case headers, one line per row, absent values empty', () => {
  const out = renderTsv(view)
  assert.ok(out.endsWith('\n'))
  const [head, first, second, end] = lines(out)
  assert.equal(head, 'name\tdetail_a\tsize_bytes\tdetail_b\tdetail_c\tnote')
  assert.equal(first, 'replica-a\taaaaaaaa\t18446744073709551615\tbbbbbbbb\tcccccccc\tshort note')
  assert.equal(second, 'replica-b\taaaaaaaa\t0\tbbbbbbbb\tcccccccc\t')
  assert.equal(end, '')
  assert.equal(lines(out).length, 4)
})

test('TSV escaping: a tab, newline, carriage return or backslash cannot split a field or a row', () => {
  assert.equal(tsvField('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e')
  assert.equal(tsvField('\\t'), '\\\\t', 'a literal backslash-t stays distinguishable from an escaped tab')
  assert.equal(tsvField(null), '')
  assert.equal(tsvField(2n ** 64n - 1n), '18446744073709551615')
  const hostile = tableOf([{header: 'path', value: (r: {path: string}) => r.path, priority: 1}], [{path: 'evil\tname\nwith\\lines'}])
  const out = renderTsv(hostile)
  assert.equal(out, 'path\nevil\\tname\\nwith\\\\lines\n')
  assert.equal(out.trimEnd().split('\n').length, 2)
})

test('field TSV flattens a report: dotted names, indexed arrays, exact integers, empty containers named', () => {
  const out = renderFieldTsv({ok: true, lsn: 2n ** 64n - 1n, none: null, nested: {a: 'x\ty'}, items: [{id: 1}, {id: 2}], empty: []})
  assert.equal(out, 'field\tvalue\nok\ttrue\nlsn\t18446744073709551615\nnone\t\nnested.a\tx\\ty\nitems.0.id\t1\nitems.1.id\t2\nempty\t\n')
})

test('output mode: --json is --output json; a contradiction is a usage error; a command without a document refuses json and tsv', () => {
  assert.equal(resolveOutputMode({}, true), 'human')
  assert.equal(resolveOutputMode({json: true}, true), 'json')
  assert.equal(resolveOutputMode({json: true, output: 'json'}, true), 'json')
  assert.equal(resolveOutputMode({output: 'tsv'}, true), 'tsv')
  for (const output of ['tsv', 'wide', 'human']) assert.throws(() => resolveOutputMode({json: true, output}, true), (error: Error & {kind?: string}) => error.kind === 'usage' && /contradict/.test(error.message))
  assert.throws(() => resolveOutputMode({output: 'json'}, false), (error: Error & {kind?: string}) => error.kind === 'usage')
  assert.equal(resolveOutputMode({output: 'wide'}, false), 'wide')
})

test('the output mode asked for survives flags that do not parse: oclif reads --json and --output alone', async () => {
  const flags = {json: jsonFlag, output: RedreplCommand.baseFlags.output}
  assert.equal(await askedOutputMode(['--output', 'tsv', '--bogus'], flags), 'tsv')
  assert.equal(await askedOutputMode(['--data-path', 'd', '--warning-slot-lag', 'lots', '-o', 'tsv'], flags), 'tsv')
  assert.equal(await askedOutputMode(['--output=wide'], flags), 'wide')
  assert.equal(await askedOutputMode(['--json', '--output', 'tsv'], flags), 'json')
  assert.equal(await askedOutputMode(['--', '--output', 'tsv'], flags), 'human')
  assert.equal(await askedOutputMode(['--output', 'yaml'], flags), 'human')
  assert.equal(await askedOutputMode(['--json'], {output: flags.output}), 'human')
})

test('table width: COLUMNS when it is a positive integer, else the terminal, else 80 in a pipe', () => {
  assert.equal(tableWidth({COLUMNS: '60'}, {isTTY: false}), 60)
  assert.equal(tableWidth({COLUMNS: '60'}, {isTTY: true, columns: 120}), 60)
  assert.equal(tableWidth({}, {isTTY: true, columns: 120}), 120)
  assert.equal(tableWidth({}, {isTTY: false}), PIPE_WIDTH)
  for (const bad of ['', '0', '-5', 'wide', '12.5']) assert.equal(tableWidth({COLUMNS: bad}, {isTTY: false}), PIPE_WIDTH, bad)
  assert.equal(tableWidth({}, {isTTY: true, columns: 0}), PIPE_WIDTH)
})

test('colour: a terminal, unless NO_COLOR or TERM=dumb; FORCE_COLOR=0 turns it off and any other FORCE_COLOR forces it on', () => {
  const tty = {isTTY: true}
  const pipe = {isTTY: false}
  assert.equal(colourEnabled(tty, {}), true)
  assert.equal(colourEnabled(pipe, {}), false)
  assert.equal(colourEnabled(tty, {NO_COLOR: '1'}), false)
  assert.equal(colourEnabled(tty, {NO_COLOR: ''}), true)
  assert.equal(colourEnabled(tty, {TERM: 'dumb'}), false)
  assert.equal(colourEnabled(tty, {FORCE_COLOR: '0'}), false)
  assert.equal(colourEnabled(tty, {FORCE_COLOR: 'false'}), false)
  assert.equal(colourEnabled(pipe, {FORCE_COLOR: '1'}), true)
  assert.equal(colourEnabled(pipe, {FORCE_COLOR: '1', NO_COLOR: '1', TERM: 'dumb'}), true)
})

test('progress mode: never for JSON or TSV; --progress gives lines wherever a spinner cannot animate; else the spinner on a sized terminal', () => {
  const tty = {isTTY: true, columns: 100}
  const pipe = {isTTY: false}
  assert.equal(progressMode('human', false, tty, {}), 'spinner')
  assert.equal(progressMode('json', true, tty, {}), 'off')
  assert.equal(progressMode('tsv', true, pipe, {}), 'off')
  assert.equal(progressMode('human', false, pipe, {}), 'off')
  assert.equal(progressMode('human', true, pipe, {}), 'lines')
  assert.equal(progressMode('wide', true, pipe, {}), 'lines')
  assert.equal(progressMode('human', true, tty, {TERM: 'dumb'}), 'lines')
  // ora then prints its label once, without animating or hiding the cursor.
  assert.equal(progressMode('human', false, tty, {TERM: 'dumb'}), 'spinner')
  assert.equal(spinnerAnimates(tty, {TERM: 'dumb'}), false)
  assert.equal(spinnerAnimates(tty, {CI: 'true'}), false)
  assert.equal(spinnerAnimates(tty, {}), true)
  assert.equal(progressMode('human', true, tty, {CI: 'true'}), 'lines')
  assert.equal(progressMode('human', true, {isTTY: true, columns: 0}, {}), 'lines')
  assert.equal(progressMode('human', false, {isTTY: true, columns: 0}, {}), 'off')
})

test('progress lines: one per 10 % or per 10 s, whichever comes first, plain text ending in a newline', () => {
  let now = 1_000_000
  const written: string[] = []
  const progress = progressLines('basebackup create', (line) => written.push(line), () => now)
  const GiB = 1n << 30n
  const total = 2n * GiB
  // 5 % after 1 s: too soon for either rule.
  now += 1000
  progress.update(total / 20n, total)
  assert.equal(written.length, 0)
  // 25 % at 4 s: a 10 % step was crossed.
  now += 3000
  progress.update(total / 4n, total)
  assert.equal(written.length, 1)
  assert.equal(written[0], 'basebackup create: 512 MiB of 2.0 GiB (25 %) at 128 MiB/s, ETA 12 s\n')
  // 29 %, 9.9 s after the last line: neither.
  now += 9900
  progress.update((total * 29n) / 100n, total)
  assert.equal(written.length, 1)
  // 29 % again, 10 s after the last line: the time rule.
  now += 100
  progress.update((total * 29n) / 100n, total)
  assert.equal(written.length, 2)
  // Many updates within one step and 10 s print nothing more.
  for (let i = 0; i < 100; i++) progress.update((total * 29n) / 100n, total)
  assert.equal(written.length, 2)
  // A jump across several steps is one line, then 100 % is one more.
  progress.update((total * 85n) / 100n, total)
  progress.update(total, total)
  progress.update(total, total)
  assert.equal(written.length, 4)
  assert.match(written[3], /^basebackup create: 2\.0 GiB of 2\.0 GiB \(100 %\) at .*MiB\/s\n$/)
  for (const line of written) assert.doesNotMatch(line, /[\r\u001B]/)
})

test('progress lines without a total: one every 10 s, no percentage and no ETA', () => {
  let now = 0
  const written: string[] = []
  const progress = progressLines('repo restore', (line) => written.push(line), () => now)
  for (let second = 1; second <= 35; second++) {
    now = second * 1000
    progress.update(BigInt(second) << 20n, null)
  }
  assert.equal(written.length, Math.floor(35_000 / LINE_INTERVAL_MS))
  assert.equal(written[0], 'repo restore: 10.0 MiB at 1.0 MiB/s\n')
  assert.equal(progressLine('x', 0n, 100n, 0), 'x: 0 B of 100 B (0 %)')
})
