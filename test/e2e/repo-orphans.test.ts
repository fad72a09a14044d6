import assert from 'node:assert/strict'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {DeleteObjectCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'

import {encodePack} from '../../src/core/format/pack.js'
import {runCli, useScratch} from '../support/cli.js'
import {fixturePath} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {useS3Server} from '../support/s3.js'

/**
 * `repo expire` collects objects no manifest names (what a push or an
 * expire cut short leaves) once they are older than the grace period, on
 * both stores, and never a push's chunks still waiting for their manifest.
 */

const scratch = useScratch()
const BUCKET = 'redrepl-orphans'
const s3rver = useS3Server(scratch, [BUCKET])

const MANIFEST = 'db1/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase'
/** The pack the fixture's one piece is stored in, by the SHA-256 of the pack's bytes. */
const SNAPSHOT_SHA256 = encodePack([Buffer.concat([0, 1, 2].map((k) => readFileSync(fixturePath('layouts', 'primary-basic', 'data.primary-replica', `${MANIFEST.slice('db1/'.length)}.parts/${String(k).padStart(20, '0')}.redchunk`))))]).sha256
const CHUNKS = [`${MANIFEST}.pieces`, `db1/packs/${SNAPSHOT_SHA256.slice(0, 2)}/${SNAPSHOT_SHA256}.redpack`].sort()
const HOUR_MS = 60 * 60 * 1000

interface Store {
  url: string
  env: Record<string, string>
  remove(key: string): Promise<void>
  keys(): Promise<string[]>
}

async function localStore(): Promise<Store> {
  const dir = path.join(await scratch.dir('redrepl-orphans-'), 'repo')
  return {
    url: dir,
    env: {},
    async remove(key) {
      rmSync(path.join(dir, key))
    },
    async keys() {
      return CHUNKS.concat(MANIFEST).filter((key) => existsSync(path.join(dir, key)))
    },
  }
}

let prefixes = 0
async function s3Store(): Promise<Store> {
  const prefix = `o${++prefixes}`
  const client = () => new S3Client({endpoint: s3rver.server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
  return {
    url: `s3://${BUCKET}/${prefix}`,
    env: s3rver.server.env(),
    async remove(key) {
      const s3 = client()
      await s3.send(new DeleteObjectCommand({Bucket: BUCKET, Key: `${prefix}/${key}`}))
      s3.destroy()
    },
    async keys() {
      const s3 = client()
      const listed = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: `${prefix}/`}))
      s3.destroy()
      return (listed.Contents ?? []).map((object) => object.Key!.slice(prefix.length + 1)).filter((key) => CHUNKS.includes(key) || key === MANIFEST)
    },
  }
}

for (const [kind, open] of [['local directory', localStore], ['S3 (s3rver)', s3Store]] as const) {
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
    assert.deepEqual((await store.keys()).sort(), CHUNKS, 'a push\'s chunks waiting for their manifest are never touched')
    const shorter = jsonOf(await expire(2 * HOUR_MS, '--orphan-grace', '3h'))
    assert.equal(shorter.orphans_young, 2n)

    const planFile = path.join(await scratch.dir('redrepl-orphans-plan-'), 'expire.plan')
    const dry = jsonOf(await expire(48 * HOUR_MS, '--out', planFile))
    assert.deepEqual((dry.orphans as any[]).map((o) => o.key), CHUNKS)
    assert.match((dry.orphans as any[])[0].reason, /no manifest names it, and it was written more than 1d ago/)
    assert.deepEqual((await store.keys()).sort(), CHUNKS, 'a dry run deletes nothing')
    const refusedFlag = await runCli(['repo', 'expire', ...repo, '--plan', planFile, '--orphan-grace', '1h', '--confirm'], {env: at(48 * HOUR_MS)})
    assert.equal(refusedFlag.exitCode, 2, refusedFlag.stderr)
    const applied = jsonOf(await runCli(['repo', 'expire', ...repo, '--plan', planFile, '--confirm', '--json'], {env: at(48 * HOUR_MS)}))
    assert.deepEqual((applied.orphans as any[]).map((o) => o.key), CHUNKS)
    assert.equal(applied.objects_deleted, 2n)
    assert.deepEqual(await store.keys(), [])
  })

  test(`${kind}: repo expire never collects the chunks a listed manifest names, however old`, async () => {
    const store = await open()
    const dir = await scratch.layout('primary-basic')
    const repo = ['--repo', store.url, '--node', 'db1']
    jsonOf(await runCli(['repo', 'push', '--data-path', path.join(dir, 'data.rdb'), ...repo, '--json'], {env: store.env}))
    const done = jsonOf(await runCli(['repo', 'expire', ...repo, '--keep-last', '1', '--orphan-grace', '1m', '--confirm', '--json'], {env: {...store.env, REDREPL_NOW_MS: String(Date.now() + 1000 * HOUR_MS)}}))
    assert.deepEqual([done.orphans, done.orphans_young], [[], 0n])
    assert.deepEqual((await store.keys()).sort(), [...CHUNKS, MANIFEST].sort())
    const verified = jsonOf(await runCli(['repo', 'verify', ...repo, '--json'], {env: store.env}))
    assert.equal(verified.ok, true)
  })
}
