import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {test} from 'node:test'

import {Layout} from '../../src/core/layout.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {activeSlot, MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

/** A primary whose slots say ra acknowledged 9,437,187 and rc only 7,340,034. */
async function primary(): Promise<string> {
  const dir = await scratch.dir('redrepl-lag-')
  return writeWalNode(dir, {segmentBytes: MiB, segments: {0: 1, 8: 0}, slots: [activeSlot('ra', 8n * MiB, 9_437_187n), activeSlot('rc', 7n * MiB, 7_340_034n)]})
}

test('timeline promote of a replica behind another is refused, naming the replica ahead and the LSNs lost; nothing is written', async () => {
  const data = await primary()
  const history = Layout.fromDataPath(data).historyPath
  const result = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'rc', '--expect-timeline', '1'])
  assert.equal(result.exitCode, 4, result.stderr)
  const lines = result.stderr.trim().split('\n')
  assert.match(lines[0], /replica ra acknowledged applying up to LSN 9437187, past the fork at 7340034 of replica rc: promoting rc throws away 2097153 acknowledged LSNs \(7340035\.\.9437187\)/)
  assert.match(result.stderr, /--max-lag-lsn 2097153/)
  assert.throws(() => readFileSync(history), {code: 'ENOENT'})
})

test('timeline promote: --max-lag-lsn allows exactly the loss it names, --force overrides with a warning, --auto picks the replica ahead', async () => {
  const data = await primary()
  const short = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'rc', '--max-lag-lsn', '2097152', '--dry-run', '--json'])
  assert.equal(short.exitCode, 4, short.stderr)
  assert.match(short.stderr, /more than the 2097152 allowed/)
  const allowed = jsonOf(await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'rc', '--max-lag-lsn', '2097153', '--dry-run', '--json']))
  assert.deepEqual([allowed.fork_lsn, allowed.lost_lsn, allowed.best_known_replica_id, allowed.best_known_lsn], [7_340_034n, 2_097_153n, 'ra', 9_437_187n])
  const forced = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'rc', '--force', '--expect-timeline', '1', '--json'])
  assert.equal(forced.exitCode, 0, forced.stderr)
  assert.match(forced.stderr, /^redrepl: warning: .*throws away 2097153 acknowledged LSNs/)
  assert.equal(jsonOf(forced).lost_lsn, 2_097_153n)
  const other = await primary()
  const auto = jsonOf(await runCli(['timeline', 'promote', '--data-path', other, '--auto', '--expect-timeline', '1', '--json']))
  assert.deepEqual([auto.replica_id, auto.lost_lsn, auto.best_known_replica_id], ['ra', 0n, 'rc'])
  const ahead = jsonOf(await runCli(['timeline', 'promote', '--data-path', await primary(), '--replica', 'ra', '--dry-run', '--json']))
  assert.equal(ahead.lost_lsn, 0n)
})
