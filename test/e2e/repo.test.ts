import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'

import {basebackupChunkRelativePath} from '../../src/core/layout.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {primaryBasicKeys, primaryBasicPackSha256, useRepos, type TestRepo} from '../support/repository.js'
import {lacks, straceMissing, traceCli} from '../support/syscalls.js'
import {primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()
const BUCKET = 'redrepl-test'
const repos = useRepos(scratch, BUCKET)
const localRepo = () => repos.local({fileUrl: true})
const BACKENDS = repos.backends({s3: 'S3 (s3rver through the AWS SDK)', localOptions: {fileUrl: true}})

const CHUNK_KEY = new RepoKeys('db1').chunk(1n, basebackupChunkRelativePath(0n, 5242882n, 1))
/** The fixture's backup is stored as one piece (9004 bytes, under the smallest cut), in one pack named by the SHA-256 of the pack's bytes. */
const SNAPSHOT_SHA256 = primaryBasicPackSha256()
const PIECE_KEY = primaryBasicKeys().pack

const primary = () => primaryCopy(scratch)

const repoArgs = (repo: TestRepo, ...args: string[]) => [...args, ...repo.args()]

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: push, lose the whole node, restore from the repository alone: layout verify is clean and the database byte-identical`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    const originalDb = path.join(await scratch.dir(), 'original.rdb')
    jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', originalDb, '--json']))

    const pushed = jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
    assert.equal((pushed.backups_pushed as any[]).length, 1)
    assert.equal(pushed.wal_segments_pushed, 4n, 'segments 0-3; 5 is the live one')
    assert.equal(pushed.history_pushed, true)
    const again = jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
    assert.deepEqual([again.objects_uploaded, again.backups_present, again.history_pushed], [0n, 1n, false], 'a second run uploads nothing')
    const current = jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--include-current', '--json'), {env: repo.env}))
    assert.equal(current.wal_segments_pushed, 1n)

    rmSync(dir, {recursive: true})
    const fresh = await scratch.dir('redrepl-restored-')
    const restoredData = path.join(fresh, 'data.rdb')
    const restored = jsonOf(await runCli(repoArgs(repo, 'repo', 'restore', '--to', restoredData, '--rdb-version', '1', '--json'), {env: repo.env}))
    assert.equal(restored.checkpoint_lsn, 5242882n)
    const fetched = jsonOf(await runCli(repoArgs(repo, 'repo', 'fetch-wal', '--data-path', restoredData, '--from-lsn', '5242882', '--segment-bytes', '1MiB', '--json'), {env: repo.env}))
    assert.deepEqual([(fetched.fetched as any[]).map((s) => s.index), fetched.history_written], [[5n], true])
    const verify = jsonOf(await runCli(['layout', 'verify', '--data-path', restoredData, '--json']))
    assert.deepEqual([verify.ok, (verify.findings as any[]).filter((f) => !f.code.startsWith('rdb.version-1'))], [true, []])
    assert.deepEqual(readFileSync(restoredData), readFileSync(originalDb))

    const list = jsonOf(await runCli(repoArgs(repo, 'repo', 'list', '--segment-bytes', '1MiB', '--json'), {env: repo.env}))
    const [backup] = list.backups as any[]
    assert.deepEqual([backup.checkpoint_lsn, backup.complete, backup.wal_covered_from_checkpoint, backup.snapshot_bytes], [5242882n, true, true, 9004n])
    assert.deepEqual((list.wal as any[])[0].gaps, [{first_index: 4n, last_index: 4n}], 'the fixture has no segment 4, and list says so')
    const checked = jsonOf(await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env}))
    // The manifest, its piece index, its one piece, 5 WAL segments and the history.
    assert.deepEqual([checked.ok, checked.objects_read], [true, 9n])
  })

  test(`${kind}: a corrupted object makes verify and restore refuse, naming it`, async () => {
    const repo = await makeRepo()
    const {data} = await primary()
    jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
    await repo.corrupt(PIECE_KEY)
    const quick = await runCli(repoArgs(repo, 'repo', 'verify', '--quick', '--json'), {env: repo.env})
    assert.equal(quick.exitCode, 0, 'same size: --quick cannot see it, by design')
    const verify = await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env})
    assert.equal(verify.exitCode, 3)
    assert.deepEqual((documentOf(verify.stdout).findings as any[]).map((f) => [f.code, f.data.key, /content does not match its name/.test(f.message)]), [['repo.object-damaged', PIECE_KEY, true]])
    const target = path.join(await scratch.dir(), 'out.rdb')
    const restore = await runCli(repoArgs(repo, 'repo', 'restore', '--to', target, '--rdb-version', '1'), {env: repo.env})
    assert.equal(restore.exitCode, 3)
    assert.match(restore.stderr, new RegExp(`${SNAPSHOT_SHA256}\\.redpack: piece at offset 10 \\(9004 bytes\\) does not match its SHA-256`))
    assert.equal(restore.stderr.trim().split('\n').length, 1)
    assert.ok(!existsSync(target) && readdirSync(path.dirname(target)).length === 0, 'no destination, no temp file')
  })

  test(`${kind}: a chunk damaged on the node is never pushed: one line naming it, and no object of that backup is left`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    const chunk = path.join(dir, 'data.primary-replica', CHUNK_KEY.slice('db1/'.length))
    const bytes = readFileSync(chunk)
    bytes[bytes.length >> 1] ^= 0xff
    writeFileSync(chunk, bytes)
    const push = await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--jobs', '1'), {env: repo.env})
    assert.equal(push.exitCode, 3, push.stderr)
    assert.equal(push.stderr.trim().split('\n').length, 1)
    assert.ok(push.stderr.includes(`${chunk}: checksum mismatch`), push.stderr)
    const stored = await repo.stored()
    assert.ok(!stored.includes(CHUNK_KEY) && !stored.some((key) => key.endsWith('.redbase') || key.endsWith('.tmp')), stored.join('\n'))
  })

  test(`${kind}: a chunk file grown far past its manifest size is refused before a byte of it is copied`, async () => {
    const repo = await makeRepo()
    const {dir, data} = await primary()
    const chunk = path.join(dir, 'data.primary-replica', CHUNK_KEY.slice('db1/'.length))
    const size = statSync(chunk).size
    truncateSync(chunk, 1 << 30)
    const push = await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--jobs', '1'), {env: repo.env})
    assert.equal(push.exitCode, 3, push.stderr)
    assert.equal(push.stderr.trim().split('\n').length, 1)
    assert.ok(push.stderr.includes(`${chunk}: holds ${1 << 30} bytes, expected ${size}`), push.stderr)
    const stored = await repo.stored()
    assert.ok(!stored.includes(CHUNK_KEY) && !stored.some((key) => key.endsWith('.redbase') || key.endsWith('.tmp')), stored.join('\n'))
  })

  test(`${kind}: expire is a dry run until --confirm and never leaves a kept backup without the WAL from its checkpoint`, async () => {
    const repo = await makeRepo()
    const {data} = await primary()
    for (const checkpoint of ['5242890', '5242900']) {
      const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(5000, Number(checkpoint) % 250)])
      jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', checkpoint, '--chunk-size', '4KiB', '--json'], {input: snapshot}))
    }
    jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--include-current', '--json'), {env: repo.env}))
    const dry = jsonOf(await runCli(repoArgs(repo, 'repo', 'expire', '--keep-last', '2', '--segment-bytes', '1MiB', '--json'), {env: repo.env}))
    assert.equal(dry.dry_run, true)
    assert.deepEqual((dry.backups as any[]).map((b) => [b.checkpoint_lsn, b.action]), [[5242882n, 'delete'], [5242890n, 'keep'], [5242900n, 'keep']])
    assert.deepEqual((dry.wal_delete as any[]).map((w) => w.index), [0n, 1n, 2n, 3n])
    assert.equal((jsonOf(await runCli(repoArgs(repo, 'repo', 'list', '--json'), {env: repo.env})).backups as any[]).length, 3, 'a dry run deletes nothing')
    const done = jsonOf(await runCli(repoArgs(repo, 'repo', 'expire', '--keep-last', '2', '--segment-bytes', '1MiB', '--confirm', '--json'), {env: repo.env}))
    assert.equal(done.objects_deleted, 1n + 1n + 4n, 'a manifest, its piece index, 4 WAL segments')
    assert.equal(done.orphans_young, 1n, 'its one piece, written just now, waits for the grace period')
    const list = jsonOf(await runCli(repoArgs(repo, 'repo', 'list', '--segment-bytes', '1MiB', '--json'), {env: repo.env}))
    assert.deepEqual((list.backups as any[]).map((b) => [b.checkpoint_lsn, b.complete, b.wal_covered_from_checkpoint]), [[5242890n, true, true], [5242900n, true, true]])
    assert.equal((jsonOf(await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env}))).ok, true)
  })
}

test('S3: a server killed mid-push leaves no partial backup listed; the next run completes it', async () => {
  const repo = await repos.s3()
  const {dir, data} = await primary()
  // 40 MiB of random bytes, three packs (16, 16 and 8 MiB of pieces): long enough to be cut mid-way, after the first pack.
  const snapshot = Buffer.concat([Buffer.from('RDST'), randomBytes(40 * 1024 * 1024 - 4)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '5242895', '--chunk-size', '256KiB', '--json'], {input: snapshot}))
  const push = runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--jobs', '2', '--json'), {env: repo.env})
  // A pack of this backup counts once the store lists it (a file of the server's growing on disk may still be an
  // upload in flight); the fixture's own backup, pushed first, has a pack of its own.
  const packs = async () => (await repo.keys()).filter((key) => key.endsWith('.redpack') && key !== PIECE_KEY).length
  for (let i = 0; i < 1200 && (await packs()) < 1; i++) await sleep(50)
  assert.ok((await packs()) >= 1, 'the push got under way: a full pack is stored')
  await repos.server.kill()
  const cut = await push
  assert.equal(cut.exitCode, 1, cut.stderr)
  assert.match(cut.stderr, /cannot reach the store|upload failed|download failed/)
  await repos.server.start()
  const between = jsonOf(await runCli(repoArgs(repo, 'repo', 'list', '--json'), {env: repo.env}))
  assert.ok((between.backups as any[]).every((b) => b.checkpoint_lsn !== 5242895n), 'the cut backup is not listed')
  const resumed = jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
  const big = (resumed.backups_pushed as any[]).find((b) => b.checkpoint_lsn === 5242895n)
  assert.ok(big && big.pieces_uploaded < big.pieces, `resumed, not restarted (${big?.pieces_uploaded} of ${big?.pieces} pieces uploaded)`)
  assert.equal(jsonOf(await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env})).ok, true)
  const original = path.join(dir, 'original.rdb')
  const restored = path.join(dir, 'restored.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '5242895', '--to', original, '--json']))
  jsonOf(await runCli(repoArgs(repo, 'repo', 'restore', '--checkpoint-lsn', '5242895', '--to', restored, '--rdb-version', '1', '--json'), {env: repo.env}))
  assert.deepEqual(readFileSync(restored), readFileSync(original))
})

test('S3: wrong credentials and a missing bucket are one-line errors with their own exit codes', async () => {
  const {data} = await primary()
  const wrong = await runCli(['repo', 'push', '--data-path', data, '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: repos.server.env({AWS_ACCESS_KEY_ID: 'NOT-A-KEY'})})
  assert.equal(wrong.exitCode, 4)
  // The first request is the read of the repository's config object (encryption at rest), then the listing.
  assert.match(wrong.stderr, /^redrepl: s3:\/\/redrepl-test\/x\/(redrepl\.repository|db1\/): the store refuses the credentials \(InvalidAccessKeyId\)/)
  assert.equal(wrong.stderr.trim().split('\n').length, 1)
  const missing = await runCli(['repo', 'list', '--repo', 's3://no-such-bucket/x', '--node', 'db1'], {env: repos.server.env()})
  assert.equal(missing.exitCode, 6)
  assert.match(missing.stderr, /no-such-bucket.*: no such bucket/)
  assert.equal(missing.stderr.trim().split('\n').length, 1)
  const unreachable = await runCli(['repo', 'list', '--repo', `s3://${BUCKET}/x`, '--node', 'db1'], {env: repos.server.env({REDREPL_S3_ENDPOINT: 'http://127.0.0.1:9'})})
  assert.equal(unreachable.exitCode, 1)
  assert.match(unreachable.stderr, /cannot reach the store/)
  const noRepo = await runCli(['repo', 'list', '--node', 'db1'])
  assert.equal(noRepo.exitCode, 2)
  const badNode = await runCli(['repo', 'list', '--repo', '/tmp', '--node', '../x'])
  assert.equal(badNode.exitCode, 2)
})

