import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {test} from 'node:test'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {RepoKeys} from '../../src/core/repo/keys.js'

import {runCli, useScratch} from '../support/cli.js'
import {layoutIn} from '../support/layout-node.js'
import {documentOf, jsonOf} from '../support/node.js'
import {initialEntry, writeReplicaNode} from '../support/repo-node.js'
import {useHostileS3} from '../support/hostile-s3.js'
import {useRepos} from '../support/repository.js'
import {MiB} from '../support/wal-node.js'

const scratch = useScratch()
const BUCKET = 'redrepl-multi'
const repos = useRepos(scratch, BUCKET, 'm')
const hostile = useHostileS3(BUCKET)

/** Credentials for the test S3 server and nothing else: each [repo.NAME] section names its own endpoint. */
const s3Env = () => repos.s3CredentialsEnv()
const s3Url = () => repos.s3Url()
const s3Section = (name: string, url: string, endpoint = repos.server.endpoint) => `[repo.${name}]\nurl = "${url}"\ns3-endpoint = "${endpoint}"\ns3-force-path-style = true\ntimeout = "20s"\n`
const dirSection = (name: string, url: string) => `[repo.${name}]\nurl = "${url}"\n`

async function primary(): Promise<{dir: string; data: string}> {
  const dir = await scratch.layout('primary-basic')
  return {dir, data: path.join(dir, 'data.rdb')}
}

