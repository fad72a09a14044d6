import assert from 'node:assert/strict'
import {rmSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {encodePack} from '../../src/core/format/pack.js'
import {expireRepository} from '../../src/core/ops/repo/expire.js'
import {listRepository} from '../../src/core/ops/repo/list.js'
import {verifyRepository} from '../../src/core/ops/repo/verify.js'
import type {RepoBackend, RepoObject} from '../../src/core/repo/backend.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {plantBackup} from '../support/backups.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {useRepos, type TestRepo} from '../support/repository.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'
import {layoutIn} from '../support/layout-node.js'

/**
 * Damage in a repository is contained: a missing or damaged object is a
 * finding about its backup (which is then not usable), never the end of
 * repo list, verify or expire; and repo verify proves each backup restores
 * (RedDB's open rules) and catches up (no WAL gap from its checkpoint).
 */

const scratch = useScratch()
const BUCKET = 'redrepl-usable'
const repos = useRepos(scratch, BUCKET, 'u')
const KEYS = new RepoKeys('db1')
const manifestKey = (checkpoint: bigint) => KEYS.manifest(1n, 0n, checkpoint)
/** The pack of the one piece a backup of `rdst(fill)` is stored as (5004 bytes, under the smallest cut). */
const pieceKeyOf = (snapshot: Buffer) => KEYS.pack(encodePack([snapshot]).sha256)

const BACKENDS = repos.backends({s3: 'S3 (s3rver through the AWS SDK)'})

const rdst = (fill: number) => Buffer.concat([Buffer.from('RDST'), Buffer.alloc(5000, fill)])

/** primary-basic (its backup at 5242882) with backups at `checkpoints` too, all pushed with the live segment. */
async function pushedNode(repo: TestRepo, checkpoints: bigint[]) {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  for (const checkpoint of checkpoints) {
    const snapshot = rdst(Number(checkpoint % 250n))
    jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  }
  jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--include-current', '--json'), {env: repo.env}))
  return {dir, data}
}

const repoArgs = (repo: TestRepo, ...args: string[]) => [...args, ...repo.args()]

/** The same store, whose listing is followed by the loss of `victim`: an object gone between the listing and its GET. */
function losingAfterListing(backend: RepoBackend, victim: string): RepoBackend {
  const wrapped = Object.create(backend) as RepoBackend
  wrapped.list = async function* (prefix: string): AsyncIterable<RepoObject> {
    const listed: RepoObject[] = []
    for await (const object of backend.list(prefix)) listed.push(object)
    await backend.delete(victim)
    yield* listed
  }
  return wrapped
}

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: a damaged manifest and a missing piece are findings about their backups; list, verify and expire go on`, async () => {
    const repo = await makeRepo()
    await pushedNode(repo, [5242890n, 5242900n])
    await repo.corrupt(manifestKey(5242890n))
    const piece = pieceKeyOf(rdst(Number(5242900n % 250n)))
    await repo.remove(piece)

    const list = await runCli(repoArgs(repo, 'repo', 'list', '--segment-bytes', '1MiB', '--json'), {env: repo.env})
    assert.equal(list.exitCode, 0, list.stderr)
    const rows = documentOf(list.stdout).backups as Array<Record<string, unknown>>
    assert.deepEqual(rows.map((b) => [b.checkpoint_lsn, b.complete]), [[5242882n, true], [5242890n, false], [5242900n, false]])
    assert.deepEqual([rows[1].snapshot_bytes, rows[1].chunks], [0n, 0n])
    assert.match(String(rows[1].damage), /5242890\.redbase.*(CRC|checksum|seal)/i)
    assert.match(String(rows[2].damage), /\.redpack: pack of piece 0 of .*5242900\.redbase\.pieces is missing/)
    assert.equal(rows[0].damage, null)
    const human = await runCli(repoArgs(repo, 'repo', 'list', '--segment-bytes', '1MiB'), {env: repo.env})
    assert.match(human.stdout, /damaged: /)

    const verify = await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env})
    assert.equal(verify.exitCode, 3, verify.stderr)
    const report = documentOf(verify.stdout)
    const found = (report.findings as Array<Record<string, any>>).map((f) => [f.code, f.data.key])
    assert.deepEqual(found, [
      ['repo.object-damaged', piece],
      ['repo.object-damaged', manifestKey(5242890n)],
    ])
    assert.ok((report.objects_read as bigint) > 5n, 'the intact backup and the WAL were read all the same')

    // "The latest" to restore is the newest complete backup, not the newest manifest.
    const restored = jsonOf(await runCli(repoArgs(repo, 'repo', 'restore', '--to', path.join(await scratch.dir(), 'r.rdb'), '--rdb-version', '2', '--json'), {env: repo.env}))
    assert.equal(restored.checkpoint_lsn, 5242882n)

    const expired = await runCli(repoArgs(repo, 'repo', 'expire', '--keep-last', '1', '--segment-bytes', '1MiB', '--confirm', '--json'), {env: repo.env})
    assert.equal(expired.exitCode, 0, expired.stderr)
    const verdicts = (documentOf(expired.stdout).backups as Array<Record<string, unknown>>).map((b) => [b.checkpoint_lsn, b.action, b.usable])
    assert.deepEqual(verdicts, [
      [5242882n, 'keep', true],
      [5242890n, 'delete', false],
      [5242900n, 'keep', false],
    ])
    const left = await repo.stored()
    assert.ok(!left.some((key) => key.startsWith(manifestKey(5242890n))), 'the damaged backup is gone, chunks too')
    assert.ok(left.includes(manifestKey(5242882n)), 'the newest usable backup stays')
  })

  test(`${kind}: a manifest that vanishes between the listing and its GET stops neither list, verify nor expire`, async () => {
    const repo = await makeRepo()
    const {data} = await pushedNode(repo, [5242890n])
    const newer = manifestKey(5242890n)
    const older = manifestKey(5242882n)
    const listed = await listRepository(losingAfterListing(await repo.open(), newer), {node: 'db1', segmentBytes: 1048576n})
    const row = listed.backups.find((b) => b.key === newer)!
    assert.deepEqual([row.complete, row.snapshot_bytes, row.chunks], [false, 0n, 0])
    assert.match(String(row.damage), /no such object/)
    assert.equal(listed.backups.find((b) => b.key === older)!.complete, true)

    const verified = await verifyRepository(losingAfterListing(await repo.open(), older), {node: 'db1', quick: false, jobs: 2})
    assert.equal(verified.ok, false)
    assert.deepEqual(verified.findings.map((f) => [f.code, f.data.key, /no such object/.test(f.message)]), [['repo.object-damaged', older, true]])

    // Both manifests are gone now; a push puts them back, then the older one vanishes under expire.
    jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--json'), {env: repo.env}))
    const expired = await expireRepository(losingAfterListing(await repo.open(), older), {node: 'db1', policy: {keepLast: 1}, confirm: true, nowMs: 1700000000000n, segmentBytes: 1048576n, orphanGraceMs: 86_400_000n, jobs: 2})
    const verdicts = expired.backups.map((b) => [b.key, b.action, b.damage === null])
    assert.deepEqual(verdicts, [
      [older, 'delete', false],
      [newer, 'keep', true],
    ])
    assert.ok(!(await repo.stored()).some((key) => key.startsWith(older)), 'its chunks are deleted by their prefix')
  })

  test(`${kind}: repo verify applies RedDB's open rules to each snapshot and requires the WAL from each checkpoint without a gap`, async () => {
    const repo = await makeRepo()
    const dir = await scratch.layout('primary-basic')
    plantBackup(dir, 5242895n, [Buffer.from('XXXX'), Buffer.from('YYYY')])
    // Checkpoint 2097200 lies in segment 2; primary-basic has no segment 4 while 5 is archived: a gap after the checkpoint.
    const snapshot = rdst(7)
    jsonOf(await runCli(['basebackup', 'create', '--data-path', path.join(dir, 'data.rdb'), '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '2097200', '--json'], {input: snapshot}))
    jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', path.join(dir, 'data.rdb'), '--include-current', '--json'), {env: repo.env}))
    const verify = await runCli(repoArgs(repo, 'repo', 'verify', '--json'), {env: repo.env})
    assert.equal(verify.exitCode, 3, verify.stderr)
    const findings = (documentOf(verify.stdout).findings as Array<Record<string, any>>).map((f) => [f.code, f.data.key, f.message])
    assert.deepEqual(findings.map(([code, key]) => [code, key]), [
      ['repo.backup-unusable', manifestKey(2097200n)],
      ['repo.backup-unusable', manifestKey(5242895n)],
    ])
    assert.match(findings[0][2], /segment 4 of timeline 1 is not archived, though later ones are/)
    assert.match(findings[1][2], /does not start with RDST/)
    // --quick reads no chunk, so it cannot see the magic; the WAL gap it sees from the listing alone.
    const quick = documentOf((await runCli(repoArgs(repo, 'repo', 'verify', '--quick', '--json'), {env: repo.env})).stdout)
    assert.deepEqual((quick.findings as Array<Record<string, any>>).map((f) => f.data.key), [manifestKey(2097200n)])
  })

  test(`${kind}: the documented runbook ends green: repo push, repo restore, repo fetch-wal, then layout verify exits 0`, async () => {
    const repo = await makeRepo()
    const dir = await scratch.layout('primary-basic')
    closePrimaryBasicHole(dir)
    const data = path.join(dir, 'data.rdb')
    // A backup in segment 2: the restored node fetches segments 2 to 5, three of them below the head's.
    const snapshot = rdst(9)
    jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '2097200', '--json'], {input: snapshot}))
    jsonOf(await runCli(repoArgs(repo, 'repo', 'push', '--data-path', data, '--include-current', '--json'), {env: repo.env}))
    const fresh = path.join(await scratch.dir('redrepl-restored-'), 'data.rdb')
    const restored = jsonOf(await runCli(repoArgs(repo, 'repo', 'restore', '--to', fresh, '--checkpoint-lsn', '2097200', '--rdb-version', '2', '--json'), {env: repo.env}))
    assert.equal(restored.checkpoint_lsn, 2097200n)
    const fetched = jsonOf(await runCli(repoArgs(repo, 'repo', 'fetch-wal', '--data-path', fresh, '--from-lsn', '2097200', '--segment-bytes', '1MiB', '--json'), {env: repo.env}))
    assert.deepEqual((fetched.fetched as Array<Record<string, unknown>>).map((s) => s.index), [2n, 3n, 4n, 5n])
    const verify = await runCli(['layout', 'verify', '--data-path', fresh, '--json'])
    assert.equal(verify.exitCode, 0, verify.stdout)
    const findings = (documentOf(verify.stdout).findings as Array<Record<string, any>>).map((f) => [f.severity, f.code, f.data.no_replica_yet])
    assert.deepEqual(findings, [['note', 'wal.retention-stalled', true]], 'no slot catalog yet is what a restored node lacks by nature')
    // The original node, which has replicas (a catalog, relay logs), is held to the full rule.
    rmSync(layoutIn(dir).slotCatalogPath(1n))
    const original = await runCli(['layout', 'verify', '--data-path', data, '--json'])
    assert.equal(original.exitCode, 3)
    assert.ok((documentOf(original.stdout).findings as Array<Record<string, any>>).some((f) => f.code === 'wal.retention-stalled' && f.severity === 'warning'))
  })
}
