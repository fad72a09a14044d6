import assert from 'node:assert/strict'
import {readdirSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson} from '../../src/core/codec/json.js'
import {decodePieceIndex} from '../../src/core/format/piece-index.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {initialEntry, writeReplicaNode} from '../support/repo-node.js'
import {useRepos, type TestRepo} from '../support/repository.js'
import {closePrimaryBasicHole, MiB} from '../support/wal-node.js'

/** What the repository records about itself (drills, pushes) and the completeness of its newest backup, as check and metrics see them. */

const scratch = useScratch()
const BUCKET = 'redrepl-health'
const repos = useRepos(scratch, BUCKET, 'h')
const DAY = 86_400_000n

const BACKENDS = repos.backends()

/** Every node threshold off: only the repository's findings set the state. */
const NODE_THRESHOLDS = ['slot-lag', 'slot-inactive', 'slot-silent', 'invalidated-slots', 'wal-bytes', 'wal-segments', 'basebackup-age', 'leftover-bytes', 'prune-skipped', 'archive-lag', 'archive-age']
const QUIET = [...NODE_THRESHOLDS, 'repo-backup-age'].flatMap((name) => [`--warning-${name}`, 'off', `--critical-${name}`, 'off'])

async function pushedNode(repo: TestRepo, extraBackup = false): Promise<string> {
  const dir = await scratch.layout('primary-basic')
  closePrimaryBasicHole(dir)
  const data = path.join(dir, 'data.rdb')
  if (extraBackup) {
    // A second, older backup (checkpoint 2097200) beside the layout's own at 5242882.
    const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, 4)])
    jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '2097200', '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  }
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--include-current', '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
  return data
}

