import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {GetObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {Layout} from '../../src/core/layout.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {initialEntry, writeReplicaNode} from '../support/repo-node.js'
import {s3ClientEnv, useS3Server} from '../support/s3.js'
import {MiB} from '../support/wal-node.js'

/** repo copy between a directory and S3, both ways: checked, resumable, refusing what push refuses. */

const scratch = useScratch()
const BUCKET = 'redrepl-copy'
const s3rver = useS3Server(scratch, [BUCKET])

/** Credentials for the test S3 server; each [repo.NAME] section names its endpoint. */
function s3Env(): Record<string, string> {
  const {REDREPL_S3_ENDPOINT: _endpoint, REDREPL_S3_FORCE_PATH_STYLE: _style, ...env} = s3ClientEnv(s3rver.server.endpoint, 'S3RVER')
  return env
}

let prefixes = 0
const s3Section = (name: string) => `[repo.${name}]\nurl = "s3://${BUCKET}/c${++prefixes}"\ns3-endpoint = "${s3rver.server.endpoint}"\ns3-force-path-style = true\ntimeout = "30s"\n`

async function writeConfig(text: string): Promise<string> {
  const file = path.join(await scratch.dir('redrepl-conf-'), 'redrepl.conf')
  writeFileSync(file, text, {mode: 0o600})
  return file
}

const WAL_KEY = 'db1/timeline-00000000000000000001/wal/00000000000000000002.redwal'

/** primary-basic pushed to a directory repository, and its database as materialized from the node's own backup. */
async function pushedDir(): Promise<{repo: string; original: Buffer; data: string}> {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const original = path.join(await scratch.dir(), 'original.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', original, '--json']))
  const repo = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--cluster', 'db1', '--json']))
  return {repo, original: readFileSync(original), data}
}

const copy = (config: string, from: string, to: string, ...more: string[]) => runCli(['repo', 'copy', '--config', config, '--from', from, '--to', to, '--cluster', 'db1', '--json', ...more], {env: s3Env()})

test('copy a directory repository to S3 and back to a new directory: each verifies, and a restore from the last is byte-identical', async () => {
  const {repo, original} = await pushedDir()
  const config = await writeConfig(s3Section('offsite'))
  const dry = jsonOf(await copy(config, repo, 'offsite', '--dry-run'))
  assert.deepEqual([dry.dry_run, dry.objects_copied, dry.facts_written], [true, 9n, false])
  const toS3 = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual([(toS3.backups_copied as any[]).length, toS3.wal_segments_copied, toS3.history_copied, toS3.facts_written], [1, 4n, true, true])
  const again = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual([again.objects_copied, again.backups_present, again.wal_segments_present], [0n, 1n, 4n], 'a second copy finds everything there by content')
  const verified = jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()}))
  assert.deepEqual([verified.ok, verified.objects_read], [true, 9n])

  const back = await scratch.dir('redrepl-repo-back-')
  const fromS3 = jsonOf(await copy(config, 'offsite', back))
  assert.equal(fromS3.objects_copied, 9n)
  const listed = jsonOf(await runCli(['repo', 'list', '--repo', back, '--cluster', 'db1', '--json']))
  assert.deepEqual([(listed.facts as any)?.segment_bytes ?? listed.segment_bytes], [1048576n], 'the facts came along')
  const restored = path.join(await scratch.dir('redrepl-restored-'), 'data.rdb')
  jsonOf(await runCli(['repo', 'restore', '--repo', back, '--cluster', 'db1', '--to', restored, '--rdb-version', '1', '--json']))
  assert.deepEqual(readFileSync(restored), original)
})

