import assert from 'node:assert/strict'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {encodePack} from '../../src/core/format/pack.js'
import {readDrillRecord} from '../../src/core/ops/repo/drill.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf, jsonOf} from '../support/node.js'
import {useRepos, type TestRepo} from '../support/repository.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'

/** `repo drill`: restore, fetch WAL, verify, clean up and record, on a directory and on S3. */

const scratch = useScratch()
const BUCKET = 'redrepl-drill'
const repos = useRepos(scratch, BUCKET, 'd')
/** The backup's snapshot below (9004 bytes, under the smallest cut) is stored as one piece, by its SHA-256. */
const SNAPSHOT = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, 4)])
/** The pack the snapshot's one piece is stored in, by the SHA-256 of the pack's bytes. */
const SNAPSHOT_SHA256 = encodePack([SNAPSHOT]).sha256
const PIECE = `db1/packs/${SNAPSHOT_SHA256.slice(0, 2)}/${SNAPSHOT_SHA256}.redpack`

const BACKENDS = repos.backends({s3: 'S3 (s3rver through the AWS SDK)'})

/** primary-basic, sound, with its newest backup at 2097200 (segment 2), pushed with every segment. */
async function pushed(repo: TestRepo) {
  const dir = await scratch.layout('primary-basic')
  closePrimaryBasicHole(dir)
  const data = path.join(dir, 'data.rdb')
  // Its own backup at 5242882 is dropped, so the drill's "newest" is this one.
  const snapshot = SNAPSHOT
  jsonOf(await runCli(['basebackup', 'delete', '--data-path', data, '--checkpoint-lsn', '5242882', '--force', '--json']))
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', '2097200', '--chunk-size', '4KiB', '--json'], {input: snapshot}))
  jsonOf(await runCli(['repo', 'push', '--data-path', data, '--include-current', '--repo', repo.url, '--node', 'db1', '--json'], {env: repo.env}))
}

const drill = (repo: TestRepo, ...args: string[]) => runCli(['repo', 'drill', '--repo', repo.url, '--node', 'db1', '--segment-bytes', '1MiB', ...args], {env: repo.env})

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: a drill restores, fetches the WAL, verifies, removes its scratch copy and records the outcome`, async () => {
    const repo = await makeRepo()
    await pushed(repo)
    const passed = jsonOf(await drill(repo, '--json'))
    assert.deepEqual([passed.ok, passed.checkpoint_lsn, passed.wal_segments_fetched, passed.problem], [true, 2097200n, 4n, null])
    assert.deepEqual((passed.findings as Array<Record<string, any>>).map((f) => [f.severity, f.code]), [['note', 'wal.retention-stalled']])
    assert.ok(!existsSync(String(passed.scratch_path)), 'the scratch copy is gone')
    const record = await readDrillRecord(await repo.open(), 'db1')
    assert.deepEqual(record, {ok: true, finished_unix_ms: 1700000000000n, last_success_unix_ms: 1700000000000n, checkpoint_lsn: 2097200n, manifest_key: passed.manifest_key, problem: null})

    // A piece damaged in place (same size): the listing cannot tell, the drill does, and says so in the record.
    await repo.corrupt(PIECE)
    const fresh = path.join(await scratch.dir(), 'new')
    const failed = await drill(repo, '--json', '--scratch', fresh)
    assert.equal(failed.exitCode, 3)
    assert.ok(!existsSync(fresh), 'a failed drill removes what it made too')
    assert.equal(failed.stderr.trim().split('\n').length, 1)
    assert.ok(failed.stderr.includes(`${SNAPSHOT_SHA256}.redpack: piece at offset 10 (9004 bytes) does not match its SHA-256`), failed.stderr)
    const after = await readDrillRecord(await repo.open(), 'db1')
    assert.equal(after?.ok, false)
    assert.match(String(after?.problem), /piece at offset 10 \(9004 bytes\) does not match its SHA-256/)
    assert.equal(after?.last_success_unix_ms, 1700000000000n, 'the last success is kept for the age alert')
    const later = await runCli(['repo', 'drill', '--repo', repo.url, '--node', 'db1', '--segment-bytes', '1MiB'], {env: {...repo.env, REDREPL_NOW_MS: '1700000600000'}})
    assert.equal(later.exitCode, 3)
    assert.equal((await readDrillRecord(await repo.open(), 'db1'))?.finished_unix_ms, 1700000600000n)
  })

  test(`${kind}: --scratch must be new or empty: a directory holding anything is refused before anything is written`, async () => {
    const repo = await makeRepo()
    await pushed(repo)
    const busy = await scratch.dir('redrepl-busy-')
    writeFileSync(path.join(busy, 'keep'), 'mine')
    const refused = await drill(repo, '--scratch', busy)
    assert.equal(refused.exitCode, 4)
    assert.match(refused.stderr, /is not empty/)
    assert.deepEqual(readdirSync(busy), ['keep'])
    assert.equal(await readDrillRecord(await repo.open(), 'db1'), null, 'a refused drill records nothing')
    const empty = path.join(await scratch.dir(), 'empty')
    mkdirSync(empty)
    const report = documentOf((await drill(repo, '--scratch', empty, '--json')).stdout)
    assert.equal(report.ok, true)
    assert.deepEqual(readdirSync(empty), [], 'an empty directory given is emptied again, and kept')
  })
}
