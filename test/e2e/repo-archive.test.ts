import assert from 'node:assert/strict'
import {readdirSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson} from '../../src/core/codec/json.js'
import {Layout} from '../../src/core/layout.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {runCli, useScratch} from '../support/cli.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'
import {documentOf, jsonOf} from '../support/node.js'
import {primaryBasicKeys, primaryBasicPackSha256, useRepos} from '../support/repository.js'
import {layoutIn, primaryCopy} from '../support/layout-node.js'

/** WAL retention that respects the repository: what is not archived stays, whatever the window says. */

const scratch = useScratch()
const BUCKET = 'redrepl-archive'
const repos = useRepos(scratch, BUCKET, 'a')

const BACKENDS = repos.backends()
const KEYS = new RepoKeys('db1')

const WAL = (dir: string) => layoutIn(dir).walDir(1n)
const onDisk = (dir: string) => readdirSync(WAL(dir)).filter((name) => name.endsWith('.redwal')).map((name) => BigInt(name.slice(0, 20)))
/** A policy that releases every sealed segment of primary-basic (0-3; 5 is current). */
const RELEASE_ALL = ['--min-segments', '1', '--no-keep-until-replicas-ack']

const primary = () => primaryCopy(scratch)

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
    assert.deepEqual(kept.removed_segments, [])
    assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])

    jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json'], {env: repo.env}))
    const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, ...repoArgs, '--json'], {env: repo.env}))
    assert.deepEqual((pruned.removed_segments as any[]).map((s) => s.index), [0n, 1n, 2n, 3n])
    assert.deepEqual(onDisk(dir), [5n])
  })

  test(`${kind}: another node's archive does not count`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo.url, '--node', 'other', '--json'], {env: repo.env}))
    const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
    assert.deepEqual(pruned.removed_segments, [])
    assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])
  })
}

test('a local repository holding a segment with another size (cut short, or the live segment pushed early) does not count it', async () => {
  const repo = await scratch.dir('redrepl-repo-')
  const {data} = await primary()
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json']))
  const key = path.join(repo, KEYS.wal(1n, 2n))
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
  const run = await runCli(['wal', 'prune', '--data-path', data, ...RELEASE_ALL, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: repos.server.env({REDREPL_S3_ENDPOINT: 'http://127.0.0.1:9'})})
  assert.equal(run.exitCode, 4, run.stderr)
  // Named as typed when the store fails at its first request (the config object's read), before it names itself.
  assert.match(run.stderr, /^redrepl: s3:\/\/redrepl-archive\/x\/?: cannot read the repository \(.*cannot reach the store.*\), so which WAL segments are archived is unknown and none is released/)
  assert.equal(run.stderr.trim().split('\n').length, 1)
  assert.deepEqual(onDisk(dir), [0n, 1n, 2n, 3n, 5n])
  const wrongKey = await runCli(['wal', 'plan', '--data-path', data, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: repos.server.env({AWS_ACCESS_KEY_ID: 'NOT-A-KEY'})})
  assert.equal(wrongKey.exitCode, 4)
  assert.match(wrongKey.stderr, /refuses the credentials/)
})

