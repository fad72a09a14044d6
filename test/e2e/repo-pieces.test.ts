import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {cp, mkdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'

import {decodePieceIndex, encodePieceIndex, type PieceIndex} from '../../src/core/format/piece-index.js'
import {Layout} from '../../src/core/layout.js'
import {pushToRepository} from '../../src/core/ops/repo/push.js'
import type {RepoBackend} from '../../src/core/repo/backend.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {openRepository} from '../../src/core/repo/open.js'
import {runCli, useScratch} from '../support/cli.js'
import {repoRoot} from '../support/fixtures.js'
import {layoutIn} from '../support/layout-node.js'
import {documentOf, jsonOf} from '../support/node.js'
import {useRepos} from '../support/repository.js'

/**
 * Base backups stored as content-addressed pieces (docs/repository.md
 * "Pieces"), on both stores: what a second push stores, what expire keeps,
 * what verify and list say of a damaged or missing piece, and that a push
 * in progress keeps its pieces through an expire.
 */

const scratch = useScratch()
const BUCKET = 'redrepl-pieces'
const repos = useRepos(scratch, BUCKET)
const MiB = 1024 * 1024
const HOUR_MS = 60 * 60 * 1000

/** A directory repository the first push makes. */
const localStore = () => repos.local({absent: true, prefix: 'redrepl-pieces-'})
const STORES = repos.backends({s3: 'S3 (s3rver)', localOptions: {absent: true, prefix: 'redrepl-pieces-'}})

/** A snapshot RedDB would open: RDST, then random bytes (nothing in it repeats, so every saving is a shared piece). */
const snapshotOf = (bytes: number) => Buffer.concat([Buffer.from('RDST'), randomBytes(bytes - 4)])

async function node() {
  const dir = await scratch.layout('primary-basic')
  return {dir, data: path.join(dir, 'data.rdb')}
}

async function createBackup(data: string, checkpoint: number, snapshot: Buffer): Promise<void> {
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', '1MiB', '--json'], {input: snapshot}))
}

/** The objects that hold pieces: packs (and pieces stored alone by the release before packs). */
const pieceKeys = (keys: string[]) => keys.filter((key) => key.endsWith('.redpack') || key.endsWith('.redpiece')).sort()
/** The objects an index names: each piece's pack. */
const namedBy = (index: PieceIndex) => new Set(index.pieces.map((ref) => (ref.pack ? `set1/packs/${ref.pack.sha256.slice(0, 2)}/${ref.pack.sha256}.redpack` : `set1/pieces/${ref.sha256.slice(0, 2)}/${ref.sha256}.redpiece`)))

for (const [kind, open] of STORES) {
  test(`${kind}: a second push stores only the pieces that changed; list shows what each backup added; each restores byte-identical`, async () => {
    const store = await open()
    const {dir, data} = await node()
    const repo = (...args: string[]) => runCli([...args, '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env})
    const first = snapshotOf(16 * MiB)
    await createBackup(data, 5242890, first)
    const pushed = jsonOf(await repo('repo', 'push', '--data-path', data))
    const firstBackup = (pushed.backups_pushed as any[]).find((b) => b.checkpoint_lsn === 5242890n)
    assert.ok(firstBackup.pieces >= 8 && firstBackup.pieces_uploaded === firstBackup.pieces, `16 MiB of random bytes: ${firstBackup.pieces} pieces, all new`)

    // 64 KiB overwritten in the middle: the pieces around it change, no other.
    const second = Buffer.from(first)
    randomBytes(64 * 1024).copy(second, 8 * MiB)
    await createBackup(data, 5242900, second)
    const again = jsonOf(await repo('repo', 'push', '--data-path', data))
    const secondBackup = (again.backups_pushed as any[]).find((b) => b.checkpoint_lsn === 5242900n)
    // The pieces the 64 KiB touches (8 KiB at least each) and the one whose cut it moves: a handful, in one pack.
    assert.ok(secondBackup.pieces_uploaded <= 12 && secondBackup.pieces_uploaded >= 1, `${secondBackup.pieces_uploaded} of ${secondBackup.pieces} pieces uploaded`)
    // Those pieces (32 KiB on average, 128 KiB at most), their pack, the index (some 20 KiB) and the manifest.
    assert.ok((again.uploaded_bytes as bigint) < BigInt(2 * MiB), `the second push stored ${again.uploaded_bytes} bytes of a 16 MiB snapshot`)

    const list = jsonOf(await repo('repo', 'list'))
    const rows = new Map((list.backups as any[]).map((b) => [b.checkpoint_lsn, b]))
    assert.deepEqual([rows.get(5242890n).storage, rows.get(5242890n).added_bytes, rows.get(5242890n).snapshot_bytes], ['pieces', BigInt(first.length), BigInt(first.length)])
    assert.ok(rows.get(5242900n).added_bytes > 0n && rows.get(5242900n).added_bytes < BigInt(2 * MiB), `added ${rows.get(5242900n).added_bytes}`)
    assert.ok([...rows.values()].every((b) => b.complete))

    for (const [checkpoint, bytes] of [[5242890, first], [5242900, second]] as const) {
      const out = path.join(dir, `restored-${checkpoint}.snapshot`)
      jsonOf(await repo('repo', 'restore', '--checkpoint-lsn', String(checkpoint), '--to', out, '--rdb-version', '1'))
      const local = path.join(dir, `local-${checkpoint}.rdb`)
      jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', String(checkpoint), '--to', local, '--rdb-version', '1', '--json']))
      assert.ok((await readFile(out)).equals(await readFile(local)), `backup ${checkpoint}: the restore is the node's own materialize, byte for byte`)
      assert.ok((await readFile(out)).includes(bytes.subarray(4 * MiB, 4 * MiB + 4096)))
    }
    assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
  })

  test(`${kind}: pieces are shared across the nodes of one namespace and across timelines`, async () => {
    const store = await open()
    const a = await node()
    const repo = (data: string, ...args: string[]) => runCli([...args, '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env})
    const snapshot = snapshotOf(8 * MiB)
    await createBackup(a.data, 5242890, snapshot)
    jsonOf(await repo(a.data, 'repo', 'push'))
    // The replica set fails over: another member, promoted to timeline 2, takes a backup of nearly the same bytes.
    const bDir = await scratch.dir('redrepl-node-b-')
    await cp(a.dir, bDir, {recursive: true})
    const b = {dir: bDir, data: path.join(bDir, 'data.rdb')}
    jsonOf(await runCli(['timeline', 'promote', '--data-path', b.data, '--replica', 'replica-a', '--expect-timeline', '1', '--json']))
    const changed = Buffer.concat([snapshot.subarray(0, 4 * MiB), randomBytes(1024), snapshot.subarray(4 * MiB)])
    await createBackup(b.data, 5242990, changed)
    const pushed = jsonOf(await repo(b.data, 'repo', 'push'))
    const backup = (pushed.backups_pushed as any[]).find((x) => x.timeline === 2n)
    assert.ok(backup, 'the timeline-2 backup is pushed')
    assert.ok(backup.pieces_uploaded <= 3, `1 KiB inserted: ${backup.pieces_uploaded} of ${backup.pieces} pieces uploaded`)
    const keys = await store.keys()
    assert.ok(keys.every((key) => !key.includes('.redchunk')), 'no chunk stored whole')
    assert.ok(pieceKeys(keys).every((key) => key.startsWith('set1/packs/')), 'one pack area for the namespace')
    const out = path.join(b.dir, 'restored.rdb')
    jsonOf(await repo(b.data, 'repo', 'restore', '--checkpoint-lsn', '5242990', '--to', out, '--rdb-version', '1', '--force'))
    const local = path.join(b.dir, 'local.rdb')
    jsonOf(await runCli(['basebackup', 'materialize', '--data-path', b.data, '--checkpoint-lsn', '5242990', '--to', local, '--rdb-version', '1', '--json']))
    assert.ok((await readFile(out)).equals(await readFile(local)))
  })

  test(`${kind}: expire of one backup keeps every piece another names; a flipped piece fails verify naming it and both backups; a missing one makes them incomplete`, async () => {
    const store = await open()
    const {dir, data} = await node()
    const repo = (...args: string[]) => runCli([...args, '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env})
    // The fixture's own backup first, so that its piece is told apart from the two backups' below.
    jsonOf(await repo('repo', 'push', '--data-path', data))
    const fixturePieces = pieceKeys(await store.keys())
    const first = snapshotOf(6 * MiB)
    await createBackup(data, 5242890, first)
    jsonOf(await repo('repo', 'push', '--data-path', data))
    const onlyFirst = pieceKeys(await store.keys()).filter((key) => !fixturePieces.includes(key))
    const second = Buffer.from(first)
    randomBytes(4096).copy(second, 5 * MiB)
    await createBackup(data, 5242900, second)
    jsonOf(await repo('repo', 'push', '--data-path', data))
    const both = pieceKeys(await store.keys())
    const secondIndex = decodePieceIndex(await store.read((await store.keys()).find((key) => key.endsWith('5242900.redbase.pieces'))!))
    const secondNames = namedBy(secondIndex)
    const shared = onlyFirst.filter((key) => secondNames.has(key))
    assert.ok(shared.length >= 1 && both.length > onlyFirst.length, `${shared.length} packs shared`)

    // A pack both backups name pieces of, flipped: verify reads it once and names it and the backups that need it.
    const [victim] = shared
    const bytes = await store.read(victim)
    bytes[bytes.length >> 1] ^= 0x01
    await store.write(victim, bytes)
    assert.equal((await repo('repo', 'verify', '--quick')).exitCode, 0, 'same size: --quick cannot see it')
    const verify = await repo('repo', 'verify')
    assert.equal(verify.exitCode, 3, verify.stderr)
    const findings = documentOf(verify.stdout).findings as any[]
    assert.deepEqual(findings.map((f) => [f.code, f.data.key]), [['repo.object-damaged', victim]])
    assert.match(findings[0].message, /content does not match its name/)
    assert.match(findings[0].message, /needed by .*5242890\.redbase, .*5242900\.redbase/)
    const target = path.join(dir, 'out.rdb')
    const restore = await repo('repo', 'restore', '--checkpoint-lsn', '5242900', '--to', target, '--rdb-version', '1')
    assert.equal(restore.exitCode, 3)
    assert.ok(restore.stderr.includes(victim.split('/').at(-1)!) && restore.stderr.trim().split('\n').length === 1, restore.stderr)
    bytes[bytes.length >> 1] ^= 0x01
    await store.write(victim, bytes)

    // Every piece of every pack is named: only headers and trailers are dead weight.
    const packBytes = async (keys: string[]) => {
      let total = 0n
      for (const key of keys) if (key.endsWith('.redpack')) total += BigInt((await store.read(key)).length)
      return total
    }
    const live = jsonOf(await repo('repo', 'list'))
    assert.equal(live.packs_bytes, await packBytes(both))
    assert.ok((live.packs_dead_bytes as bigint) < 16n * 1024n, `${live.packs_dead_bytes} dead bytes before any expire`)

    // Expire the older backup: the pieces the newer one names stay, and it restores.
    const expired = jsonOf(await runCli(['repo', 'expire', '--repo', store.url, '--cluster', 'set1', '--keep-last', '1', '--confirm', '--json'], {env: {...store.env, REDREPL_NOW_MS: String(Date.now() + 48 * HOUR_MS)}}))
    assert.deepEqual((expired.backups as any[]).map((b) => [b.checkpoint_lsn, b.action]), [[5242882n, 'delete'], [5242890n, 'delete'], [5242900n, 'keep']])
    const after = pieceKeys(await store.keys())
    assert.deepEqual(shared.filter((key) => !after.includes(key)), [], 'every shared piece kept')
    assert.ok(after.length < both.length, 'the packs only the expired backups named are gone')
    assert.equal(after.length, new Set(after).size)
    assert.ok([...secondNames].every((key) => after.includes(key)), 'every piece the kept backup names is there')
    assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
    // The shared pack is kept whole: the pieces of it only the expired backup named (around the 4 KiB change) are reported dead.
    const amplified = jsonOf(await repo('repo', 'list'))
    assert.equal(amplified.packs_bytes, await packBytes(after))
    assert.ok((amplified.packs_dead_bytes as bigint) > (live.packs_dead_bytes as bigint) + 8n * 1024n && (amplified.packs_dead_bytes as bigint) < 1024n * 1024n, `${amplified.packs_dead_bytes} dead bytes after the expire`)

    // A piece gone: the backup is incomplete everywhere, and --quick says so.
    await store.remove(shared[0])
    const list = jsonOf(await repo('repo', 'list'))
    const [row] = list.backups as any[]
    assert.deepEqual([row.checkpoint_lsn, row.complete], [5242900n, false])
    assert.match(row.damage, /piece \d+ of .* is missing/)
    const quick = await repo('repo', 'verify', '--quick')
    assert.equal(quick.exitCode, 3)
    assert.deepEqual((documentOf(quick.stdout).findings as any[]).map((f) => [f.code, f.data.key]), [['repo.object-damaged', shared[0]]])
    const latest = await repo('repo', 'restore', '--to', path.join(dir, 'latest.rdb'), '--rdb-version', '1')
    assert.notEqual(latest.exitCode, 0, 'no complete backup to restore')
  })

  test(`${kind}: a push cut short before its index keeps its pieces through an expire within the grace period; past it they are collected`, async () => {
    const store = await open()
    const {data} = await node()
    await createBackup(data, 5242890, snapshotOf(3 * MiB))
    const killed = await runCli(['repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {env: {...store.env, REDREPL_CRASH_AT: 'repo-push:before-index'}})
    assert.equal(killed.exitCode, -1, killed.stderr)
    const written = pieceKeys(await store.keys())
    assert.ok(written.length >= 1)
    const expire = (offsetMs: number) =>
      runCli(['repo', 'expire', '--repo', store.url, '--cluster', 'set1', '--keep-last', '1', '--confirm', '--json'], {env: {...store.env, REDREPL_NOW_MS: String(Date.now() + offsetMs)}})
    const young = jsonOf(await expire(HOUR_MS))
    assert.ok((young.orphans_young as bigint) >= BigInt(written.length), `${young.orphans_young} young orphans`)
    assert.deepEqual(pieceKeys(await store.keys()), written, 'a piece younger than the grace is kept')
    const old = jsonOf(await expire(48 * HOUR_MS))
    assert.ok((old.orphans as any[]).some((o) => written.includes(o.key)))
    assert.deepEqual(pieceKeys(await store.keys()), [])
    // The next push stores them again and the backup is whole.
    jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env}))
    assert.equal(jsonOf(await runCli(['repo', 'verify', '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env})).ok, true)

    // Cut short again, and pushed again within the grace: the same new pieces make the same packs, whose names are listed: none is stored twice.
    await createBackup(data, 5242900, snapshotOf(3 * MiB))
    const cut = await runCli(['repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {env: {...store.env, REDREPL_CRASH_AT: 'repo-push:before-index'}})
    assert.equal(cut.exitCode, -1, cut.stderr)
    const left = pieceKeys(await store.keys())
    jsonOf(await expire(HOUR_MS))
    const resumed = jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env}))
    const again = (resumed.backups_pushed as any[]).find((b) => b.checkpoint_lsn === 5242900n)
    assert.deepEqual([again.pieces > 0, again.pieces_uploaded], [true, 0n], 'every pack of the cut push is named, none uploaded again')
    assert.deepEqual(pieceKeys(await store.keys()), left)
    assert.equal(jsonOf(await runCli(['repo', 'verify', '--repo', store.url, '--cluster', 'set1', '--json'], {env: store.env})).ok, true)
  })
}

test('local directory: the peak RSS of a push of a 256 MiB snapshot stays bounded', async (t) => {
  if (spawnSync('/usr/bin/time', ['-V']).status !== 0 && spawnSync('/usr/bin/time', ['true']).status !== 0) return t.skip('GNU time is not installed')
  const store = await localStore()
  const {data} = await node()
  // Fed in 16 MiB writes, so this test's own memory stays small too.
  const snapshotBytes = 256 * MiB
  const child = spawnSync(
    'sh',
    ['-c', `head -c ${snapshotBytes - 4} /dev/urandom | (printf RDST; cat) | "${process.execPath}" "${path.join(repoRoot, 'bin', 'run.js')}" basebackup create --data-path "${data}" --snapshot - --snapshot-bytes ${snapshotBytes} --checkpoint-lsn 5242890 --json`],
    {encoding: 'utf8', maxBuffer: 1 << 20},
  )
  assert.equal(child.status, 0, child.stderr)
  const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, path.join(repoRoot, 'bin', 'run.js'), 'repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json'], {encoding: 'utf8', maxBuffer: 1 << 24})
  assert.equal(run.status, 0, run.stderr)
  const peakKiB = Number(run.stderr.trim().split('\n').at(-1))
  t.diagnostic(`push of a 256 MiB snapshot: peak RSS ${(peakKiB / 1024).toFixed(1)} MiB`)
  assert.ok(documentOf(run.stdout).uploaded_bytes as bigint >= BigInt(snapshotBytes))
  // The bound the hostile-server tests hold a download to: memory does not follow the backup's size.
  assert.ok(peakKiB > 0 && peakKiB < 300 * 1024, `peak RSS ${peakKiB} KiB`)
})

test('local directory: a piece the push found stored and that is swept before its index is written (an expire meanwhile) is stored again; the backup is whole', async () => {
  const store = await localStore()
  const {data} = await node()
  const first = snapshotOf(6 * MiB)
  await createBackup(data, 5242890, first)
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', store.url, '--cluster', 'set1', '--json']))
  const second = Buffer.from(first)
  randomBytes(4096).copy(second, 5 * MiB)
  await createBackup(data, 5242900, second)
  const before = pieceKeys(await store.keys())
  // The push decides from its first listing that these pieces are there; then, before the index, one of them goes.
  const backend = await openRepository({url: store.url})
  // The first piece of the earlier backup: the change at 5 MiB leaves it shared.
  const [head] = decodePieceIndex(await store.read((await store.keys()).find((key) => key.endsWith('5242890.redbase.pieces'))!)).pieces
  const swept = [...namedBy({snapshot_bytes: BigInt(head.bytes), pieces: [head]})][0]
  assert.ok(before.includes(swept))
  let listings = 0
  const wrapped = Object.create(backend) as RepoBackend
  wrapped.list = async function* (prefix: string) {
    if (prefix === 'set1/packs/' && listings++ === 0) await backend.delete(swept)
    yield* backend.list(prefix)
  }
  const report = await pushToRepository(Layout.fromDataPath(data), wrapped, {node: 'set1', dataPath: data, nowMs: BigInt(Date.now()), jobs: 2, includeCurrent: false})
  await backend.close()
  assert.equal(listings >= 2, true, 'listed again after storing it')
  const index = decodePieceIndex(await store.read((await store.keys()).find((key) => key.endsWith('5242900.redbase.pieces'))!))
  assert.ok(!namedBy(index).has(swept), 'the index names the pieces where they were stored again, not the swept pack')
  assert.ok([...namedBy(index)].every((key) => existsSync(path.join(store.url, key))))
  assert.ok(report.backups_pushed.some((b) => b.checkpoint_lsn === 5242900n))
  // Only the earlier backup, whose pack this sweep took (as an expire of it would have), is damaged; the new one is whole.
  const verified = await runCli(['repo', 'verify', '--repo', store.url, '--cluster', 'set1', '--json'])
  assert.deepEqual((documentOf(verified.stdout).findings as any[]).map((f) => [f.data.key, /needed by [^,]*5242890\.redbase$/.test(f.message)]), [[swept, true]])
  jsonOf(await runCli(['repo', 'restore', '--checkpoint-lsn', '5242900', '--to', path.join(path.dirname(data), 'out.rdb'), '--rdb-version', '1', '--repo', store.url, '--cluster', 'set1', '--json']))
})

test('local directory: a backup an older redrepl stored as whole chunks is still listed, verified, restored and expired beside new ones stored as pieces', async () => {
  const store = await localStore()
  const {dir, data} = await node()
  // The older push's objects: the names mirror the layout, the manifest and its .parts/ chunks as they are.
  await cp(layoutIn(dir).basebackupDir(1n), path.join(store.url, new RepoKeys('db1').basebackupPrefix(1n)), {recursive: true})
  const repo = (...args: string[]) => runCli([...args, '--repo', store.url, '--node', 'db1', '--json'])
  await createBackup(data, 5242890, snapshotOf(2 * MiB))
  const pushed = jsonOf(await repo('repo', 'push', '--data-path', data))
  assert.deepEqual((pushed.backups_pushed as any[]).map((b) => b.checkpoint_lsn), [5242890n], 'the older backup is there already: not stored again')
  const rows = (jsonOf(await repo('repo', 'list')).backups as any[]).map((b) => [b.checkpoint_lsn, b.storage, b.complete, b.added_bytes])
  assert.deepEqual(rows, [
    [5242882n, 'chunks', true, 9004n],
    [5242890n, 'pieces', true, BigInt(2 * MiB)],
  ])
  assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
  const out = path.join(dir, 'old.rdb')
  jsonOf(await repo('repo', 'restore', '--checkpoint-lsn', '5242882', '--to', out, '--rdb-version', '1'))
  const local = path.join(dir, 'local.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '5242882', '--to', local, '--rdb-version', '1', '--json']))
  assert.ok((await readFile(out)).equals(await readFile(local)))
  const expired = jsonOf(await runCli(['repo', 'expire', '--repo', store.url, '--node', 'db1', '--keep-last', '1', '--confirm', '--json'], {env: {REDREPL_NOW_MS: String(Date.now() + 48 * HOUR_MS)}}))
  assert.deepEqual((expired.backups as any[]).map((b) => [b.checkpoint_lsn, b.action]), [[5242882n, 'delete'], [5242890n, 'keep']])
  assert.ok((await store.keys()).every((key) => !key.includes('5242882.redbase')), 'its manifest and chunks are gone')
  assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
})

test('local directory: a backup the release before packs stored (each piece its own object, a version 1 index) is still listed, verified, restored, shared and expired', async () => {
  const store = await localStore()
  const {dir, data} = await node()
  const repo = (...args: string[]) => runCli([...args, '--repo', store.url, '--cluster', 'set1', '--json'])
  const old = snapshotOf(3 * MiB)
  await createBackup(data, 5242890, old)
  jsonOf(await repo('repo', 'push', '--data-path', data))
  // Stored again as that release stored it: every piece under its own SHA-256, the index at version 1, no pack.
  const indexKey = (await store.keys()).find((key) => key.endsWith('5242890.redbase.pieces'))!
  const packed = decodePieceIndex(await store.read(indexKey))
  for (const ref of packed.pieces) {
    const pack = await store.read([...namedBy({snapshot_bytes: 0n, pieces: [ref]})][0])
    await mkdir(path.join(store.url, 'set1/pieces', ref.sha256.slice(0, 2)), {recursive: true})
    await writeFile(path.join(store.url, 'set1/pieces', ref.sha256.slice(0, 2), `${ref.sha256}.redpiece`), pack.subarray(ref.pack!.offset, ref.pack!.offset + ref.bytes))
  }
  const fixtureIndex = decodePieceIndex(await store.read((await store.keys()).find((key) => key.endsWith('5242882.redbase.pieces'))!))
  for (const key of namedBy(packed)) if (!namedBy(fixtureIndex).has(key)) await store.remove(key)
  await store.write(indexKey, Buffer.from(encodePieceIndex({snapshot_bytes: packed.snapshot_bytes, pieces: packed.pieces.map(({sha256, bytes}) => ({sha256, bytes}))})))
  assert.equal((await store.read(indexKey)).readUInt16LE(8), 1)

  const rows = async () => (jsonOf(await repo('repo', 'list')).backups as any[]).map((b) => [b.checkpoint_lsn, b.storage, b.complete])
  assert.deepEqual(await rows(), [[5242882n, 'pieces', true], [5242890n, 'pieces', true]])
  assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
  const out = path.join(dir, 'old.rdb')
  jsonOf(await repo('repo', 'restore', '--checkpoint-lsn', '5242890', '--to', out, '--rdb-version', '1'))
  const local = path.join(dir, 'local.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '5242890', '--to', local, '--rdb-version', '1', '--json']))
  assert.ok((await readFile(out)).equals(await readFile(local)), 'restored byte for byte')

  // A lone piece flipped: verify names it, as before packs.
  const [lone] = pieceKeys(await store.keys()).filter((key) => key.endsWith('.redpiece'))
  const bytes = await store.read(lone)
  bytes[7] ^= 0x20
  await store.write(lone, bytes)
  const damaged = await repo('repo', 'verify')
  assert.equal(damaged.exitCode, 3)
  assert.deepEqual((documentOf(damaged.stdout).findings as any[]).map((f) => f.data.key), [lone])
  bytes[7] ^= 0x20
  await store.write(lone, bytes)

  // A new backup beside it is packed; expiring the old one takes its lone pieces once past the grace period.
  await createBackup(data, 5242900, snapshotOf(2 * MiB))
  jsonOf(await repo('repo', 'push', '--data-path', data))
  const expired = jsonOf(await runCli(['repo', 'expire', '--repo', store.url, '--cluster', 'set1', '--keep-last', '1', '--confirm', '--json'], {env: {REDREPL_NOW_MS: String(Date.now() + 48 * HOUR_MS)}}))
  assert.deepEqual((expired.backups as any[]).map((b) => [b.checkpoint_lsn, b.action]), [[5242882n, 'delete'], [5242890n, 'delete'], [5242900n, 'keep']])
  assert.deepEqual(pieceKeys(await store.keys()).filter((key) => key.endsWith('.redpiece')), [])
  assert.equal(jsonOf(await repo('repo', 'verify')).ok, true)
})
