import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {holdFlock, stop} from '../support/node.js'

const scratch = useScratch()

/** What each writing command does while a RedDB process holds its exclusive flock on D. */
const COMMANDS: Array<{args: (data: string) => string[]; input?: string; safe: boolean}> = [
  {args: () => ['wal', 'prune', '--segment-bytes', '1MiB', '--min-segments', '1'], safe: true},
  {args: () => ['relay', 'append', '--replica', 'live', '--create', '--applied-lsn', '0'], input: '{"lsn":1,"payload_hex":"00"}\n', safe: true},
  {args: (data) => ['basebackup', 'create', '--from', data, '--checkpoint-lsn', '3'], safe: true},
  {args: () => ['basebackup', 'materialize', '--rebootstrap'], safe: false},
  {args: () => ['timeline', 'promote', '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999'], safe: false},
]

test('next to a live node: safe commands work, the others refuse (exit 4) unless --force', async () => {
  const copy = {dir: await scratch.layout('primary-basic')}
  const data = path.join(copy.dir, 'data.rdb')
  const node = await holdFlock(data)
  try {
    for (const command of COMMANDS) {
      const args = [...command.args(data), '--data-path', data]
      const result = await runCli(args, {input: command.input})
      if (command.safe) {
        assert.equal(result.exitCode, 0, `${args.join(' ')}: ${result.stderr}`)
        continue
      }
      assert.equal(result.exitCode, 4, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, new RegExp(`open by a running RedDB process \\(pid ${node.pid}\\); stop the node or pass --force`))
      const forced = await runCli([...args, '--force'], {input: command.input})
      assert.equal(forced.exitCode, 0, forced.stderr)
    }
  } finally {
    await stop(node)
  }
})

test('the guard covers the layout, not the spelling: a near-miss data path is refused, every data file of the layout is checked', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const history = path.join(dir, 'data.primary-replica', 'timeline-history.redtimeline')
  const before = readFileSync(history)
  const node = await holdFlock(data)
  try {
    for (const nearMiss of ['data', 'data.rbd']) {
      const promote = await runCli(['timeline', 'promote', '--data-path', path.join(dir, nearMiss), '--replica', 'replica-a', '--applied-lsn', '25', '--force'])
      assert.equal(promote.exitCode, 4, promote.stderr)
      assert.match(promote.stderr, new RegExp(`${nearMiss.replace('.', '\\.')}: no such data file, but its layout .*data\\.primary-replica belongs to .*data\\.rdb; pass the data path the node runs with: --data-path .*data\\.rdb`))
      // Safe writers too: a typo is a typo.
      const relay = await runCli(['relay', 'append', '--data-path', path.join(dir, nearMiss), '--replica', 'replica-a', '--applied-lsn', '0'], {input: '{"lsn":99,"payload_hex":"00"}\n'})
      assert.equal(relay.exitCode, 4, relay.stderr)
    }
    // Another file of the same layout exists under the name given: the node's flock on data.rdb still counts.
    writeFileSync(path.join(dir, 'data'), '')
    const sibling = await runCli(['timeline', 'promote', '--data-path', path.join(dir, 'data'), '--replica', 'replica-a', '--applied-lsn', '25'])
    assert.equal(sibling.exitCode, 4, sibling.stderr)
    assert.match(sibling.stderr, new RegExp(`data\\.rdb is open by a running RedDB process \\(pid ${node.pid}\\)`))
    assert.deepEqual(readFileSync(history), before)
  } finally {
    await stop(node)
  }
})