test('a corrupted object in the source is refused as it is read, named, exit 3, and not stored in the target', async () => {
  const {repo} = await pushedDir()
  const file = path.join(repo, WAL_KEY)
  const bytes = readFileSync(file)
  bytes[bytes.length >> 1] ^= 0xff
  writeFileSync(file, bytes)
  const config = await writeConfig(s3Section('offsite'))
  const run = await copy(config, repo, 'offsite')
  assert.equal(run.exitCode, 3, run.stderr)
  assert.match(run.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: checksum mismatch`))
  const target = await scratch.dir('redrepl-repo-')
  const toDir = await copy(config, repo, target)
  assert.equal(toDir.exitCode, 3)
  assert.equal(existsSync(path.join(target, WAL_KEY)), false, 'the damaged segment is not in the target')
  assert.equal(existsSync(path.join(target, 'db1/replica-set.facts')), false, 'nor facts that would speak for it')
})

test('copy into a repository holding another replica set under the namespace is refused before anything is copied', async () => {
  const {repo} = await pushedDir()
  const other = writeReplicaNode(await scratch.dir('redrepl-node-'), {segmentBytes: 4n * MiB, wal: {1: {0: 2, 1: 2, 2: 1}}, rdbFormat: 1, history: [initialEntry()]})
  const target = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', other, '--repo', target, '--cluster', 'db1', '--json']))
  const before = readdirSync(target, {recursive: true}).sort()
  const run = await copy(await writeConfig(''), repo, target)
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, /replica-set\.facts: the repository .* has WAL segments of 4194304 bytes .* has 1048576/)
  assert.deepEqual(readdirSync(target, {recursive: true}).sort(), before, 'nothing was written')
})

test('an object kind this redrepl does not know is refused, named, rather than copied as a guess', async () => {
  const {repo} = await pushedDir()
  mkdirSync(path.join(repo, 'db1', 'blobs'))
  writeFileSync(path.join(repo, 'db1', 'blobs', 'ab12'), 'newer storage shape')
  const target = await scratch.dir('redrepl-repo-')
  const run = await copy(await writeConfig(''), repo, target)
  assert.equal(run.exitCode, 4)
  assert.match(run.stderr, /db1\/blobs\/ab12: not an object this redrepl knows/)
  assert.deepEqual(readdirSync(target), [])
  assert.equal((await copy(await writeConfig(''), repo, target, '--dry-run')).exitCode, 4, 'a dry run refuses it too')
})

test('a corrupted object in an S3 source is refused naming it, exit 3, and the directory target does not get it', async () => {
  const {data} = await pushedDir()
  const section = s3Section('offsite')
  const prefix = /url = "s3:\/\/[^/]+\/([^"]+)"/.exec(section)![1]
  const config = await writeConfig(section)
  jsonOf(await runCli(['repo', 'push', '--config', config, '--repo-name', 'offsite', '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()}))
  const s3 = new S3Client({endpoint: s3rver.server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
  const object = await s3.send(new GetObjectCommand({Bucket: BUCKET, Key: `${prefix}/${WAL_KEY}`}))
  const bytes = Buffer.from(await object.Body!.transformToByteArray())
  bytes[bytes.length >> 1] ^= 0xff
  await s3.send(new PutObjectCommand({Bucket: BUCKET, Key: `${prefix}/${WAL_KEY}`, Body: bytes}))
  s3.destroy()
  const target = await scratch.dir('redrepl-repo-')
  const run = await copy(config, 'offsite', target)
  assert.equal(run.exitCode, 3, run.stderr)
  assert.match(run.stderr, new RegExp(`s3://${BUCKET}/${prefix}/${WAL_KEY.replaceAll('.', '\\.')}: checksum mismatch`))
  assert.equal(existsSync(path.join(target, WAL_KEY)), false)
})

/** Rewrites segment `index` of timeline 1 with `records` records: the live segment grown. */
function growSegment(dataPath: string, index: bigint, records: number, segmentBytes: bigint): void {
  const layout = Layout.fromDataPath(dataPath)
  let segment = emptyWalSegment(1n, index, segmentBytes)
  for (let k = 0n; k < BigInt(records); k++) segment = appendWalRecord(segment, index * segmentBytes + k, new TextEncoder().encode(`grown-${k}`), segmentBytes)
  writeFileSync(layout.walSegmentPath(1n, index), walSegmentCodec.encode(segment, {nowMs: NOW_MS}))
}

test('the live segment the target holds as pushed early gives way to the source\'s grown copy; a shorter one is refused', async () => {
  const data = writeReplicaNode(await scratch.dir('redrepl-node-'), {segmentBytes: MiB, wal: {1: {0: 2, 1: 2, 2: 1}}, rdbFormat: 1, history: [initialEntry()]})
  const early = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', early, '--cluster', 'db1', '--include-current', '--json']))
  growSegment(data, 2n, 3, MiB)
  const grown = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', grown, '--cluster', 'db1', '--include-current', '--json']))
  const key = 'db1/timeline-00000000000000000001/wal/00000000000000000002.redwal'
  const copied = jsonOf(await copy(await writeConfig(''), grown, early))
  assert.equal(copied.wal_segments_copied, 1n)
  assert.deepEqual(readFileSync(path.join(early, key)), readFileSync(path.join(grown, key)))
  assert.equal(jsonOf(await runCli(['repo', 'verify', '--repo', early, '--cluster', 'db1', '--json'])).ok, true)

  const shorter = await scratch.dir('redrepl-repo-')
  growSegment(data, 2n, 1, MiB)
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', shorter, '--cluster', 'db1', '--include-current', '--json']))
  const back = await copy(await writeConfig(''), shorter, grown)
  assert.equal(back.exitCode, 4, 'a shorter copy never replaces the grown one')
  assert.match(back.stderr, /00000000000000000002\.redwal: holds \d+ bytes, the source's \d+/)
})
