import assert from 'node:assert/strict'
import {copyFileSync, cpSync, existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {fixturePath} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {holdFlock, jsonOf, stop} from '../support/node.js'
import {MiB, writeWalNode} from '../support/wal-node.js'

const scratch = useScratch()

/** The after-failover primary (timeline 2 forked at LSN 25, WAL from LSN 0), with a base backup of timeline 2 unless told not to. */
async function newPrimary(withBackup = true): Promise<{data: string; manifest: string | null}> {
  const dir = await scratch.dir('redrepl-primary-')
  cpSync(fixturePath('layouts', 'after-failover'), dir, {recursive: true})
  const data = path.join(dir, 'data.rdb')
  if (!withBackup) return {data, manifest: null}
  const created = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--json']))
  return {data, manifest: String(created.manifest_path)}
}

/** An old primary left on timeline 1 with `records` WAL records (flushed LSN = records), and a data file. */
async function oldNode(records: number, name = 'old node'): Promise<string> {
  const dir = path.join(await scratch.dir('redrepl-old-'), name)
  const data = writeWalNode(dir, {segmentBytes: MiB, segments: {0: records}, slots: null})
  copyFileSync(fixturePath('layouts', 'after-failover', 'data.rdb'), data)
  return data
}

const rejoinPlan = async (primary: string, ...extra: string[]) => jsonOf(await runCli(['rejoin', 'plan', '--data-path', primary, '--json', ...extra]))
const steps = (report: Record<string, any>) => report.next_steps as Array<{description: string; argv: string[] | null}>

test('rejoin plan: a reclone names the backup and the exact materialize --rebootstrap command', async () => {
  const primary = await newPrimary()
  const node = await oldNode(3)
  const report = await rejoinPlan(primary.data, '--node-data-path', node, '--available-from-lsn', '20')
  assert.equal(report.decision, 'reclone')
  assert.equal((report.reclone_basebackup as any).manifest_path, primary.manifest)
  assert.deepEqual(steps(report)[0].argv, ['redrepl', 'basebackup', 'materialize', '--data-path', node, '--manifest', primary.manifest, '--rebootstrap'])
  assert.equal(steps(report)[1].argv, null)
  assert.match(steps(report)[1].description, /swaps the pending database in at its next start, then streams timeline 2 from LSN 39/)

  const human = await runCli(['rejoin', 'plan', '--data-path', primary.data, '--node-data-path', node, '--available-from-lsn', '20'])
  assert.ok(human.stdout.includes(`$ redrepl basebackup materialize --data-path '${node}' --manifest ${primary.manifest} --rebootstrap`), human.stdout)

  const byFlags = await rejoinPlan(primary.data, '--node-timeline', '1', '--node-flushed-lsn', '3', '--available-from-lsn', '20')
  assert.equal(steps(byFlags)[0].argv, null)
  assert.match(steps(byFlags)[0].description, /give --node-data-path to see the exact command/)
})

test('rejoin plan: a reclone without a usable backup says how to take one, then rejoin apply', async () => {
  const primary = await newPrimary(false)
  const node = await oldNode(3)
  const report = await rejoinPlan(primary.data, '--node-data-path', node, '--available-from-lsn', '20')
  assert.equal(report.reclone_basebackup, null)
  assert.deepEqual(
    steps(report).map((s) => s.argv),
    [
      ['redrepl', 'basebackup', 'create', '--data-path', primary.data, '--from', primary.data],
      ['redrepl', 'rejoin', 'apply', '--data-path', primary.data, '--node-data-path', node],
    ],
  )
})

test('rejoin plan: follow, rewind and already-current say what RedDB does and what to check first', async () => {
  const primary = await newPrimary()
  const follow = await rejoinPlan(primary.data, '--node-data-path', await oldNode(3))
  assert.equal(follow.decision, 'follow_new_timeline')
  assert.deepEqual(steps(follow)[0].argv, ['redrepl', 'catchup', 'plan', '--data-path', primary.data, '--replica-lsn', '3'])
  assert.match(steps(follow)[1].description, /RedDB records state rejoin_follow_wal and follows timeline 2 from LSN 3/)
  assert.equal(follow.reclone_basebackup, null)

  const rewind = await rejoinPlan(primary.data, '--node-data-path', await oldNode(30))
  assert.equal(rewind.decision, 'rewind')
  assert.deepEqual(steps(rewind)[0].argv, ['redrepl', 'catchup', 'plan', '--data-path', primary.data, '--replica-lsn', '25'])
  assert.match(steps(rewind)[1].description, /rejoin_rewind_required; what the node wrote past LSN 25/)

  const current = await rejoinPlan(primary.data, '--node-timeline', '2', '--node-flushed-lsn', '39')
  assert.deepEqual(steps(current).map((s) => s.argv), [null])
  assert.match(steps(current)[0].description, /nothing to rewind or restore/)
})

test('catchup plan: each mode names its next commands', async () => {
  const primary = await newPrimary()
  const plan = async (...extra: string[]) => jsonOf(await runCli(['catchup', 'plan', '--data-path', primary.data, '--json', ...extra]))
  const walOnly = await plan('--replica-lsn', '30')
  assert.deepEqual(steps(walOnly).map((s) => s.argv), [null])
  assert.match(steps(walOnly)[0].description, /streams WAL of timeline 2 from LSN 30 up to the head, LSN 39/)

  const replica = "/srv/replica one/it's.rdb"
  const withBackup = await plan('--replica-lsn', '0', '--available-from-lsn', '20', '--replica-data-path', replica)
  assert.equal(withBackup.mode, 'basebackup-then-wal')
  assert.deepEqual(steps(withBackup)[0].argv, ['redrepl', 'basebackup', 'materialize', '--data-path', replica, '--manifest', primary.manifest, '--rebootstrap'])
  assert.match(steps(withBackup)[1].description, /from LSN 39 up to the head, LSN 39/)
  const human = await runCli(['catchup', 'plan', '--data-path', primary.data, '--replica-lsn', '0', '--available-from-lsn', '20', '--replica-data-path', replica])
  assert.ok(human.stdout.includes(`--data-path '/srv/replica one/it'\\''s.rdb' --manifest`), human.stdout)

  const reclone = await plan('--replica-lsn', '0', '--available-from-lsn', '100')
  assert.equal(reclone.mode, 'reclone')
  assert.deepEqual(
    steps(reclone).map((s) => s.argv),
    [
      ['redrepl', 'basebackup', 'create', '--data-path', primary.data, '--from', primary.data],
      ['redrepl', 'catchup', 'plan', '--data-path', primary.data, '--replica-lsn', '0', '--available-from-lsn', '100'],
    ],
  )
})

const stagedFiles = (data: string) => readdirSync(path.dirname(data)).filter((name) => name.includes('rebootstrap')).sort()

test('rejoin apply stages the reclone basebackup materialize --rebootstrap would stage', async () => {
  const primary = await newPrimary()
  const node = await oldNode(3)
  const twin = await oldNode(3, 'twin')
  const args = ['rejoin', 'apply', '--data-path', primary.data, '--node-data-path', node, '--available-from-lsn', '20']

  const dry = jsonOf(await runCli([...args, '--dry-run', '--json']))
  assert.equal(dry.action, 'stage-rebootstrap')
  assert.equal(dry.dry_run, true)
  assert.equal(dry.rebootstrap, null)
  assert.deepEqual(stagedFiles(node), [])

  const applied = jsonOf(await runCli([...args, '--json']))
  assert.equal(applied.dry_run, false)
  assert.equal((applied.rebootstrap as any).manifest_path, primary.manifest)
  assert.deepEqual(steps(applied).map((s) => s.argv), [null])
  assert.deepEqual(stagedFiles(node), ['data.rebootstrap.pending.rdb', 'data.rebootstrap.ready'])

  const materialized = await runCli(['basebackup', 'materialize', '--data-path', twin, '--manifest', primary.manifest!, '--rebootstrap'])
  assert.equal(materialized.exitCode, 0, materialized.stderr)
  const read = (data: string, name: string) => readFileSync(path.join(path.dirname(data), name))
  assert.ok(read(node, 'data.rebootstrap.pending.rdb').equals(read(twin, 'data.rebootstrap.pending.rdb')))
  const marker = (data: string) => read(data, 'data.rebootstrap.ready').toString('utf8').replace(path.dirname(data), 'DIR')
  assert.equal(marker(node), marker(twin))
})

test('rejoin apply refuses next to a live node, and writes nothing', async () => {
  const primary = await newPrimary()
  const node = await oldNode(3)
  const holder = await holdFlock(node)
  try {
    const run = await runCli(['rejoin', 'apply', '--data-path', primary.data, '--node-data-path', node, '--available-from-lsn', '20'])
    assert.equal(run.exitCode, 4, run.stderr)
    assert.match(run.stderr, /is open by a running RedDB process/)
    assert.deepEqual(stagedFiles(node), [])
  } finally {
    await stop(holder)
  }
})

test('rejoin apply writes nothing for decisions it does not carry out, with documented codes', async () => {
  const primary = await newPrimary()
  for (const records of [3, 30]) {
    const node = await oldNode(records)
    const run = await runCli(['rejoin', 'apply', '--data-path', primary.data, '--node-data-path', node])
    assert.equal(run.exitCode, 4, run.stderr)
    assert.match(run.stderr, /that is not a step redrepl carries out on disk, so nothing was written; see the next steps: redrepl rejoin plan/)
    assert.deepEqual(stagedFiles(node), [])
    assert.ok(!existsSync(path.join(path.dirname(node), 'data.primary-replica', '.redrepl.lock')))
  }
  const current = jsonOf(await runCli(['rejoin', 'apply', '--data-path', primary.data, '--node-data-path', primary.data, '--json']))
  assert.equal(current.decision, 'already_current')
  assert.equal(current.action, 'none')
  assert.deepEqual(stagedFiles(primary.data), [])

  const bare = await newPrimary(false)
  const node = await oldNode(3)
  const none = await runCli(['rejoin', 'apply', '--data-path', bare.data, '--node-data-path', node, '--available-from-lsn', '20'])
  assert.equal(none.exitCode, 6, none.stderr)
  assert.match(none.stderr, /no base backup of timeline 2 the node could catch up from.*take one first: redrepl basebackup create/)
  assert.deepEqual(stagedFiles(node), [])
})