const repoFindings = (report: any) => (report.findings as any[]).filter((f) => f.code.startsWith('repo.')).map((f) => [f.code, f.severity])
const metricValue = (text: string, name: string) => new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: the last successful drill is dated: a note before any, WARNING past 8d, CRITICAL past 15d, with its metrics`, async () => {
    const repo = await makeRepo()
    const data = await pushedNode(repo)
    const at = (now: bigint, ...args: string[]) => runCli([...args, '--data-path', data, '--repo', repo.url, '--node', 'db1', ...QUIET], {env: {...repo.env, REDREPL_NOW_MS: String(now)}})

    const never = await at(NOW_MS, 'check', '--json')
    assert.equal(never.exitCode, 0, 'no drill ever run does not page')
    assert.deepEqual(repoFindings(parseJson(never.stdout)), [['repo.drill-none', 'note']])
    const neverMetrics = (await at(NOW_MS, 'metrics')).stdout
    assert.equal(metricValue(neverMetrics, 'redrepl_repo_drill_ok'), undefined, 'absent when never run')
    assert.equal(metricValue(neverMetrics, 'redrepl_repo_drill_last_success_timestamp_seconds'), undefined)
    assert.deepEqual(repoFindings(parseJson((await at(NOW_MS, 'check', '--json', '--warning-drill-age', 'off', '--critical-drill-age', 'off')).stdout)), [], 'both levels off: not even the note')

    const drilled = await runCli(['repo', 'drill', '--repo', repo.url, '--node', 'db1', '--segment-bytes', '1MiB', '--json'], {env: {...repo.env, REDREPL_NOW_MS: String(NOW_MS)}})
    assert.equal(drilled.exitCode, 0, drilled.stderr)

    const fresh = await at(NOW_MS + 7n * DAY, 'check', '--json')
    assert.equal(fresh.exitCode, 0, fresh.stdout)
    assert.deepEqual(repoFindings(parseJson(fresh.stdout)), [])
    const old = await at(NOW_MS + 9n * DAY, 'check')
    assert.equal(old.exitCode, 1, old.stdout)
    assert.match(old.stdout, /^REDREPL WARNING - the last successful restore drill was 9d ago > 8d/)
    const older = await at(NOW_MS + 16n * DAY, 'check', '--json')
    assert.equal(older.exitCode, 2, older.stdout)
    assert.deepEqual(repoFindings(parseJson(older.stdout)), [['repo.drill-age', 'error']])
    assert.equal(((parseJson(older.stdout) as any).thresholds.drill_age_ms.critical), 15n * DAY)
    assert.equal((await at(NOW_MS + 16n * DAY, 'check', '--critical-drill-age', 'off')).exitCode, 1)
    assert.equal((await at(NOW_MS + 2n * DAY, 'check', '--warning-drill-age', '1d')).exitCode, 1)

    const metrics = (await at(NOW_MS + 16n * DAY, 'metrics')).stdout
    assert.equal(metricValue(metrics, 'redrepl_repo_drill_last_success_timestamp_seconds'), '1700000000.000')
    assert.equal(metricValue(metrics, 'redrepl_repo_drill_ok'), '1')
  })
}

test('local directory: a failed last drill is repo.drill-failed naming its problem, drill_ok 0, the last success kept', async () => {
  const repo = await repos.local()
  const data = await pushedNode(repo)
  const drill = (now: bigint) => runCli(['repo', 'drill', '--repo', repo.url, '--node', 'db1', '--segment-bytes', '1MiB'], {env: {REDREPL_NOW_MS: String(now)}})
  assert.equal((await drill(NOW_MS)).exitCode, 0)
  // The packs damaged in place (same size): the listing cannot tell, the next drill does and records why.
  const pieces = path.join(repo.url, 'db1', 'packs')
  for (const name of readdirSync(pieces, {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith('.redpack'))) {
    const piece = path.join(pieces, name)
    const bytes = readFileSync(piece)
    bytes[bytes.length >> 1] ^= 0xff
    writeFileSync(piece, bytes)
  }
  assert.equal((await drill(NOW_MS + DAY)).exitCode, 3)

  const run = await runCli(['check', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json', ...QUIET], {env: {REDREPL_NOW_MS: String(NOW_MS + 2n * DAY)}})
  assert.equal(run.exitCode, 1, run.stdout)
  const report = parseJson(run.stdout) as any
  const failed = (report.findings as any[]).find((f) => f.code === 'repo.drill-failed')
  assert.equal(failed?.severity, 'warning')
  assert.match(failed.message, /^the last restore drill failed 1d ago: .*\.redpack: piece at offset \d+ \(\d+ bytes\) does not match its SHA-256/)
  assert.deepEqual([report.repository.drill.ok, report.repository.drill.last_success_unix_ms], [false, NOW_MS])
  const metrics = (await runCli(['metrics', '--data-path', data, '--repo', repo.url, '--node', 'db1', ...QUIET], {env: {REDREPL_NOW_MS: String(NOW_MS + 2n * DAY)}})).stdout
  assert.equal(metricValue(metrics, 'redrepl_repo_drill_ok'), '0')
  assert.equal(metricValue(metrics, 'redrepl_repo_drill_last_success_timestamp_seconds'), '1700000000.000')
})

test('local directory: a damaged drill record is repo.drill-failed, never read as "never drilled", and the rest is still measured', async () => {
  const repo = await repos.local()
  const data = await pushedNode(repo)
  writeFileSync(path.join(repo.url, 'db1', 'drill.json'), '{"schema": "redrepl.drill-record/1", "ok": tru')
  const run = await runCli(['check', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json', ...QUIET], {env: {REDREPL_NOW_MS: String(NOW_MS)}})
  assert.equal(run.exitCode, 1, run.stdout)
  const report = parseJson(run.stdout) as any
  assert.deepEqual(repoFindings(report), [['repo.drill-failed', 'warning']])
  assert.match(report.findings.find((f: any) => f.code === 'repo.drill-failed').message, /^the restore drill record cannot be read: .*drill\.json/)
  assert.deepEqual([report.repository.reachable, report.repository.drill, report.repository.newest_backup === null, report.repository.push.failing], [true, null, false, false])
})

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: a refused push (another replica set's node) is repo.push-failing naming the reason; a good push clears it`, async () => {
    const repo = await makeRepo()
    const data = await pushedNode(repo)
    const check = () => runCli(['check', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json', ...QUIET, '--warning-drill-age', 'off', '--critical-drill-age', 'off'], {env: repo.env})
    const metrics = async () => (await runCli(['metrics', '--data-path', data, '--repo', repo.url, '--node', 'db1', ...QUIET], {env: repo.env})).stdout
    const healthy = await check()
    assert.equal(healthy.exitCode, 0, healthy.stdout)
    assert.equal(metricValue(await metrics(), 'redrepl_repo_push_failing'), '0')
    const success = metricValue(await metrics(), 'redrepl_repo_push_last_success_timestamp_seconds')
    assert.ok(success !== undefined)

    // 64 MiB segments where the namespace holds 1 MiB ones: not one replica set, refused and recorded.
    const other = await writeReplicaNode(await scratch.dir('redrepl-node-'), {segmentBytes: 64n * MiB, wal: {1: {0: 2, 1: 1}}, rdbFormat: 2, history: [initialEntry()]})
    const refused = await runCli(['repo', 'push', '--data-path', other, '--repo', repo.url, '--node', 'db1'], {env: repo.env})
    assert.equal(refused.exitCode, 4, refused.stderr)

    const failing = await check()
    assert.equal(failing.exitCode, 1, failing.stdout)
    const report = parseJson(failing.stdout) as any
    assert.deepEqual(repoFindings(report), [['repo.push-failing', 'warning']])
    assert.match(report.findings.find((f: any) => f.code === 'repo.push-failing').message, /^the last repo push failed \S+ ago on \S+ \(last success \S+ ago\): .*not one replica set/)
    assert.equal(report.repository.push.failing, true)
    const after = await metrics()
    assert.equal(metricValue(after, 'redrepl_repo_push_failing'), '1')
    assert.equal(metricValue(after, 'redrepl_repo_push_last_success_timestamp_seconds'), success, 'the last success is kept')

    jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
    assert.equal((await check()).exitCode, 0)
    assert.equal(metricValue(await metrics(), 'redrepl_repo_push_failing'), '0')
  })
}

