import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath, pathToFileURL} from 'node:url'

/**
 * Every command's run() returns its report and the base command prints it
 * (ui/base-command.ts): the JSON document, the tsv table, the human lines,
 * then the exit code the report states. A command that printed for itself
 * would track the output mode again, and one that set the exit code itself
 * could set it before, or instead of, printing.
 */

const SRC = fileURLToPath(new URL('../../../src/commands/', import.meta.url))
const DIST = fileURLToPath(new URL('../../src/commands/', import.meta.url))

/** The commands with no report of their own, and why. */
const NO_REPORT: Record<string, string> = {
  help: 'it prints oclif\'s help text, which has no JSON document',
  metrics: 'it prints (or writes to --textfile) the Prometheus text format, which is its document; it has no --json',
}

function commandFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), {withFileTypes: true}).flatMap((entry) => {
    const relative = path.join(prefix, entry.name)
    if (entry.isDirectory()) return commandFiles(dir, relative)
    return entry.name.endsWith('.ts') ? [relative] : []
  })
}

const idOf = (file: string) => file.replace(/\.ts$/, '').split(path.sep).join(':')

test('every command but those with no report has the base print it: a human renderer, no printing or exit code of its own', async () => {
  const files = commandFiles(SRC)
  assert.ok(files.length >= 40, `found only ${files.length} command files`)
  const problems: string[] = []
  for (const file of files) {
    const id = idOf(file)
    const text = readFileSync(path.join(SRC, file), 'utf8')
    if (/this\.emit\(/.test(text)) problems.push(`${id}: prints its report itself (this.emit)`)
    if (/process\.exitCode\s*=/.test(text)) problems.push(`${id}: sets the exit code itself (exitCodeOf says it once the report is out)`)
    if (id in NO_REPORT) continue
    const {default: command} = (await import(pathToFileURL(path.join(DIST, file.replace(/\.ts$/, '.js'))).href)) as {default: {prototype: {human?: unknown}}}
    if (typeof command.prototype.human !== 'function') problems.push(`${id}: no human renderer, so its report is never printed`)
    if (/async run\(\): Promise<void>/.test(text)) problems.push(`${id}: run() returns nothing`)
  }
  assert.deepEqual(problems, [])
})

test('each command with no report is still one, and says why', () => {
  const ids = new Set(commandFiles(SRC).map(idOf))
  for (const [id, reason] of Object.entries(NO_REPORT)) {
    assert.ok(ids.has(id), `${id} is gone: take it out of the list`)
    assert.ok(reason.length > 20, `${id}: say why it has no report`)
  }
})
