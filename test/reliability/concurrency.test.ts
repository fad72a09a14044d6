import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson} from '../../src/core/codec/json.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'

const scratch = useScratch()

const PARALLEL = 6

async function primary() {
  const copy = {dir: await scratch.layout('primary-basic')}
  return path.join(copy.dir, 'data.rdb')
}

test('parallel relay appends are serialised by the lock and lose no accepted record', async () => {
  const data = await primary()
  const batches = Array.from({length: PARALLEL}, (_, i) => `{"lsn":${i + 1},"payload_hex":"${(i + 1).toString(16).padStart(2, '0')}"}\n`)
  const results = await Promise.all(
    batches.map((input) => runCli(['relay', 'append', '--data-path', data, '--replica', 'busy', '--applied-lsn', '0', '--wait', '30', '--json'], {input})),
  )
  for (const result of results) assert.equal(result.exitCode, 0, result.stderr)
  const shown = jsonOf(await runCli(['relay', 'show', '--data-path', data, '--replica', 'busy', '--json']))
  assert.equal(shown.consistent, true)
  // Every segment a run reported writing is in the final manifest: no run overwrote another's.
  const written = results.map((r) => (parseJson(r.stdout) as any).new_segment).filter((segment) => segment !== null)
  const kept = (shown.manifest as any).segments
  assert.deepEqual(kept.map((s: any) => s.relative_path).sort(), written.map((s: any) => s.relative_path).sort())
  assert.ok(written.length >= 1)
})

test('parallel promotions with --expect-timeline fork exactly once', async () => {
  const data = await primary()
  const results = await Promise.all(
    Array.from({length: PARALLEL}, (_, i) => runCli(['timeline', 'promote', '--data-path', data, '--replica', `r${i}`, '--applied-lsn', '9', '--expect-timeline', '1', '--wait', '30'])),
  )
  assert.deepEqual(results.map((r) => r.exitCode).sort(), [0, ...Array(PARALLEL - 1).fill(4)])
  const history = parseJson((await runCli(['timeline', 'show', '--data-path', data, '--json'])).stdout) as any
  assert.equal(history.entries.length, 2)
})

test('parallel prunes and base backups: one does the work, none corrupts, a lock never outlives its run', async () => {
  const data = await primary()
  closePrimaryBasicHole(path.dirname(data))
  const prunes = await Promise.all(Array.from({length: PARALLEL}, () => runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1', '--json'])))
  const done = prunes.filter((r) => r.exitCode === 0)
  assert.ok(done.length >= 1)
  assert.ok(prunes.every((r) => r.exitCode === 0 || r.exitCode === 5), prunes.map((r) => r.stderr).join('\n'))
  const removed = done.flatMap((r) => (parseJson(r.stdout) as any).removed.map((s: any) => s.index))
  assert.deepEqual(removed.sort(), [0n, 1n], 'each segment removed exactly once')
  const backups = await Promise.all(Array.from({length: PARALLEL}, () => runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '50', '--wait', '30', '--json'])))
  for (const result of backups) assert.equal(result.exitCode, 0, result.stderr)
  const verify = await runCli(['layout', 'verify', '--data-path', data])
  assert.equal(verify.exitCode, 0, verify.stdout)
})