test('local directory: a newest repository backup with a piece deleted does not count: the age is the older complete one\'s', async () => {
  const repo = await repos.local()
  const data = await pushedNode(repo, true)
  const parts = path.join(repo.url, new RepoKeys('db1').basebackupPrefix(1n))
  const manifests = readdirSync(parts).filter((name) => name.endsWith('.redbase')).sort()
  assert.ok(manifests.length >= 2, `two backups pushed (${manifests})`)
  // The older backup dated three days back by the store, the newest today.
  const nowMs = Date.now()
  const threeDays = new Date(nowMs - 3 * 86_400_000)
  utimesSync(path.join(parts, manifests.at(-2)!), threeDays, threeDays)
  const now = String(nowMs)
  const check = () => runCli(['check', '--data-path', data, '--repo', repo.url, '--node', 'db1', '--json', ...NODE_THRESHOLDS.flatMap((name) => [`--warning-${name}`, 'off', `--critical-${name}`, 'off']), '--warning-repo-backup-age', '36h', '--critical-repo-backup-age', 'off', '--warning-drill-age', 'off', '--critical-drill-age', 'off'], {env: {REDREPL_NOW_MS: now}})

  const whole = await check()
  assert.equal(whole.exitCode, 0, whole.stdout)
  const newestKey = (parseJson(whole.stdout) as any).repository.newest_backup.key as string
  assert.ok(newestKey.endsWith(manifests.at(-1)!))

  // A pack only the newest backup's index names, deleted.
  const pieceFile = (sha256: string) => path.join(repo.url, 'db1', 'packs', sha256.slice(0, 2), `${sha256}.redpack`)
  const named = (manifest: string) => decodePieceIndex(readFileSync(path.join(parts, `${manifest}.pieces`))).pieces.map((ref) => ref.pack!.sha256)
  const older = new Set(manifests.slice(0, -1).flatMap(named))
  rmSync(pieceFile(named(manifests.at(-1)!).find((sha256) => !older.has(sha256))!))
  const broken = await check()
  assert.equal(broken.exitCode, 1, broken.stdout)
  const report = parseJson(broken.stdout) as any
  assert.ok(String(report.repository.newest_backup.key).endsWith(manifests.at(-2)!))
  assert.ok(report.repository.newest_backup.age_ms >= 3n * DAY - 60_000n)
  const age = report.findings.find((f: any) => f.code === 'repo.backup-age')
  assert.match(age.message, /^newest complete base backup in the repository \(checkpoint \d+\) is 3(\.0)?d old > 36h.* \(1 newer incomplete/)
  const metrics = (await runCli(['metrics', '--data-path', data, '--repo', repo.url, '--node', 'db1', ...QUIET], {env: {REDREPL_NOW_MS: now}})).stdout
  assert.ok(Math.abs(Number(metricValue(metrics, 'redrepl_repo_backup_last_timestamp_seconds')) - threeDays.getTime() / 1000) < 2)

  // Every backup incomplete: none counts, as bad as no backup at all (the worst level set: here the warning).
  for (const manifest of manifests.slice(0, -1)) rmSync(pieceFile(named(manifest)[0]), {force: true})
  const none = await check()
  assert.equal(none.exitCode, 1, none.stdout)
  assert.match((parseJson(none.stdout) as any).findings.find((f: any) => f.code === 'repo.backup-none').message, /^no complete base backup \(\d+ incomplete/)
})
