import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {Layout} from '../../src/core/layout.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {filesIn} from '../support/tree.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS, repoRoot} from '../support/fixtures.js'
import {documentOf, jsonOf} from '../support/node.js'
import {layoutIn} from '../support/layout-node.js'
import {initialEntry, writeReplicaNode} from '../support/repo-node.js'
import {primaryBasicKeys, s3Repo, useRepos} from '../support/repository.js'
import {MiB} from '../support/wal-node.js'

/** repo copy between a directory and S3, both ways: checked, resumable, refusing what push refuses. */

const scratch = useScratch()
const BUCKET = 'redrepl-copy'
const repos = useRepos(scratch, BUCKET, 'c')

/** Credentials for the test S3 server; each [repo.NAME] section names its endpoint. */
const s3Env = () => repos.s3CredentialsEnv()

const s3Section = (name: string) => `[repo.${name}]\nurl = "${repos.s3Url()}"\ns3-endpoint = "${repos.server.endpoint}"\ns3-force-path-style = true\ntimeout = "30s"\n`

async function writeConfig(text: string): Promise<string> {
  const file = path.join(await scratch.dir('redrepl-conf-'), 'redrepl.conf')
  writeFileSync(file, text, {mode: 0o600})
  return file
}

const KEYS = new RepoKeys('db1')
const WAL_KEY = KEYS.wal(1n, 2n)

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

const prefixOf = (section: string) => /url = "s3:\/\/[^/]+\/([^"]+)"/.exec(section)![1]
/** The S3 repository under `prefix`, to read and change behind redrepl's back. */
const inS3 = (prefix: string) => s3Repo(repos.server, BUCKET, prefix)
/** Every key under an S3 repository's prefix, relative to it. */
const s3Keys = async (prefix: string) => (await inS3(prefix).keys()).sort()

/** Every file under a directory repository, relative to it. */
const dirKeys = (repo: string) => filesIn(repo)
/** The objects pieces are stored in: packs. */
const pieceKeys = (keys: string[]) => keys.filter((key) => key.endsWith('.redpack'))

const copy = (config: string, from: string, to: string, ...more: string[]) => runCli(['repo', 'copy', '--config', config, '--from', from, '--to', to, '--cluster', 'db1', '--json', ...more], {env: s3Env()})

test('copy a directory repository to S3 and back to a new directory: each verifies, and a restore from the last is byte-identical', async () => {
  const {repo, original} = await pushedDir()
  const section = s3Section('offsite')
  const config = await writeConfig(section)
  const dry = jsonOf(await copy(config, repo, 'offsite', '--dry-run'))
  // As the current push stores it: the manifest, its piece index, one pack, 4 WAL segments and the history.
  assert.deepEqual([dry.dry_run, dry.objects_copied, dry.facts_written], [true, 8n, false])
  const toS3 = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual([(toS3.backups_copied as any[]).length, toS3.wal_segments_copied, toS3.history_copied, toS3.facts_written], [1, 4n, true, true])
  assert.deepEqual((toS3.backups_copied as any[]).map((b) => [b.chunks_copied, b.pieces, b.pieces_copied]), [[0n, 1n, 1n]])
  assert.deepEqual(await s3Keys(prefixOf(section)), dirKeys(repo).filter((key) => key !== 'db1/push-status.facts'), 'B holds A\'s objects under A\'s names')
  const again = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual([again.objects_copied, again.backups_present, again.wal_segments_present], [0n, 1n, 4n], 'a second copy finds everything there by content')
  const verified = jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()}))
  assert.deepEqual([verified.ok, verified.objects_read], [true, 8n])

  const back = await scratch.dir('redrepl-repo-back-')
  const fromS3 = jsonOf(await copy(config, 'offsite', back))
  assert.equal(fromS3.objects_copied, 8n)
  assert.equal(pieceKeys(dirKeys(back)).length, 1)
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

  // Under packs/ only a pack's own name is known: anything else there is refused too.
  rmSync(path.join(repo, 'db1', 'blobs'), {recursive: true})
  const [piece] = pieceKeys(dirKeys(repo))
  const fanout = path.dirname(path.join(repo, piece))
  writeFileSync(path.join(fanout, 'notes.txt'), 'not a piece')
  const misplaced = await copy(await writeConfig(''), repo, target)
  assert.equal(misplaced.exitCode, 4)
  assert.match(misplaced.stderr, /db1\/packs\/[0-9a-f]{2}\/notes\.txt: not an object this redrepl knows/)
  rmSync(path.join(fanout, 'notes.txt'))
  // A pack no index names (a push cut short) is known, and left behind.
  const orphan = `db1/packs/00/00${'0'.repeat(62)}.redpack`
  mkdirSync(path.join(repo, 'db1', 'packs', '00'))
  writeFileSync(path.join(repo, orphan), 'orphan')
  const copied = jsonOf(await copy(await writeConfig(''), repo, target))
  assert.deepEqual((copied.skipped as any[]).filter((s) => s.key === orphan).length, 1)
  assert.deepEqual(pieceKeys(dirKeys(target)), [piece])
})

