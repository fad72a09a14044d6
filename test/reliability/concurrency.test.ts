import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'
import {primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()

const PARALLEL = 6
const RELAY_WRITERS = 16
const RELAY_ROUNDS = 3

const primary = async () => (await primaryCopy(scratch)).data

test('16 parallel relay appends with --wait, several rounds: all succeed, and every segment a run reports is in the final manifest', async () => {
  const data = await primary()
  for (let round = 0; round < RELAY_ROUNDS; round++) {
    const batches = Array.from({length: RELAY_WRITERS}, (_, i) => {
      const lsn = round * 100 + i + 1
      return `{"lsn":${lsn},"payload_hex":"${(lsn % 256).toString(16).padStart(2, '0')}"}\n`
    })
    const results = await Promise.all(
      batches.map((input) => runCli(['relay', 'append', '--data-path', data, '--replica', 'busy', '--create', '--applied-lsn', '0', '--wait', '60', '--json'], {input, timeoutMs: 120_000})),
    )
    for (const result of results) assert.equal(result.exitCode, 0, `round ${round}: ${result.stderr}`)
    const shown = jsonOf(await runCli(['relay', 'show', '--data-path', data, '--replica', 'busy', '--json']))
    assert.equal(shown.consistent, true)
    const kept = new Set((shown.manifest as any).segments.map((s: any) => s.relative_path))
    const written = results.map((r) => (documentOf(r.stdout) as any).new_segment).filter((segment) => segment !== null)
    assert.ok(written.length >= 1)
    for (const segment of written) assert.ok(kept.has(segment.relative_path), `round ${round}: ${segment.relative_path} was reported written but is not in the manifest`)
  }
  const verify = await runCli(['layout', 'verify', '--data-path', data])
  assert.equal(verify.exitCode, 0, verify.stdout)
})

test('parallel promotions with --expect-timeline fork exactly once', async () => {
  const data = await primary()
  const results = await Promise.all(
    Array.from({length: PARALLEL}, (_, i) => runCli(['timeline', 'promote', '--data-path', data, '--replica', i % 2 === 0 ? 'replica-a' : 'replica-b', '--applied-lsn', String(9 + i), '--max-lag-lsn', '9999999', '--expect-timeline', '1', '--wait', '30'])),
  )
  assert.deepEqual(results.map((r) => r.exitCode).sort(), [0, ...Array(PARALLEL - 1).fill(4)])
  const history = documentOf((await runCli(['timeline', 'show', '--data-path', data, '--json'])).stdout) as any
  assert.equal(history.entries.length, 2)
})

test('parallel prunes and base backups: one does the work, none corrupts, a lock never outlives its run', async () => {
  const data = await primary()
  closePrimaryBasicHole(path.dirname(data))
  const prunes = await Promise.all(Array.from({length: PARALLEL}, () => runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1', '--json'])))
  const done = prunes.filter((r) => r.exitCode === 0)
  assert.ok(done.length >= 1)
  assert.ok(prunes.every((r) => r.exitCode === 0 || r.exitCode === 5), prunes.map((r) => r.stderr).join('\n'))
  const removed = done.flatMap((r) => (documentOf(r.stdout) as any).removed_segments.map((s: any) => s.index))
  assert.deepEqual(removed.sort(), [0n, 1n], 'each segment removed exactly once')
  const backups = await Promise.all(Array.from({length: PARALLEL}, () => runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '50', '--wait', '30', '--json'])))
  for (const result of backups) assert.equal(result.exitCode, 0, result.stderr)
  const verify = await runCli(['layout', 'verify', '--data-path', data])
  assert.equal(verify.exitCode, 0, verify.stdout)
})