test('--keep-wal-for-backups keeps the WAL from the oldest usable backup\'s checkpoint, with its own reason', async () => {
  const {dir, data} = await primary()
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(5000, 7)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '2097200', '--chunk-size', '4KiB', '--json'], {input: snapshot}))
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
  assert.deepEqual((pruned.removed_segments as any[]).map((s) => s.index), [0n, 1n])
  assert.deepEqual(onDisk(dir), [2n, 3n, 5n])
  const without = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, '--json']))
  assert.deepEqual([without.backup_hold_checkpoint_lsn, (without.removable_segments as any[]).length], [null, 2])
})

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: check measures the archive lag and the newest repository backup, with exit codes; metrics report them`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    closePrimaryBasicHole(dir)
    // Objects are dated by the store's clock: measure ages from a real "now" two hours on.
    const env = {...repo.env, REDREPL_NOW_MS: String(Date.now() + 2 * 3_600_000)}
    const check = (...flags: string[]) => runCli(['check', '--data-path', data, '--warning-invalidated-slots', '1', '--warning-basebackup-age', 'off', '--critical-basebackup-age', 'off', '--warning-archive-age', '3h', '--warning-slot-silent', 'off', '--critical-slot-silent', 'off', '--repo', repo.url, '--node', 'db1', ...flags], {env})

    const empty = await check('--json')
    assert.equal(empty.exitCode, 2, 'no backup in the repository is critical by default')
    const report = parseJson(empty.stdout) as any
    assert.deepEqual([report.repository.reachable, report.repository.archive_lag_segments, report.repository.newest_backup], [true, 5n, null])
    assert.deepEqual(report.findings.map((f: any) => [f.code, f.severity]).filter(([code]: string[]) => code.startsWith('repo.')), [['repo.backup-none', 'error'], ['repo.drill-none', 'note']])

    const lagging = await check('--warning-archive-lag', '1KiB', '--critical-repo-backup-age', 'off', '--warning-repo-backup-age', 'off')
    assert.equal(lagging.exitCode, 1, lagging.stdout)
    assert.match(lagging.stdout, /^REDREPL WARNING - 5 sealed WAL segment\(s\) of timeline 1 \(5\.7 KiB\) not in the repository > 1\.0 KiB \| .*'archive_lag'=5791B;1024;1073741824;0; 'archive_lag_segments'=5;;;0;/)
    assert.equal((await check('--warning-archive-lag', '1KiB', '--critical-archive-lag', '5KiB', '--critical-repo-backup-age', 'off', '--warning-repo-backup-age', 'off')).exitCode, 2)

    jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
    const pushed = await check('--warning-archive-lag', '0')
    assert.equal(pushed.exitCode, 0, pushed.stdout)
    assert.match(pushed.stdout, /archive lag 0 segments, newest repository backup (1\.9|2\.0)h ago \| .*'archive_lag'=0B;0;1073741824;0; .*'repo_backup_age'=7[12]\d\ds;129600;604800;0;/)
    assert.equal((await check('--warning-repo-backup-age', '1h')).exitCode, 1)
    assert.equal((await check('--critical-repo-backup-age', '90m', '--warning-repo-backup-age', '1h')).exitCode, 2)

    const metrics = await runCli(['metrics', '--data-path', data, '--repo', repo.url, '--node', 'db1'], {env})
    assert.equal(metrics.exitCode, 0, metrics.stderr)
    assert.match(metrics.stdout, /^redrepl_archive_lag_bytes\{[^}]*\} 0$/m)
    assert.match(metrics.stdout, /^redrepl_archive_lag_segments\{[^}]*\} 0$/m)
    const stamp = Number(/^redrepl_repo_backup_last_timestamp_seconds\{[^}]*\} (\S+)$/m.exec(metrics.stdout)?.[1])
    assert.ok(Math.abs(stamp - Date.now() / 1000) < 600, `the manifest's date in the store (${stamp})`)
  })
}

test('check: an unreachable repository is a WARNING finding, never a crash, and the node\'s own measurements stay', async () => {
  const {dir, data} = await primary()
  closePrimaryBasicHole(dir)
  const run = await runCli(['check', '--data-path', data, '--warning-invalidated-slots', '1', '--repo', `s3://${BUCKET}/x`, '--node', 'db1', '--json'], {env: repos.server.env({REDREPL_S3_ENDPOINT: 'http://127.0.0.1:9'})})
  assert.equal(run.exitCode, 1, run.stdout + run.stderr)
  const report = parseJson(run.stdout) as any
  assert.equal(report.repository.reachable, false)
  assert.deepEqual(report.findings.filter((f: any) => f.code.startsWith('repo.')).map((f: any) => [f.code, f.severity, /cannot reach the store/.test(f.message)]), [['repo.unreachable', 'warning', true]])
  assert.equal(report.wal.segments, 6n)
  const metrics = await runCli(['metrics', '--data-path', data, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: repos.server.env({REDREPL_S3_ENDPOINT: 'http://127.0.0.1:9'})})
  assert.equal(metrics.exitCode, 0)
  assert.doesNotMatch(metrics.stdout, /redrepl_archive_lag_bytes/)
  assert.match(metrics.stdout, /^redrepl_check_findings\{node="db1",cluster="",code="repo.unreachable",severity="warning"\} 1$/m)
})

/** The fixture's backup is stored as one piece of 9004 bytes (under the smallest cut), in one pack named by the SHA-256 of the pack's bytes. */
const SNAPSHOT_SHA256 = primaryBasicPackSha256()
const PIECE_KEY = primaryBasicKeys().pack