test('a corrupted object in an S3 source is refused naming it, exit 3, and the directory target does not get it', async () => {
  const {data} = await pushedDir()
  const section = s3Section('offsite')
  const prefix = /url = "s3:\/\/[^/]+\/([^"]+)"/.exec(section)![1]
  const config = await writeConfig(section)
  jsonOf(await runCli(['repo', 'push', '--config', config, '--repo-name', 'offsite', '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()}))
  await inS3(prefix).corrupt(WAL_KEY)
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
  const key = KEYS.wal(1n, 2n)
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

/** Flips one byte in the middle of a stored object: same size, other content. */
function flipped(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes)
  out[out.length >> 1] ^= 0xff
  return out
}

async function s3Object(prefix: string, key: string, bytes?: Buffer): Promise<Buffer> {
  if (bytes !== undefined) await inS3(prefix).write(key, bytes)
  return inS3(prefix).read(key)
}

const MANIFEST_KEY = primaryBasicKeys().manifest

test('a piece flipped in the source is refused naming it, exit 3, and neither it nor its backup reaches the target (directory → S3, S3 → directory)', async () => {
  const {repo, data} = await pushedDir()
  const [piece] = pieceKeys(dirKeys(repo))
  const good = readFileSync(path.join(repo, piece))
  writeFileSync(path.join(repo, piece), flipped(good))
  const section = s3Section('offsite')
  const config = await writeConfig(section)
  const toS3 = await copy(config, repo, 'offsite')
  assert.equal(toS3.exitCode, 3, toS3.stderr)
  assert.match(toS3.stderr, new RegExp(`${path.join(repo, piece).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: content does not match its name`))
  const inS3 = await s3Keys(prefixOf(section))
  assert.deepEqual([pieceKeys(inS3), inS3.includes(MANIFEST_KEY), inS3.includes(`${MANIFEST_KEY}.pieces`)], [[], false, false])

  const other = s3Section('source')
  const otherConfig = await writeConfig(other)
  jsonOf(await runCli(['repo', 'push', '--config', otherConfig, '--repo-name', 'source', '--data-path', data, '--cluster', 'db1', '--json'], {env: s3Env()}))
  await s3Object(prefixOf(other), piece, flipped(await s3Object(prefixOf(other), piece)))
  const target = await scratch.dir('redrepl-repo-')
  const toDir = await copy(otherConfig, 'source', target)
  assert.equal(toDir.exitCode, 3, toDir.stderr)
  assert.match(toDir.stderr, new RegExp(`s3://${BUCKET}/${prefixOf(other)}/${piece.replaceAll('.', '\\.')}: content does not match its name`))
  assert.deepEqual([pieceKeys(dirKeys(target)), existsSync(path.join(target, MANIFEST_KEY))], [[], false])
})

test('a piece the source\'s index names and its listing lacks refuses the copy before anything is written, naming it, exit 3', async () => {
  const {repo} = await pushedDir()
  const [piece] = pieceKeys(dirKeys(repo))
  rmSync(path.join(repo, piece))
  const target = await scratch.dir('redrepl-repo-')
  const run = await copy(await writeConfig(''), repo, target)
  assert.equal(run.exitCode, 3, run.stderr)
  assert.match(run.stderr, new RegExp(`${path.join(repo, piece).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: pack of piece 0 of .*\\.redbase\\.pieces is missing`))
  assert.deepEqual(dirKeys(target), [], 'nothing was written')
})

test('a piece the target already holds whole is not copied again; one held there with other bytes under its address is stored again (S3 target)', async () => {
  const {repo, original} = await pushedDir()
  const section = s3Section('offsite')
  const prefix = prefixOf(section)
  const config = await writeConfig(section)
  jsonOf(await copy(config, repo, 'offsite'))
  const [piece] = pieceKeys(dirKeys(repo))
  const remove = (key: string) => inS3(prefix).remove(key)
  // A copy cut short after the pieces and the index: only the manifest is missing.
  await remove(MANIFEST_KEY)
  const resumed = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual([resumed.objects_copied, (resumed.backups_copied as any[])[0].pieces_copied], [1n, 0n], 'only the manifest was copied')

  await remove(MANIFEST_KEY)
  await s3Object(prefix, piece, flipped(readFileSync(path.join(repo, piece))))
  const repaired = jsonOf(await copy(config, repo, 'offsite'))
  assert.equal((repaired.backups_copied as any[])[0].pieces_copied, 1n, 'a name is an address: other bytes under it are damage, stored again')
  assert.deepEqual(await s3Object(prefix, piece), readFileSync(path.join(repo, piece)))
  const verified = jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()}))
  assert.equal(verified.ok, true)
  const back = await scratch.dir('redrepl-repo-back-')
  jsonOf(await copy(config, 'offsite', back))
  const restored = path.join(await scratch.dir('redrepl-restored-'), 'data.rdb')
  jsonOf(await runCli(['repo', 'restore', '--repo', back, '--cluster', 'db1', '--to', restored, '--rdb-version', '1', '--json']))
  assert.deepEqual(readFileSync(restored), original)
})

