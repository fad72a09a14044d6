import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {primaryBasicKeys, useRepos, type TestRepo} from '../support/repository.js'

/**
 * `repo expire` collects objects no manifest names (what a push or an
 * expire cut short leaves) once they are older than the grace period, on
 * both stores, and never a push's chunks still waiting for their manifest.
 */

const scratch = useScratch()
const BUCKET = 'redrepl-orphans'
const repos = useRepos(scratch, BUCKET, 'o')

const {manifest: MANIFEST, pieceIndex, pack} = primaryBasicKeys()
/** What a push stores for the fixture's backup besides its manifest: its piece index and the pack of its one piece (9004 bytes, under the smallest cut). */
const CHUNKS = [pieceIndex, pack].sort()
const HOUR_MS = 60 * 60 * 1000

/** The stored objects of the fixture's backup. */
const keysOf = async (store: TestRepo) => (await store.keys()).filter((key) => CHUNKS.includes(key) || key === MANIFEST)

for (const [kind, open] of repos.backends({s3: 'S3 (s3rver)', localOptions: {absent: true, prefix: 'redrepl-orphans-'}})) {
  test(`${kind}: repo expire collects chunks no manifest names once past the grace period, through a saved plan too, and never younger ones`, async () => {
    const store = await open()
    const dir = await scratch.layout('primary-basic')
    const repo = ['--repo', store.url, '--node', 'db1']
    jsonOf(await runCli(['repo', 'push', '--data-path', path.join(dir, 'data.rdb'), ...repo, '--json'], {env: store.env}))
    // An expire cut short after the manifest: its chunks stay, named by nothing.
    await store.remove(MANIFEST)
    // The objects were written just now, by the real clock; each run is told the time.
    const at = (offsetMs: number) => ({...store.env, REDREPL_NOW_MS: String(Date.now() + offsetMs)})
    const expire = (offsetMs: number, ...args: string[]) => runCli(['repo', 'expire', ...repo, '--keep-last', '1', '--json', ...args], {env: at(offsetMs)})

    const young = jsonOf(await expire(HOUR_MS))
    assert.deepEqual([young.orphans, young.orphans_young, young.orphan_grace_ms], [[], 2n, 86_400_000n])
    const youngConfirmed = jsonOf(await expire(HOUR_MS, '--confirm'))
    assert.deepEqual(youngConfirmed.orphans, [])
    assert.deepEqual((await keysOf(store)).sort(), CHUNKS, 'a push\'s chunks waiting for their manifest are never touched')
    const shorter = jsonOf(await expire(2 * HOUR_MS, '--orphan-grace', '3h'))
    assert.equal(shorter.orphans_young, 2n)

    const planFile = path.join(await scratch.dir('redrepl-orphans-plan-'), 'expire.plan')
    const dry = jsonOf(await expire(48 * HOUR_MS, '--out', planFile))
    assert.deepEqual((dry.orphans as any[]).map((o) => o.key), CHUNKS)
    assert.match((dry.orphans as any[])[0].reason, /no manifest names it, and it was written more than 1d ago/)
    assert.deepEqual((await keysOf(store)).sort(), CHUNKS, 'a dry run deletes nothing')
    const refusedFlag = await runCli(['repo', 'expire', ...repo, '--plan', planFile, '--orphan-grace', '1h', '--confirm'], {env: at(48 * HOUR_MS)})
    assert.equal(refusedFlag.exitCode, 2, refusedFlag.stderr)
    const applied = jsonOf(await runCli(['repo', 'expire', ...repo, '--plan', planFile, '--confirm', '--json'], {env: at(48 * HOUR_MS)}))
    assert.deepEqual((applied.orphans as any[]).map((o) => o.key), CHUNKS)
    assert.equal(applied.objects_deleted, 2n)
    assert.deepEqual(await keysOf(store), [])
  })

  test(`${kind}: repo expire never collects the chunks a listed manifest names, however old`, async () => {
    const store = await open()
    const dir = await scratch.layout('primary-basic')
    const repo = ['--repo', store.url, '--node', 'db1']
    jsonOf(await runCli(['repo', 'push', '--data-path', path.join(dir, 'data.rdb'), ...repo, '--json'], {env: store.env}))
    const done = jsonOf(await runCli(['repo', 'expire', ...repo, '--keep-last', '1', '--orphan-grace', '1m', '--confirm', '--json'], {env: {...store.env, REDREPL_NOW_MS: String(Date.now() + 1000 * HOUR_MS)}}))
    assert.deepEqual([done.orphans, done.orphans_young], [[], 0n])
    assert.deepEqual((await keysOf(store)).sort(), [...CHUNKS, MANIFEST].sort())
    const verified = jsonOf(await runCli(['repo', 'verify', ...repo, '--json'], {env: store.env}))
    assert.equal(verified.ok, true)
  })
}