for (const [kind, makeRepo] of BACKENDS) for (const [codec, suffix, level] of [['gzip', 'gz', '9'], ['zstd', 'zst', '19']] as const) {
  test(`${kind}: a ${codec} push restores byte-identical, counts as archived, and verify names a corrupted compressed object`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    const repoArgs = ['--repo', repo.url, '--node', 'db1']
    const original = path.join(dir, 'original.rdb')
    jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', original, '--json']))
    // The manifest, its piece index, its one piece, 4 WAL segments, the history.
    const pushed = jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--compress', codec, '--compress-level', level, '--json'], {env: repo.env}))
    assert.deepEqual([pushed.objects_uploaded, pushed.wal_segments_pushed], [8n, 4n])
    const again = jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json'], {env: repo.env}))
    assert.equal(again.objects_uploaded, 0n, 'compressed objects count as there, whatever --compress says now')
    if (!repo.url.startsWith('s3://')) {
      const wal = readdirSync(path.join(repo.url, KEYS.walPrefix(1n))).sort()
      assert.deepEqual(wal, ['00000000000000000000.redwal.2017', '00000000000000000001.redwal.1686', '00000000000000000002.redwal.1416', '00000000000000000003.redwal.606'].map((n) => `${n}.${suffix}`))
    }
    const list = jsonOf(await runCli(['repo', 'list', ...repoArgs, '--segment-bytes', '1MiB', '--json'], {env: repo.env}))
    assert.deepEqual((list.backups as any[]).map((b) => [b.complete, b.wal_covered_from_checkpoint]), [[true, false]])
    assert.equal(jsonOf(await runCli(['repo', 'verify', ...repoArgs, '--json'], {env: repo.env})).ok, true)

    const restored = path.join(dir, 'restored.rdb')
    jsonOf(await runCli(['repo', 'restore', ...repoArgs, '--to', restored, '--rdb-version', '1', '--json'], {env: repo.env}))
    assert.deepEqual(readFileSync(restored), readFileSync(original))
    const plan = jsonOf(await runCli(['wal', 'plan', '--data-path', data, ...RELEASE_ALL, ...repoArgs, '--json'], {env: repo.env}))
    assert.deepEqual((plan.removable_segments as any[]).map((s) => s.index), [0n, 1n, 2n, 3n], 'compressed segments are archived')

    // The pack's logical size: its 10-byte header, the 9004-byte piece, one 40-byte trailer entry, the count and the CRC.
    await repo.corrupt(`${PIECE_KEY}.9062.${suffix}`)
    const verify = await runCli(['repo', 'verify', ...repoArgs, '--json'], {env: repo.env})
    assert.equal(verify.exitCode, 3, verify.stdout + verify.stderr)
    assert.deepEqual((documentOf(verify.stdout).findings as any[]).map((f) => f.data.key), [PIECE_KEY])
    const target = path.join(dir, 'again.rdb')
    const restore = await runCli(['repo', 'restore', ...repoArgs, '--to', target, '--rdb-version', '1'], {env: repo.env})
    assert.equal(restore.exitCode, 3)
    assert.ok(restore.stderr.includes(`${SNAPSHOT_SHA256}.redpack.9062.${suffix}: `), restore.stderr)
    assert.equal(restore.stderr.trim().split('\n').length, 1)
  })
}

test('expire and fetch-wal read compressed objects; a push in the other form replaces the stored one', async () => {
  const repo = await scratch.dir('redrepl-repo-')
  const {data} = await primary()
  const repoArgs = ['--repo', repo, '--node', 'db1']
  jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--compress', 'gzip', '--include-current', '--json']))
  const fresh = path.join(await scratch.dir(), 'data.rdb')
  jsonOf(await runCli(['repo', 'restore', ...repoArgs, '--to', fresh, '--rdb-version', '1', '--json']))
  const fetched = jsonOf(await runCli(['repo', 'fetch-wal', ...repoArgs, '--data-path', fresh, '--from-lsn', '5242882', '--segment-bytes', '1MiB', '--json']))
  assert.deepEqual((fetched.fetched as any[]).map((s) => s.index), [5n])
  const segment = (root: string) => readFileSync(Layout.fromDataPath(root).walSegmentPath(1n, 5n))
  assert.deepEqual(segment(fresh), segment(data))
  // A cut-short copy of segment 0 stored plainly with the wrong size: the next push stores it again and leaves one form.
  const walDir = path.join(repo, KEYS.walPrefix(1n))
  writeFileSync(path.join(walDir, '00000000000000000000.redwal'), 'cut')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--compress', 'gzip', '--json']))
  assert.deepEqual(readdirSync(walDir).filter((n) => n.startsWith('00000000000000000000')), ['00000000000000000000.redwal.2017.gz'])
  const expired = jsonOf(await runCli(['repo', 'expire', ...repoArgs, '--keep-last', '1', '--segment-bytes', '1MiB', '--confirm', '--json']))
  assert.equal(expired.objects_deleted, 4n, 'the WAL below the kept backup\'s checkpoint segment')
  assert.deepEqual(readdirSync(walDir), ['00000000000000000005.redwal.174.gz'])
  assert.equal(jsonOf(await runCli(['repo', 'verify', ...repoArgs, '--json'])).ok, true)
})

test('--compress-level outside the codec\'s range, or without a codec, is a usage error and writes nothing', async () => {
  const {data} = await primary()
  const repo = await scratch.dir('redrepl-repo-')
  for (const [args, message] of [
    [['--compress', 'gzip', '--compress-level', '10'], /--compress-level 10: gzip takes 1-9/],
    [['--compress', 'zstd', '--compress-level', '20'], /--compress-level 20: zstd takes 1-19/],
    [['--compress', 'zstd', '--compress-level', '0'], /--compress-level 0: zstd takes 1-19/],
    [['--compress-level', '3'], /--compress-level needs --compress gzip or zstd/],
  ] as const) {
    const run = await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', ...args, '--json'])
    assert.equal(run.exitCode, 2, run.stderr)
    assert.match(run.stderr, message)
    assert.deepEqual(readdirSync(repo), [], 'nothing written')
  }
})
