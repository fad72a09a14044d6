import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli} from '../support/cli.js'
import {repoRoot} from '../support/fixtures.js'

const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
const commandIds = Object.keys(manifest.commands).filter((id) => id !== 'help' && !id.startsWith('autocomplete'))

test('-h, --help and "redrepl help TOPIC VERB" print the same help', async () => {
  const long = await runCli(['wal', 'prune', '--help'])
  const short = await runCli(['wal', 'prune', '-h'])
  const topic = await runCli(['help', 'wal', 'prune'])
  assert.equal(long.exitCode, 0)
  assert.match(long.stdout, /^Remove the WAL segments/)
  assert.equal(short.stdout, long.stdout)
  assert.equal(topic.stdout, long.stdout)
})

test('usage lines read correctly for every command: no dangling alternatives, no <value> placeholders', async () => {
  for (const id of commandIds) {
    const help = await runCli([...id.split(':'), '--help'])
    assert.equal(help.exitCode, 0, id)
    const usage = help.stdout.split('\n\n').find((block) => block.startsWith('USAGE'))!
    assert.doesNotMatch(usage, /\| \]|\[ \||<value>/, `${id}: ${usage}`)
  }
})

test('a mistyped flag or command is refused with the nearest names suggested', async () => {
  const flag = await runCli(['wal', 'plan', '--segmnt-bytes', '1MiB'])
  assert.equal(flag.exitCode, 2)
  assert.match(flag.stderr, /Nonexistent flag: --segmnt-bytes; did you mean --segment-bytes\?/)
  const command = await runCli(['slot', 'show'])
  assert.equal(command.exitCode, 2)
  assert.match(command.stderr, /unknown command "slot show"; did you mean: slots show/)
  const far = await runCli(['wal', 'plan', '--xyzzy'])
  assert.equal(far.exitCode, 2)
  assert.doesNotMatch(far.stderr, /did you mean/)
})