test('a backup an older redrepl stored as whole chunks and one stored as pieces are copied together, directory → S3 → directory, and each restores byte-identical', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const repo = await scratch.dir('redrepl-repo-')
  // The older push's objects: the manifest and its chunks under the layout's own names.
  cpSync(layoutIn(dir).basebackupDir(1n), path.join(repo, KEYS.basebackupPrefix(1n)), {recursive: true})
  const snapshot = Buffer.concat([Buffer.from('RDST'), randomBytes(2 * 1024 * 1024 - 4)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '5242890', '--chunk-size', '1MiB', '--json'], {input: snapshot}))
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--cluster', 'db1', '--json']))
  const chunks = dirKeys(repo).filter((key) => key.endsWith('.redchunk'))
  assert.ok(chunks.length > 0 && pieceKeys(dirKeys(repo)).length > 0, 'the source holds both shapes')

  const config = await writeConfig(s3Section('offsite'))
  const toS3 = jsonOf(await copy(config, repo, 'offsite'))
  assert.deepEqual((toS3.backups_copied as any[]).map((b) => [b.checkpoint_lsn, b.chunks_copied > 0n, b.pieces > 0n]), [[5242882n, true, false], [5242890n, false, true]])
  assert.equal(jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()})).ok, true)
  const back = await scratch.dir('redrepl-repo-back-')
  jsonOf(await copy(config, 'offsite', back))
  assert.deepEqual(dirKeys(back).filter((key) => key.endsWith('.redchunk')), chunks)
  for (const checkpoint of ['5242882', '5242890']) {
    const restored = path.join(await scratch.dir('redrepl-restored-'), 'data.rdb')
    jsonOf(await runCli(['repo', 'restore', '--repo', back, '--cluster', 'db1', '--checkpoint-lsn', checkpoint, '--to', restored, '--rdb-version', '1', '--json']))
    const local = path.join(await scratch.dir('redrepl-local-'), 'data.rdb')
    jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', checkpoint, '--to', local, '--rdb-version', '1', '--json']))
    assert.deepEqual(readFileSync(restored), readFileSync(local), `backup ${checkpoint} restores as the node's own`)
  }
})

test('pieces two backups share are copied once in one run; the second backup copies only its own', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const first = Buffer.concat([Buffer.from('RDST'), randomBytes(3 * 1024 * 1024 - 4)])
  // The same bytes but for the last 64: the pieces before the last cut are the first backup's.
  const second = Buffer.concat([first.subarray(0, first.length - 64), randomBytes(64)])
  for (const [checkpoint, snapshot] of [['5242890', first], ['5242900', second]] as const) {
    jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', checkpoint, '--chunk-size', '1MiB', '--json'], {input: snapshot}))
  }
  const repo = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--cluster', 'db1', '--json']))
  const section = s3Section('offsite')
  const config = await writeConfig(section)
  const copied = jsonOf(await copy(config, repo, 'offsite'))
  const rows = (copied.backups_copied as any[]).filter((b) => b.checkpoint_lsn >= 5242890n).map((b) => [b.pieces, b.pieces_copied])
  assert.equal(rows.length, 2)
  // pieces_copied counts the packs stored: the first backup's one pack, then the second's own pack of its last piece.
  assert.ok(rows[0][0] >= 2n && rows[0][1] === 1n, `the first backup's pack is copied: ${rows[0]}`)
  assert.ok(rows[1][0] >= 2n && rows[1][1] === 1n, `the second copies only its own pack, not the first's again: ${rows[1]}`)
  assert.equal(pieceKeys(dirKeys(repo)).length, 3, 'the fixture backup\'s pack and one per backup')
  assert.deepEqual(pieceKeys(await s3Keys(prefixOf(section))).sort(), pieceKeys(dirKeys(repo)).sort(), 'each pack stored once')
  assert.equal(jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()})).ok, true)
})