test('local directory: push copies each file inside the kernel, not through the process', async (t) => {
  if (lacks(t, straceMissing())) return
  const repo = await localRepo()
  const {dir, data} = await primary()
  const run = traceCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {calls: ['copy_file_range', 'sendfile'], traceFile: path.join(dir, 'push.trace')})
  assert.equal(run.status, 0, run.stderr)
  const pushed = documentOf(run.stdout)
  const files = pushed.wal_segments_pushed + (pushed.backups_pushed as any[]).reduce((sum, b) => sum + b.chunks_uploaded, 0n)
  const copies = run.lines.filter((line) => /^\d+ +(copy_file_range|sendfile)\(/.test(line)).length
  assert.ok(files > 0n && copies >= Number(files), `${copies} in-kernel copies for ${files} files`)
})

test('local directory: a sealed, compressed or paced repository never takes the kernel copy: its bytes pass through the process', async (t) => {
  if (lacks(t, straceMissing())) return
  const secrets = await scratch.dir('redrepl-secrets-')
  const pass = path.join(secrets, 'p.pass')
  writeFileSync(pass, 'a passphrase for the test\n', {mode: 0o600})
  const stacks: Array<[string, string[], (repo: TestRepo) => Promise<void>]> = [
    ['sealed', ['--passphrase-file', pass], async (repo) => void jsonOf(await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase', '--passphrase-file', pass, '--scrypt-cost', '15', '--json']))],
    ['zstd', ['--compress', 'zstd'], async () => {}],
    ['paced', ['--max-rate', '64M'], async () => {}],
  ]
  for (const [name, flags, init] of stacks) {
    const repo = await repos.local()
    await init(repo)
    const {dir, data} = await primary()
    const run = traceCli([...repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), ...flags], {calls: ['copy_file_range', 'sendfile'], traceFile: path.join(dir, 'push.trace')})
    assert.equal(run.status, 0, `${name}: ${run.stderr}`)
    const pushed = documentOf(run.stdout) as {wal_segments_pushed: bigint}
    assert.ok(pushed.wal_segments_pushed > 0n, name)
    const copies = run.lines.filter((line) => /^\d+ +(copy_file_range|sendfile)\(/.test(line)).length
    assert.equal(copies, 0, `${name}: ${copies} in-kernel copies`)
  }
})

test('local directory: each piece is synced before its name, their directory before the piece index takes its name, the index before the manifest', async (t) => {
  if (lacks(t, straceMissing())) return
  const repo = await localRepo()
  const {dir, data} = await primary()
  const run = traceCli(repoArgs(repo, 'repo', 'push', '--data-path', data), {calls: ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2'], traceFile: path.join(dir, 'push.trace'), paths: true})
  assert.equal(run.status, 0, run.stderr)
  // A call another thread interrupts is split in two; its first half names the files, in call order.
  const lines = run.lines
  const renames = lines.flatMap((line, at) => {
    const match = /rename\w*\((?:[^,]*, )?"([^"]+)", (?:[^,]*, )?"([^"]+)"/.exec(line)
    return match ? [{at, from: match[1], to: match[2]}] : []
  })
  // A repository write names its directory by descriptor (/proc/self/fd/N/…); the temp's random name alone finds its sync.
  const syncLine = (file: string) => lines.findIndex((line) => /^\d+ +f(data)?sync\(\d+</.test(line) && line.includes(`/${path.basename(file)}>`))
  const pieces = renames.filter((r) => r.to.endsWith('.redpack'))
  const index = renames.find((r) => r.to.endsWith('.redbase.pieces'))!
  const manifest = renames.find((r) => r.to.endsWith('.redbase'))!
  assert.ok(pieces.length >= 1 && index && manifest, renames.map((r) => r.to).join('\n'))
  for (const piece of pieces) {
    const at = syncLine(piece.from)
    assert.ok(at >= 0 && at < piece.at, `${piece.to}: its content is synced before it takes its name`)
  }
  const pieceDir = path.dirname(/<([^>]+)>/.exec(lines[syncLine(pieces[0].from)])![1])
  const dirSyncs = lines.flatMap((line, at) => (line.includes(`<${pieceDir}>`) && /f(data)?sync\(/.test(line) ? [at] : []))
  assert.equal(dirSyncs.length, 1, 'one sync of the piece\'s directory')
  assert.ok(pieces.every((piece) => piece.at < dirSyncs[0]) && dirSyncs[0] < index.at && index.at < manifest.at, 'every piece name is durable before the index takes its name, and the index comes before the manifest')
})

test('local directory: a push killed at any step lists no partial backup, and the next run completes it', async () => {
  const points = ['repo-local-put:after-temp-write', 'repo-local-put:after-temp-fsync', 'repo-local-put:after-rename', 'repo-push:before-index', 'repo-push:before-manifest']
  for (const point of points) {
    const repo = await localRepo()
    const {data} = await primary()
    const killed = await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: {REDREPL_CRASH_AT: point}})
    assert.equal(killed.exitCode, -1, `${point}: killed`)
    assert.deepEqual(jsonOf(await runCli(repoArgs(repo, 'repo', 'list', '--json'))).backups, [], `${point}: nothing listed`)
    const resumed = jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json')))
    assert.equal((resumed.backups_pushed as any[]).length, 1, point)
    const verified = jsonOf(await runCli(repoArgs(repo, 'repo', 'verify', '--json')))
    assert.equal(verified.ok, true, point)
  }
})

test('local directory: a link planted in place of a piece is never followed by restore, even to the right bytes', async () => {
  const repo = await localRepo()
  const {dir, data} = await primary()
  jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
  const object = repo.file(PIECE_KEY)
  // The link points at a copy of the same bytes outside the repository: they would check out.
  const original = path.join(dir, 'piece-copy')
  writeFileSync(original, readFileSync(object))
  rmSync(object)
  symlinkSync(original, object)
  const target = path.join(await scratch.dir(), 'out.rdb')
  const restore = await runCli(repoArgs(repo, 'repo', 'restore', '--to', target, '--rdb-version', '1'))
  assert.equal(restore.exitCode, 4, restore.stderr)
  assert.match(restore.stderr, /\.redpack: is a symbolic link; links are not followed inside the repository/)
  assert.equal(restore.stderr.trim().split('\n').length, 1)
  assert.ok(!existsSync(target))
})
