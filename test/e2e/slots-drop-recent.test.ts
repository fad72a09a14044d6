/**
 * slots drop as scripts and people run it: a second drop finds what it
 * wanted (exit 0, "already gone"), and a slot whose replica was seen
 * minutes ago is never dropped on a terminal without a question.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {execa} from 'execa'

import {repoRoot} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {layoutIn, primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()
const CATALOG = (dir: string) => layoutIn(dir).slotCatalogPath(1n)

const primary = () => primaryCopy(scratch)

test('a repeated slots drop exits 0 saying the slot is already gone, so a script can run it again; invalidating a missing slot still exits 6', async () => {
  const {dir, data} = await primary()
  const first = jsonOf(await runCli(['slots', 'drop', 'replica-c', '--data-path', data, '--json']))
  assert.equal(first.changed, true)
  const catalog = readFileSync(CATALOG(dir))
  const again = await runCli(['slots', 'drop', 'replica-c', '--data-path', data])
  assert.equal(again.exitCode, 0, again.stderr)
  assert.equal(again.stdout, 'slot replica-c is already gone on timeline 1; nothing to change\n')
  const json = jsonOf(await runCli(['slots', 'drop', 'replica-c', '--data-path', data, '--json']))
  assert.deepEqual([json.schema, json.changed, json.slot_before, json.store_path], ['redrepl.slots-drop/2', false, null, null])
  assert.deepEqual(readFileSync(CATALOG(dir)), catalog, 'nothing rewritten')
  const invalidate = await runCli(['slots', 'invalidate', 'replica-c', '--reason', 'wal-removed', '--data-path', data])
  assert.equal(invalidate.exitCode, 6)
})

test('a slot seen minutes ago: a script is warned on stderr; on a terminal the question is asked even with --yes', async () => {
  const {dir, data} = await primary()
  // replica-a was seen 2 s before the pinned now; replica-c a day before.
  const old = await runCli(['slots', 'drop', 'replica-c', '--data-path', data])
  assert.equal(old.stderr, '', 'a replica long gone: no warning')
  const scripted = await runCli(['slots', 'drop', 'replica-b', '--data-path', data, '--json'])
  assert.equal(scripted.exitCode, 0, scripted.stderr)
  assert.match(scripted.stderr, /^redrepl: warning: replica replica-b was seen 1m ago: it may still be running/)
  assert.equal(documentOf(scripted.stdout).changed, true)

  const catalog = readFileSync(CATALOG(dir))
  const onTerminal = (answer: string, ...args: string[]) =>
    execa('script', ['-qec', [process.execPath, path.join(repoRoot, 'bin', 'run.js'), 'slots', 'drop', 'replica-a', '--data-path', data, ...args].join(' '), '/dev/null'], {
      input: answer,
      reject: false,
      env: {NO_COLOR: '1', CI: '', REDREPL_NOW_MS: '1700000000000'},
    })
  const declined = await onTerminal('n\n', '--yes')
  assert.equal(declined.exitCode, 4, String(declined.stdout))
  assert.match(String(declined.stdout), /replica replica-a was seen 2s ago: it may still be running/)
  assert.match(String(declined.stdout), /Drop this slot\? \[y\/N\]/)
  assert.deepEqual(readFileSync(CATALOG(dir)), catalog, 'declined: nothing written')
  const accepted = await onTerminal('y\n', '--yes')
  assert.equal(accepted.exitCode, 0, String(accepted.stdout))
  assert.match(String(accepted.stdout), /dropped slot replica-a/)
})
