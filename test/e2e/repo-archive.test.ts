import assert from 'node:assert/strict'
import {readdirSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {S3Server} from '../support/s3.js'

/** WAL retention that respects the repository: what is not archived stays, whatever the window says. */

const scratch = useScratch()
const BUCKET = 'redrepl-archive'
let server: S3Server

before(async () => {
  server = new S3Server(await scratch.dir('redrepl-s3rver-'), [BUCKET])
  await server.start()
})
after(() => server.kill())

interface Repo {
  url: string
  env: Record<string, string>
}

let prefixes = 0
const BACKENDS: Array<[string, () => Promise<Repo>]> = [
  ['local directory', async () => ({url: await scratch.dir('redrepl-repo-'), env: {}})],
  ['S3', async () => ({url: `s3://${BUCKET}/a${++prefixes}`, env: server.env()})],
]

const WAL = (dir: string) => path.join(dir, 'data.primary-replica', 'timeline-00000000000000000001', 'wal')
const onDisk = (dir: string) => readdirSync(WAL(dir)).filter((name) => name.endsWith('.redwal')).map((name) => BigInt(name.slice(0, 20)))
/** A policy that releases every sealed segment of primary-basic (0-3; 5 is current). */
const RELEASE_ALL = ['--min-segments', '1', '--no-keep-until-replicas-ack']

async function primary() {
  const dir = await scratch.layout('primary-basic')
  return {dir, data: path.join(dir, 'data.rdb')}
}

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: a segment not in the repository is kept as "not archived" and prune leaves it; once pushed it is released`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    const repoArgs = ['--repo', repo.url, '--node', 'db1']
    const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, ...repoArgs, '--json'], {env: repo.env}))
    assert.deepEqual((plan.segments as any[]).map((s) => [s.index, s.action, s.reason]), [
      [0n, 'keep', 'not archived'],
      [1n, 'keep', 'not archived'],
      [2n, 'keep', 'not archived'],
      [3n, 'keep', 'not archived'],
      [5n, 'keep', 'current segment'],
    ])
    assert.deepEqual([(plan.repository as any).archived_segments, (plan.repository as any).node], [0n, 'db1'])
    const kept = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, ...repoArgs, '--json'], {env: repo.env}))
    assert.deepEqual(kept.removed, [])
    assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])

    jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json'], {env: repo.env}))
    const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, ...repoArgs, '--json'], {env: repo.env}))
    assert.deepEqual((pruned.removed as any[]).map((s) => s.index), [0n, 1n, 2n, 3n])
    assert.deepEqual(onDisk(dir), [5n])
  })

  test(`${kind}: another node's archive does not count`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo.url, '--node', 'other', '--json'], {env: repo.env}))
    const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
    assert.deepEqual(pruned.removed, [])
    assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])
  })
}

test('a local repository holding a segment with another size (cut short, or the live segment pushed early) does not count it', async () => {
  const repo = await scratch.dir('redrepl-repo-')
  const {data} = await primary()
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json']))
  const key = path.join(repo, 'db1', 'timeline-00000000000000000001', 'wal', '00000000000000000002.redwal')
  truncateSync(key, 10)
  const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, '--repo', repo, '--node', 'db1', '--json']))
  assert.deepEqual((plan.removable_segments as any[]).map((s) => s.index), [0n, 1n, 3n])
  assert.equal((plan.segments as any[])[2].reason, 'not archived')
})

test('the repository named by REDREPL_REPO or the config file counts as --repo does', async () => {
  const repo = await scratch.dir('redrepl-repo-')
  const {data, dir} = await primary()
  const byEnv = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, '--json'], {env: {REDREPL_REPO: repo, REDREPL_NODE: 'db1'}}))
  assert.equal((byEnv.segments as any[])[0].reason, 'not archived')
  const config = path.join(dir, 'redrepl.conf')
  writeFileSync(config, `[defaults]\nrepo = "${repo}"\n\n[node.db1]\nmin-segments = 1\n`)
  const byConfig = jsonOf(await runCli(['wal', 'plan', '--data-path', data, '--no-keep-until-replicas-ack', '--config', config, '--node', 'db1', '--json']))
  assert.deepEqual([(byConfig.segments as any[])[0].reason, (byConfig.repository as any).node], ['not archived', 'db1'])
})

test('an unreachable repository makes wal prune refuse in one line and remove nothing', async () => {
  const {dir, data} = await primary()
  const run = await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: server.env({REDREPL_S3_ENDPOINT: 'http://127.0.0.1:9'})})
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, /^redrepl: s3:\/\/redrepl-archive\/x\/: cannot read the repository \(.*cannot reach the store.*\), so which WAL segments are archived is unknown and none is released/)
  assert.equal(run.stderr.trim().split('\n').length, 1)
  assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])
  const wrongKey = await runCli(['wal', 'plan', '--data-path', data, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: server.env({AWS_ACCESS_KEY_ID: 'NOT-A-KEY'})})
  assert.equal(wrongKey.exitCode, 4)
  assert.match(wrongKey.stderr, /refuses the credentials/)
})

test('--keep-wal-for-backups keeps the WAL from the oldest usable backup\'s checkpoint, with its own reason', async () => {
  const {dir, data} = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(5000, 7)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--checkpoint-lsn', '2097200', '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, '--keep-wal-for-backups', '--json']))
  assert.equal(plan.backup_hold_checkpoint_lsn, 2097200n)
  assert.deepEqual((plan.segments as any[]).map((s) => [s.index, s.action, s.reason]), [
    [0n, 'remove', 'released below the window'],
    [1n, 'remove', 'released below the window'],
    [2n, 'keep', 'base backup (checkpoint LSN 2097200)'],
    [3n, 'keep', 'base backup (checkpoint LSN 2097200)'],
    [5n, 'keep', 'current segment'],
  ])
  const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, '--keep-wal-for-backups', '--json']))
  assert.deepEqual((pruned.removed as any[]).map((s) => s.index), [0n, 1n])
  assert.deepEqual(onDisk(dir), [2n, 3n, 5n])
  const without = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, '--json']))
  assert.deepEqual([without.backup_hold_checkpoint_lsn, (without.removable_segments as any[]).length], [null, 2])
})
