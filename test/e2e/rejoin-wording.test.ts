/**
 * rejoin plan says what its decision leaves unsaid, without changing the
 * decision (RedDB's, held by the golden decision cases).
 */
import assert from 'node:assert/strict'
import {copyFileSync, cpSync, existsSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {fixturePath} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

/** The after-failover primary: timeline 2 forked from timeline 1 at LSN 25; its WAL head is 39. */
async function newPrimary(): Promise<string> {
  const dir = await scratch.dir('redrepl-primary-')
  cpSync(fixturePath('layouts', 'after-failover'), dir, {recursive: true})
  return path.join(dir, 'data.rdb')
}

const plan = (data: string, ...flags: string[]) => runCli(['rejoin', 'plan', '--data-path', data, ...flags])
const codes = (report: Record<string, unknown>) => (report.findings as Array<{code: string}>).map((f) => f.code)

test('a rewind whose fork the primary no longer serves says so in the plan, not only in its first next step', async () => {
  const data = await newPrimary()
  const flags = ['--node-timeline', '1', '--node-flushed-lsn', '30', '--available-from-lsn', '30']
  const report = jsonOf(await plan(data, ...flags, '--json'))
  assert.equal(report.decision, 'rewind', 'RedDB\'s decision stands')
  assert.deepEqual(codes(report), ['rejoin.wal-gone'])
  const human = await plan(data, ...flags)
  assert.match(human.stdout, /warning: .*must be rewound to the fork at LSN 25, but this primary serves WAL only from LSN 30: after the rewind it cannot follow from WAL either/)
  const served = jsonOf(await plan(data, '--node-timeline', '1', '--node-flushed-lsn', '30', '--json'))
  assert.deepEqual(codes(served), [], 'WAL from LSN 0 serves the fork: nothing to add')
})

test('a node that stopped exactly at the fork is a rewind with nothing to discard, never "wrote past the fork"', async () => {
  const data = await newPrimary()
  const human = await plan(data, '--node-timeline', '1', '--node-flushed-lsn', '25')
  assert.equal(human.exitCode, 0, human.stderr)
  assert.match(human.stdout, /^rewind to LSN 25/)
  assert.match(human.stdout, /stopped exactly at the fork LSN/)
  assert.doesNotMatch(human.stdout, /wrote past/)
  const report = jsonOf(await plan(data, '--node-timeline', '1', '--node-flushed-lsn', '25', '--json'))
  const steps = report.next_steps as Array<{description: string}>
  assert.match(steps[1].description, /stopped exactly at LSN 25, so nothing is past the fork to discard/)
  const past = jsonOf(await plan(data, '--node-timeline', '1', '--node-flushed-lsn', '26', '--json'))
  assert.match((past.next_steps as Array<{description: string}>)[1].description, /what the node wrote past LSN 25 must be discarded/)
})

test('a node on the current timeline far past the primary\'s head is "already current" with a word of divergence', async () => {
  const data = await newPrimary()
  const ahead = jsonOf(await plan(data, '--node-timeline', '2', '--node-flushed-lsn', '5000', '--json'))
  assert.equal(ahead.decision, 'already_current')
  assert.deepEqual(codes(ahead), ['rejoin.ahead-of-primary'])
  assert.match((ahead.findings as Array<{message: string}>)[0].message, /flushed LSN 5000, past the primary's WAL head 39: it holds writes the primary never had/)
  const behind = jsonOf(await plan(data, '--node-timeline', '2', '--node-flushed-lsn', '39', '--json'))
  assert.deepEqual(codes(behind), [], 'at the head: nothing diverged')
})

test('rejoin apply --dry-run names itself without --dry-run as the next step, and that command stages the reclone', async () => {
  const data = await newPrimary()
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--json']))
  const nodeDir = await scratch.dir('redrepl-old-')
  const node = writeWalNode(nodeDir, {segmentBytes: MiB, segments: {0: 3}, slots: null})
  copyFileSync(fixturePath('layouts', 'after-failover', 'data.rdb'), node)
  const dry = jsonOf(await runCli(['rejoin', 'apply', '--data-path', data, '--node-data-path', node, '--available-from-lsn', '20', '--dry-run', '--json']))
  const steps = dry.next_steps as Array<{description: string; argv: string[] | null}>
  assert.deepEqual(steps[0].argv, ['redrepl', 'rejoin', 'apply', '--data-path', data, '--node-data-path', node, '--available-from-lsn', '20'])
  assert.ok(steps.every((step) => step.argv?.[1] !== 'basebackup'), 'not the materialize this command runs itself')
  const staged = await runCli([...steps[0].argv!.slice(1), '--json'])
  assert.equal(staged.exitCode, 0, staged.stderr)
  assert.equal(jsonOf(staged).dry_run, false)
  assert.ok(existsSync(path.join(nodeDir, 'data.rebootstrap.ready')))
})