async function writeConfig(text: string): Promise<string> {
  const file = path.join(await scratch.dir('redrepl-conf-'), 'redrepl.conf')
  writeFileSync(file, text, {mode: 0o600})
  return file
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('[repo.NAME] sections: --repo-name takes a repository and its options; an unknown name or key, or --repo beside it, is a usage error', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const config = await writeConfig(`${dirSection('local', local)}compress = "gzip"\n${s3Section('offsite', s3Url())}`)
  const pushed = jsonOf(await runCli(['repo', 'push', '--config', config, '--repo-name', 'local', '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()}))
  assert.equal(pushed.repository, local, 'the single-repository document, as with --repo')
  assert.equal(pushed.wal_segments_pushed, 4n)
  const listed = jsonOf(await runCli(['repo', 'list', '--config', config, '--repo-name', 'local', '--cluster', 'db1', '--json']))
  assert.equal((listed.backups as any[]).length, 1)
  const stored = (listed.wal as any[])[0]
  assert.ok(stored, 'the WAL pushed is listed')

  const shown = jsonOf(await runCli(['config', 'show', '--config', config, '--json']))
  assert.deepEqual((shown.repositories as any[]).map((r) => [r.name, r.settings.map((x: any) => x.key)]), [['local', ['url', 'compress']], ['offsite', ['url', 's3-endpoint', 's3-force-path-style', 'timeout']]])
  const unknown = await runCli(['repo', 'list', '--config', config, '--repo-name', 'nearby', '--cluster', 'db1'])
  assert.equal(unknown.exitCode, 2)
  assert.match(unknown.stderr, /no \[repo\.nearby\] section \(repositories: local, offsite\)/)
  const both = await runCli(['repo', 'list', '--config', config, '--repo-name', 'local', '--repo', local, '--cluster', 'db1'])
  assert.equal(both.exitCode, 2)
  assert.match(both.stderr, /--repo and --repo-name both name the repository/)

  const badKey = await writeConfig(`${dirSection('local', local)}keep-lats = 3\n`)
  const refusedKey = await runCli(['repo', 'list', '--config', badKey, '--repo-name', 'local', '--cluster', 'db1'])
  assert.equal(refusedKey.exitCode, 2)
  assert.match(refusedKey.stderr, /\[repo\.local\] keep-lats: not a repository setting .*did you mean keep-last\?/)
  const noUrl = await writeConfig('[repo.local]\ncompress = "gzip"\n')
  const refusedUrl = await runCli(['repo', 'list', '--config', noUrl, '--repo-name', 'local', '--cluster', 'db1'])
  assert.equal(refusedUrl.exitCode, 2)
  assert.match(refusedUrl.stderr, /\[repo\.local\] url: each repository needs its url/)
})

test('repo push without --repo pushes to each configured repository, directory and S3; an unreachable one does not stop the others', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const offsite = s3Url()
  const port = await closedPort()
  const config = await writeConfig(`${dirSection('local', local)}${s3Section('gone', 's3://redrepl-multi/gone', `http://127.0.0.1:${port}`)}${s3Section('offsite', offsite)}`)
  const run = await runCli(['repo', 'push', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()})
  assert.equal(run.exitCode, 1, 'the worst exit code: the unreachable repository\'s')
  const doc = documentOf(run.stdout)
  const entries = doc.repositories as any[]
  assert.deepEqual(entries.map((e) => [e.repository_name, e.exit_code]), [['local', 0n], ['gone', 1n], ['offsite', 0n]])
  assert.equal(entries[1].report, null)
  assert.match(entries[1].error.message, /127\.0\.0\.1|connect|ECONNREFUSED/)
  assert.equal(entries[1].repository, 's3://redrepl-multi/gone')
  for (const entry of [entries[0], entries[2]]) assert.deepEqual([entry.report.wal_segments_pushed, entry.report.backups_pushed.length], [4n, 1])
  // Both reachable repositories now hold a verifiable copy.
  for (const name of ['local', 'offsite']) {
    const verified = jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', name, '--cluster', 'db1', '--json'], {env: s3Env()}))
    assert.equal(verified.ok, true, name)
  }
  const allGood = await writeConfig(`${dirSection('local', local)}${s3Section('offsite', offsite)}`)
  const again = await runCli(['repo', 'push', '--config', allGood, '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()})
  assert.equal(again.exitCode, 0)
  assert.deepEqual((jsonOf(again).repositories as any[]).map((e) => e.report.objects_uploaded), [0n, 0n], 'each already holds everything')
})

const WAL_DIR = (dir: string) => layoutIn(dir).walDir(1n)
const SEGMENT_KEY = (index: number) => new RepoKeys('db1').wal(1n, BigInt(index))
/** A policy that releases every sealed segment of primary-basic (0-3; 5 is current). */
const RELEASE_ALL = ['--min-segments', '1', '--no-keep-until-replicas-ack']

test('wal prune with two configured repositories keeps a segment only one of them holds, naming the one that lacks it', async () => {
  const {dir, data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const config = await writeConfig(`${dirSection('local', local)}${s3Section('offsite', s3Url())}`)
  const env = s3Env()
  jsonOf(await runCli(['repo', 'push', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env}))
  // The directory repository loses segment 2: the S3 one alone holds it now.
  rmSync(path.join(local, SEGMENT_KEY(2)))
  const plan = jsonOf(await runCli(['wal', 'plan', '--config', config, '--data-path', data, ...RELEASE_ALL, '--cluster', 'db1', '--json'], {env}))
  assert.deepEqual((plan.segments as any[]).map((s) => [s.index, s.action, s.reason]).slice(0, 4), [
    [0n, 'remove', (plan.segments as any[])[0].reason],
    [1n, 'remove', (plan.segments as any[])[1].reason],
    [2n, 'keep', 'not archived in local'],
    [3n, 'remove', (plan.segments as any[])[3].reason],
  ])
  assert.equal(plan.repository, null)
  assert.deepEqual((plan.repositories as any[]).map((r) => [r.name, r.archived_segments, r.not_archived_segments]), [['local', 3n, 2n], ['offsite', 4n, 1n]])
  const pruned = jsonOf(await runCli(['wal', 'prune', '--config', config, '--data-path', data, ...RELEASE_ALL, '--cluster', 'db1', '--json'], {env}))
  assert.deepEqual((pruned.removed_segments as any[]).map((s) => s.index), [0n, 1n, 3n])
  assert.ok(existsSync(path.join(WAL_DIR(dir), '00000000000000000002.redwal')), 'the segment one repository lacks stays on disk')

  // A repository that cannot be read refuses the prune: what it holds is unknown.
  const port = await closedPort()
  const withGone = await writeConfig(`${dirSection('local', local)}${s3Section('gone', 's3://redrepl-multi/gone', `http://127.0.0.1:${port}`)}`)
  const refusedRun = await runCli(['wal', 'prune', '--config', withGone, '--data-path', data, ...RELEASE_ALL, '--cluster', 'db1', '--json'], {env})
  assert.equal(refusedRun.exitCode, 4)
  assert.match(refusedRun.stderr, /s3:\/\/redrepl-multi\/gone\/? \(repository gone\): cannot read the repository/)
  assert.ok(existsSync(path.join(WAL_DIR(dir), '00000000000000000002.redwal')))
})

test('check measures each configured repository and names the one that lags', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const config = await writeConfig(`${dirSection('local', local)}${s3Section('offsite', s3Url())}`)
  const env = s3Env()
  jsonOf(await runCli(['repo', 'push', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env}))
  const even = documentOf((await runCli(['check', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env})).stdout)
  assert.deepEqual((even.repositories as any[]).map((r) => [r.name, r.reachable, r.archive_lag_segments]), [['local', true, 0n], ['offsite', true, 0n]])
  assert.deepEqual((even.findings as any[]).filter((f) => f.code === 'repo.lagging'), [])

  rmSync(path.join(local, SEGMENT_KEY(3)))
  const run = await runCli(['check', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env})
  const report = documentOf(run.stdout)
  const lagging = (report.findings as any[]).filter((f) => f.code === 'repo.lagging')
  assert.equal(lagging.length, 1)
  assert.deepEqual([lagging[0].data.repository_name, lagging[0].data.wal_ahead_repository_name, lagging[0].data.wal_segments_behind, lagging[0].severity], ['local', 'offsite', 1n, 'warning'])
  assert.match(lagging[0].message, /repository local is behind: 1 sealed WAL segment\(s\) fewer than offsite/)
  assert.equal(run.exitCode, 1, 'a WARNING')
  const human = await runCli(['check', '--config', config, '--data-path', data, '--cluster', 'db1'], {env})
  assert.match(human.stdout, /repository local is behind/)
})

test('repo expire without --repo applies each configured repository\'s own retention', async () => {
  const dir = await scratch.dir('redrepl-node-')
  const data = writeReplicaNode(dir, {segmentBytes: MiB, wal: {1: {0: 3, 1: 3, 2: 3, 3: 1}}, backups: [[1n, 1n], [1n, MiB + 1n]], rdbFormat: 1, history: [initialEntry()]})
  const local = await scratch.dir('redrepl-repo-')
  const config = await writeConfig(`${dirSection('local', local)}keep-last = 1\n${s3Section('offsite', s3Url())}keep-last = 2\n`)
  const env = s3Env()
  const pushed = jsonOf(await runCli(['repo', 'push', '--config', config, '--data-path', data, '--cluster', 'db1', '--json'], {env}))
  assert.deepEqual((pushed.repositories as any[]).map((e) => e.report.backups_pushed.length), [2, 2])
  const dry = jsonOf(await runCli(['repo', 'expire', '--config', config, '--cluster', 'db1', '--json'], {env}))
  const actions = (dry.repositories as any[]).map((e) => [e.repository_name, e.report.dry_run, e.report.backups.map((b: any) => b.action)])
  assert.deepEqual(actions, [['local', true, ['delete', 'keep']], ['offsite', true, ['keep', 'keep']]])
  jsonOf(await runCli(['repo', 'expire', '--config', config, '--cluster', 'db1', '--confirm', '--json'], {env}))
  const lists = await Promise.all(['local', 'offsite'].map(async (name) => jsonOf(await runCli(['repo', 'list', '--config', config, '--repo-name', name, '--cluster', 'db1', '--json'], {env}))))
  assert.deepEqual(lists.map((l) => (l.backups as any[]).map((b) => b.checkpoint_lsn)), [[MiB + 1n], [1n, MiB + 1n]])
})

test('every repo command takes --repo-name, and refuses a name the config file does not have', async () => {
  const config = await writeConfig(dirSection('local', await scratch.dir('redrepl-repo-')))
  for (const command of ['push', 'list', 'verify', 'expire', 'restore', 'fetch-wal', 'drill', 'init', 'key add', 'key remove']) {
    // init and the key commands have no namespace: --cluster is not theirs.
    const namespace = command === 'init' || command.startsWith('key') ? [] : ['--cluster', 'db1']
    const run = await runCli(['repo', ...command.split(' '), '--config', config, '--repo-name', 'elsewhere', ...namespace])
    assert.equal(run.exitCode, 2, command)
    assert.match(run.stderr, /no \[repo\.elsewhere\] section \(repositories: local\)/, command)
  }
})

test('metrics without --repo gives each configured repository\'s series a repo label; one that never answers is up 0 within its timeout and the others are measured', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const offsite = s3Url()
  const env = s3Env()
  jsonOf(await runCli(['repo', 'push', '--config', await writeConfig(`${dirSection('local', local)}${s3Section('offsite', offsite)}`), '--data-path', data, '--cluster', 'db1', '--json'], {env}))
  rmSync(path.join(local, SEGMENT_KEY(3)))
  // Accepts every request and never answers: only the section's own timeout ends the wait.
  const stalled = await hostile()
  stalled.misbehave = () => true
  const stalledSection = s3Section('stalled', `s3://${BUCKET}/stalled`, stalled.endpoint).replace('timeout = "20s"', 'timeout = "2s"')
  const config = await writeConfig(`[node.db1]\ndata-path = "${data}"\n\n${dirSection('local', local)}${stalledSection}${s3Section('offsite', offsite)}`)
  const textfile = path.join(await scratch.dir('redrepl-prom-'), 'redrepl.prom')
  const started = performance.now()
  // In metrics --cluster is the cluster label; --node names the node's section and its namespace.
  const run = await runCli(['metrics', '--config', config, '--node', 'db1', '--textfile', textfile], {env})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.ok(performance.now() - started < 20_000, 'the stalled repository gave up at its own 2 s timeout')
  assert.ok(stalled.requests > 0, 'the stalled repository was tried')

  const families = new Map(parsePrometheusTextFormat(readFileSync(textfile, 'utf8')).map((family) => [family.name, family]))
  const byRepo = (name: string) => Object.fromEntries((families.get(name)?.metrics ?? []).map((m) => [m.labels?.repo ?? '(none)', m.value]))
  for (const [name, family] of families) {
    if (!/^redrepl_(repo|archive)_/.test(name)) continue
    for (const m of family.metrics) assert.ok(['local', 'offsite', 'stalled'].includes(m.labels?.repo ?? ''), `${name} carries the repository's name`)
  }
  assert.deepEqual(byRepo('redrepl_repo_up'), {local: '1', stalled: '0', offsite: '1'})
  assert.deepEqual(byRepo('redrepl_archive_lag_segments'), {local: '1', offsite: '0'}, 'none for the repository that could not be read')
  assert.deepEqual(byRepo('redrepl_repo_lagging'), {local: '1', offsite: '0'})
  assert.deepEqual(byRepo('redrepl_repo_push_failing'), {local: '0', offsite: '0'})
  assert.deepEqual(Object.keys(byRepo('redrepl_repo_backup_last_timestamp_seconds')), ['local', 'offsite'])
  assert.deepEqual(byRepo('redrepl_wal_segments'), {'(none)': '5'}, 'the node\'s own series carry no repo label')
  const findings = Object.fromEntries((families.get('redrepl_check_findings')?.metrics ?? []).map((m) => [m.labels?.code, m.value]))
  assert.equal(findings['repo.lagging'], '1')
  assert.equal(findings['repo.unreachable'], '1')
  assert.equal(byRepo('redrepl_scrape_success')['(none)'], '1')
})

test('repo list and repo verify without --repo go through each configured repository: one unreachable or damaged does not stop the others, the run exits with the worst', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const offsite = s3Url()
  const env = s3Env()
  jsonOf(await runCli(['repo', 'push', '--config', await writeConfig(`${dirSection('local', local)}${s3Section('offsite', offsite)}`), '--data-path', data, '--cluster', 'db1', '--json'], {env}))
  const port = await closedPort()
  const config = await writeConfig(`${dirSection('local', local)}${s3Section('gone', `s3://${BUCKET}/gone`, `http://127.0.0.1:${port}`)}${s3Section('offsite', offsite)}`)

  const listed = await runCli(['repo', 'list', '--config', config, '--cluster', 'db1', '--json'], {env})
  assert.equal(listed.exitCode, 1, 'the unreachable repository\'s exit code')
  const lists = documentOf(listed.stdout).repositories as any[]
  assert.deepEqual(lists.map((e) => [e.repository_name, e.exit_code, e.report === null]), [['local', 0n, false], ['gone', 1n, true], ['offsite', 0n, false]])
  assert.match(lists[1].error.message, /127\.0\.0\.1|connect|ECONNREFUSED/)
  for (const entry of [lists[0], lists[2]]) assert.deepEqual([entry.report.node, entry.report.backups.length, entry.report.wal[0].segments], ['db1', 1, 4n], entry.repository_name)
  const human = await runCli(['repo', 'list', '--config', config, '--cluster', 'db1'], {env})
  assert.equal(human.exitCode, 1)
  assert.match(human.stdout, /^\[local\]$/m)
  assert.match(human.stdout, /^gone \(s3:\/\/redrepl-multi\/gone\): failed \(exit 1\): /m)
  assert.match(human.stdout, /^\[offsite\]$/m)

  // One byte of a WAL segment flipped in the directory repository: its verify finds it, the others still run.
  const segment = path.join(local, SEGMENT_KEY(1))
  const bytes = readFileSync(segment)
  bytes[bytes.length - 10] ^= 0xff
  writeFileSync(segment, bytes)
  const verified = await runCli(['repo', 'verify', '--config', config, '--cluster', 'db1', '--json'], {env})
  assert.equal(verified.exitCode, 3, 'the damaged repository\'s 3 is the highest')
  const verifies = documentOf(verified.stdout).repositories as any[]
  assert.deepEqual(verifies.map((e) => [e.repository_name, e.exit_code]), [['local', 3n], ['gone', 1n], ['offsite', 0n]])
  assert.equal(verifies[0].report.ok, false)
  assert.ok((verifies[0].report.findings as any[]).some((f) => f.code === 'repo.object-damaged' && String(f.path).includes(SEGMENT_KEY(1))), 'the damaged segment is named')
  assert.equal(verifies[2].report.ok, true)
  assert.equal(verifies[1].error.code === null || typeof verifies[1].error.code === 'string', true)
  // Named, one repository gives the one-repository document as before.
  const one = documentOf((await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env})).stdout)
  assert.equal(one.ok, true)
  assert.equal(one.repositories, undefined)
})

test('the repo commands that need one repository refuse, naming the configured ones, when several are configured and none is named', async () => {
  const {data} = await primary()
  const local = await scratch.dir('redrepl-repo-')
  const other = await scratch.dir('redrepl-repo-')
  const config = await writeConfig(`${dirSection('local', local)}${dirSection('other', other)}`)
  const keyFile = path.join(await scratch.dir('redrepl-key-'), 'k')
  writeFileSync(keyFile, Buffer.alloc(32, 7), {mode: 0o600})
  const target = path.join(await scratch.dir('redrepl-restore-'), 'restored.rdb')
  const runs: Record<string, string[]> = {
    restore: ['repo', 'restore', '--cluster', 'db1', '--to', target],
    'fetch-wal': ['repo', 'fetch-wal', '--cluster', 'db1', '--data-path', data, '--from-lsn', '0'],
    drill: ['repo', 'drill', '--cluster', 'db1'],
    init: ['repo', 'init', '--encrypt', 'key-file', '--key-file', keyFile],
    'key add': ['repo', 'key', 'add', '--key-file', keyFile, '--new-key-file', keyFile],
    'key remove': ['repo', 'key', 'remove', '--key-file', keyFile, '--key-id', 'k1'],
  }
  for (const [name, args] of Object.entries(runs)) {
    const run = await runCli([...args, '--config', config])
    assert.equal(run.exitCode, 2, `${name}: ${run.stderr}`)
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, name)
    assert.match(run.stderr, /no repository named, and the config file has several \(repositories: local, other\).*--repo-name local/, name)
  }
  assert.deepEqual(readdirSync(local), [], 'nothing was written to either repository')
  assert.deepEqual(readdirSync(other), [])
  assert.equal(existsSync(target), false)
  // Named, the same run goes ahead.
  const init = jsonOf(await runCli(['repo', 'init', '--config', config, '--repo-name', 'other', '--json']))
  assert.equal(init.repository, other)
})

test('repo list over several repositories shows each backup once, with where it is complete, incomplete or missing', async () => {
  const dir = await scratch.dir('redrepl-node-')
  const data = writeReplicaNode(dir, {segmentBytes: MiB, wal: {1: {0: 3, 1: 3, 2: 3, 3: 1}}, backups: [[1n, 1n], [1n, MiB + 1n]], rdbFormat: 1, history: [initialEntry()]})
  const [first, second] = [await scratch.dir('redrepl-repo-'), await scratch.dir('redrepl-repo-')]
  const both = await writeConfig(`${dirSection('first', first)}${dirSection('second', second)}`)
  jsonOf(await runCli(['repo', 'push', '--config', both, '--data-path', data, '--cluster', 'db1', '--json']))
  const manifests = (repo: string) =>
    readdirSync(repo, {recursive: true, withFileTypes: true})
      .filter((e) => e.isFile() && /^base-.*\.redbase$/.test(e.name))
      .map((e) => path.join(e.parentPath, e.name))
      .sort()
  assert.equal(manifests(first).length, 2)
  // first: the newer backup's manifest damaged; second: the older one's gone.
  const damaged = manifests(first)[1]
  const bytes = readFileSync(damaged)
  bytes[bytes.length - 1] ^= 0xff
  writeFileSync(damaged, bytes)
  rmSync(manifests(second)[0])
  const port = await closedPort()
  const config = await writeConfig(`${dirSection('first', first)}${s3Section('gone', `s3://${BUCKET}/gone`, `http://127.0.0.1:${port}`)}${dirSection('second', second)}`)
  const run = await runCli(['repo', 'list', '--config', config, '--cluster', 'db1', '--json'], {env: s3Env()})
  assert.equal(run.exitCode, 1)
  const doc = documentOf(run.stdout)
  assert.deepEqual(
    (doc.backups as any[]).map((b) => [b.checkpoint_lsn, b.complete_in, b.incomplete_in, b.missing_from]),
    [
      [1n, ['first'], [], ['second']],
      [MiB + 1n, ['second'], ['first'], []],
    ],
    'the unreachable repository is in none of the three',
  )
  const human = await runCli(['repo', 'list', '--config', config, '--cluster', 'db1'], {env: s3Env()})
  assert.match(human.stdout, new RegExp(`│ 1 +│ ${MiB + 1n} +│ second +│ first +│ - +│`), 'the table of where each backup is')
})