test('the peak RSS of a copy of a 256 MiB backup stored as pieces stays bounded (directory → directory)', async (t) => {
  if (spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status !== 0) return t.skip('GNU time is not installed')
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const snapshotBytes = 256 * 1024 * 1024
  // Fed through a pipe, so this test's own memory stays small.
  const created = spawnSync('sh', ['-c', `head -c ${snapshotBytes - 4} /dev/urandom | (printf RDST; cat) | "${process.execPath}" "${path.join(repoRoot, 'bin', 'run.js')}" basebackup create --data-path "${data}" --snapshot - --snapshot-bytes ${snapshotBytes} --checkpoint-lsn 5242890 --json`], {encoding: 'utf8', maxBuffer: 1 << 20})
  assert.equal(created.status, 0, created.stderr)
  const repo = await scratch.dir('redrepl-repo-')
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--cluster', 'db1', '--json']))
  const target = await scratch.dir('redrepl-repo-')
  const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(repoRoot, 'bin', 'run.js'), 'repo', 'copy', '--from', repo, '--to', target, '--cluster', 'db1', '--json'], {encoding: 'utf8', maxBuffer: 1 << 24, env: {...process.env, NO_COLOR: '1'}})
  assert.equal(run.status, 0, run.stderr)
  const peakKiB = Number(run.stderr.trim().split('\n').at(-1))
  t.diagnostic(`copy of a 256 MiB backup as pieces: peak RSS ${(peakKiB / 1024).toFixed(1)} MiB`)
  assert.ok((documentOf(run.stdout).copied_bytes as bigint) >= BigInt(snapshotBytes))
  // Push's bound: memory follows the transfers in flight, not the backup's size.
  assert.ok(peakKiB > 0 && peakKiB < 300 * 1024, `peak RSS ${peakKiB} KiB`)
})

test('an encrypted repository copied to a plain one on S3 and back into another encrypted one, each side opened with its own section\'s key: verified, no plaintext in the encrypted target, restored byte-identical', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const original = path.join(await scratch.dir(), 'original.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', original, '--json']))
  const keys = await scratch.dir('redrepl-keys-')
  const passA = path.join(keys, 'a.pass')
  const passB = path.join(keys, 'b.pass')
  writeFileSync(passA, 'first vault passphrase\n', {mode: 0o600})
  writeFileSync(passB, 'second vault passphrase\n', {mode: 0o600})
  const vault = path.join(await scratch.dir('redrepl-repo-'), 'vault')
  const vault2 = path.join(await scratch.dir('redrepl-repo-'), 'vault2')
  for (const [repo, pass] of [[vault, passA], [vault2, passB]]) jsonOf(await runCli(['repo', 'init', '--repo', repo, '--encrypt', 'passphrase', '--passphrase-file', pass, '--json']))
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', vault, '--passphrase-file', passA, '--cluster', 'db1', '--json']))
  const section = s3Section('offsite')
  const config = await writeConfig(`${section}[repo.vault]\nurl = "${vault}"\npassphrase-file = "${passA}"\n[repo.vault2]\nurl = "${vault2}"\npassphrase-file = "${passB}"\n`)

  const typed = await copy(config, 'vault', 'offsite', '--passphrase-file', passA)
  assert.equal(typed.exitCode, 2, 'a key typed on the command line would be given to both sides')
  const out = jsonOf(await copy(config, 'vault', 'offsite'))
  assert.deepEqual((out.backups_copied as any[]).map((b) => [b.pieces, b.pieces_copied]), [[1n, 1n]])
  assert.equal(jsonOf(await runCli(['repo', 'verify', '--config', config, '--repo-name', 'offsite', '--cluster', 'db1', '--json'], {env: s3Env()})).ok, true)
  const [piece] = pieceKeys(await s3Keys(prefixOf(section)))
  const plain = await s3Object(prefixOf(section), piece)

  jsonOf(await copy(config, 'offsite', 'vault2'))
  assert.equal(jsonOf(await runCli(['repo', 'verify', '--repo', vault2, '--passphrase-file', passB, '--cluster', 'db1', '--json'])).ok, true)
  const sealed = readFileSync(path.join(vault2, piece))
  assert.equal(sealed.includes(plain.subarray(0, 64)), false, 'the piece is sealed in the encrypted target')
  const restored = path.join(await scratch.dir('redrepl-restored-'), 'data.rdb')
  jsonOf(await runCli(['repo', 'restore', '--repo', vault2, '--passphrase-file', passB, '--cluster', 'db1', '--to', restored, '--rdb-version', '1', '--json']))
  assert.deepEqual(readFileSync(restored), readFileSync(original))
})
