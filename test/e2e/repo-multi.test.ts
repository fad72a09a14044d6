import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {s3ClientEnv, useS3Server} from '../support/s3.js'

const scratch = useScratch()
const BUCKET = 'redrepl-multi'
const s3rver = useS3Server(scratch, [BUCKET])

/** Credentials for the test S3 server and nothing else: each [repo.NAME] section names its own endpoint. */
function s3Env(): Record<string, string> {
  const {REDREPL_S3_ENDPOINT: _endpoint, REDREPL_S3_FORCE_PATH_STYLE: _style, ...env} = s3ClientEnv(s3rver.server.endpoint, 'S3RVER')
  return env
}

let prefixes = 0
const s3Url = () => `s3://${BUCKET}/m${++prefixes}`
const s3Section = (name: string, url: string, endpoint = s3rver.server.endpoint) => `[repo.${name}]\nurl = "${url}"\ns3-endpoint = "${endpoint}"\ns3-force-path-style = true\ntimeout = "20s"\n`
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
