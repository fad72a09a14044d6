import assert from 'node:assert/strict'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {RepoKeys} from '../../src/core/repo/keys.js'
import {filesIn} from '../support/tree.js'

import {runCli, useScratch} from '../support/cli.js'
import {layoutIn} from '../support/layout-node.js'
import {jsonOf} from '../support/node.js'
import {useRepos, type TestRepo} from '../support/repository.js'

/** An encrypted repository end to end, on a directory and on the S3 test server, through the built CLI. */

const scratch = useScratch()
const BUCKET = 'redrepl-sealed'
const repos = useRepos(scratch, BUCKET)
/** scrypt at its lowest accepted cost keeps each run fast; the default is checked once. */
const COST = ['--scrypt-cost', '15']

const BACKENDS = repos.backends({localOptions: {absent: true, prefix: 'redrepl-sealed-'}})

/** Every stored file's path. */
const walk = (dir: string): string[] => filesIn(dir).map((name) => path.join(dir, name))
/** Every stored file with its bytes' mtime, to prove what a command did not touch. */
function snapshot(dir: string): Map<string, number> {
  const files = new Map<string, number>()
  try {
    for (const file of walk(dir)) files.set(path.relative(dir, file), statSync(file).mtimeMs)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  return files
}
const oneLine = (stderr: string) => stderr.trim().split('\n').length === 1

async function setUp(kind: () => Promise<TestRepo>) {
  const repo = await kind()
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const secrets = await scratch.dir('redrepl-secrets-')
  const passA = path.join(secrets, 'a.pass')
  const passWrong = path.join(secrets, 'wrong.pass')
  writeFileSync(passA, 'correct horse battery staple\n')
  writeFileSync(passWrong, 'correct horse battery stapler\n')
  const repoArgs = ['--repo', repo.url, '--node', 'db1']
  const original = path.join(dir, 'original.rdb')
  jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--to', original, '--json']))
  return {repo, dir, data, secrets, passA, passWrong, repoArgs, original}
}

const WAL_KEY = new RepoKeys('db1').wal(1n, 1n)

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: an encrypted push restores byte-identical, verifies, and stores no plaintext; the wrong or no key writes nothing`, async () => {
    const {repo, dir, data, passA, passWrong, repoArgs, original} = await setUp(makeRepo)
    const init = jsonOf(await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase', '--passphrase-file', passA, '--json'], {env: repo.env}))
    assert.equal(init.encryption, 'aes-256-gcm')
    assert.deepEqual(init.scrypt, {n: 131072n, r: 8n, p: 1n}, 'the default cost: N = 2^17')

    // No key, a wrong key: one line, exit 4, the store exactly as it was.
    const before = snapshot(repo.files)
    const none = await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json'], {env: repo.env})
    assert.equal(none.exitCode, 4, none.stderr)
    assert.match(none.stderr, /^redrepl: .*: the repository is encrypted and no key was given/)
    assert.ok(oneLine(none.stderr), none.stderr)
    const wrong = await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--passphrase-file', passWrong, '--json'], {env: repo.env})
    assert.equal(wrong.exitCode, 4, wrong.stderr)
    assert.match(wrong.stderr, /redrepl\.repository(\._S3rver_object)?: wrong key: passphrase file .*wrong\.pass opens none of the repository's 1 passphrase key\(s\)/)
    assert.ok(oneLine(wrong.stderr), wrong.stderr)
    assert.deepEqual(snapshot(repo.files), before, 'nothing written')

    // The passphrase from the environment; zstd first, then sealing.
    const env = {...repo.env, REDREPL_REPO_PASSPHRASE: 'correct horse battery staple'}
    const pushed = jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--compress', 'zstd', '--json'], {env}))
    assert.equal(pushed.wal_segments_pushed, 4n)
    assert.equal(jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json'], {env})).objects_uploaded, 0n, 'what is there counts as there')
    assert.equal(jsonOf(await runCli(['repo', 'verify', ...repoArgs, '--json'], {env})).ok, true)
    const restored = path.join(dir, 'restored.rdb')
    jsonOf(await runCli(['repo', 'restore', ...repoArgs, '--passphrase-file', passA, '--to', restored, '--rdb-version', '1', '--json'], {env: repo.env}))
    assert.deepEqual(readFileSync(restored), readFileSync(original))

    // No 16-byte run of the snapshot or of a WAL segment shows in any stored byte.
    const stored = walk(repo.files).filter((f) => !f.endsWith('.json')).map((f) => readFileSync(f))
    assert.ok(stored.length >= 9, `${stored.length} objects`)
    const wal = readFileSync(layoutIn(dir).walSegmentPath(1n, 1n))
    let probes = 0
    for (const source of [readFileSync(original), wal]) {
      for (let at = 0; at + 16 <= source.length; at += 64) {
        const run = source.subarray(at, at + 16)
        if (new Set(run).size < 6) continue
        probes++
        for (const bytes of stored) assert.equal(bytes.indexOf(run), -1, `plaintext at ${at} found in the repository`)
      }
    }
    assert.ok(probes > 20, `${probes} probes`)
  })

  test(`${kind}: a flipped bit in a sealed object or in the config object is corrupt naming it; a key given to an unencrypted repository is refused`, async () => {
    const {repo, data, passA, repoArgs} = await setUp(makeRepo)
    const key = ['--passphrase-file', passA]
    jsonOf(await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase', ...key, ...COST, '--json'], {env: repo.env}))
    jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, ...key, '--json'], {env: repo.env}))
    const file = repo.file(WAL_KEY)
    const good = readFileSync(file)
    // Header (magic, frame size, data key id, nonce prefix), ciphertext, tag.
    for (const at of [0, 13, 20, 28, 40, good.length - 20, good.length - 1]) {
      const bad = Buffer.from(good)
      bad[at] ^= 0x04
      writeFileSync(file, bad)
      const verify = await runCli(['repo', 'verify', ...repoArgs, ...key, '--json'], {env: repo.env})
      assert.equal(verify.exitCode, 3, `byte ${at}: ${verify.stderr}`)
      const findings = (jsonOf({...verify, exitCode: 0}).findings as any[]).map((f) => [f.data.key, f.message])
      assert.equal(findings.length, 1, JSON.stringify(findings))
      assert.equal(findings[0][0], WAL_KEY)
      assert.match(findings[0][1], /sealed object (fails its authentication|has no sealed-object header|states frames|is sealed with data key)/)
    }
    writeFileSync(file, good)
    assert.equal(jsonOf(await runCli(['repo', 'verify', ...repoArgs, ...key, '--json'], {env: repo.env})).ok, true)

    const config = repo.file('redrepl.repository')
    const original = readFileSync(config)
    for (const at of [3, 40, original.length >> 1, original.length - 3]) {
      const bad = Buffer.from(original)
      bad[at] ^= 0x01
      writeFileSync(config, bad)
      const list = await runCli(['repo', 'list', ...repoArgs, ...key], {env: repo.env})
      assert.equal(list.exitCode, 3, `config byte ${at}: ${list.stderr}`)
      assert.match(list.stderr, /^redrepl: .*redrepl\.repository(\._S3rver_object)?: config object /)
      assert.ok(oneLine(list.stderr))
    }
    writeFileSync(config, original)

    const plain = await makeRepo()
    const refused = await runCli(['repo', 'push', '--data-path', data, '--repo', plain.url, '--node', 'db1', ...key, '--json'], {env: plain.env})
    assert.equal(refused.exitCode, 4, refused.stderr)
    assert.match(refused.stderr, /the repository is not encrypted, but passphrase file .* was given/)
    assert.deepEqual(snapshot(plain.files), new Map(), 'nothing written')
  })

  test(`${kind}: keys rotate without re-uploading: add a key file, remove the passphrase, the old key is refused and the new one restores`, async () => {
    const {repo, dir, data, secrets, passA, repoArgs, original} = await setUp(makeRepo)
    const keyFile = path.join(secrets, 'repo.key')
    const created = jsonOf(await runCli(['repo', 'key', 'create', '--out', keyFile, '--json']))
    assert.equal(created.bytes, 32n)
    assert.equal(statSync(keyFile).mode & 0o777, 0o600)
    const again = await runCli(['repo', 'key', 'create', '--out', keyFile])
    assert.equal(again.exitCode, 4, 'never overwritten')

    const init = jsonOf(await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase', '--passphrase-file', passA, ...COST, '--json'], {env: repo.env}))
    const oldId = (init.keys as any[])[0].key_id as string
    jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--passphrase-file', passA, '--json'], {env: repo.env}))
    const objects = (files: Map<string, number>) => new Map([...files].filter(([name]) => !name.startsWith('redrepl.repository')))
    const before = objects(snapshot(repo.files))

    const added = jsonOf(await runCli(['repo', 'key', 'add', '--repo', repo.url, '--passphrase-file', passA, '--new-key-file', keyFile, '--json'], {env: repo.env}))
    assert.equal((added.keys as any[]).length, 2)
    const last = await runCli(['repo', 'key', 'remove', '--repo', repo.url, '--key-file', keyFile, '--key-id', 'ffffffffffffffff'], {env: repo.env})
    assert.equal(last.exitCode, 6, last.stderr)
    const removed = jsonOf(await runCli(['repo', 'key', 'remove', '--repo', repo.url, '--key-file', keyFile, '--key-id', oldId, '--json'], {env: repo.env}))
    assert.deepEqual((removed.keys as any[]).map((k) => k.kind), ['key-file'])

    const old = await runCli(['repo', 'list', ...repoArgs, '--passphrase-file', passA], {env: repo.env})
    assert.equal(old.exitCode, 4, old.stderr)
    assert.match(old.stderr, /the repository has no passphrase key/)
    const restored = path.join(dir, 'restored.rdb')
    jsonOf(await runCli(['repo', 'restore', ...repoArgs, '--key-file', keyFile, '--to', restored, '--rdb-version', '1', '--json'], {env: repo.env}))
    assert.deepEqual(readFileSync(restored), readFileSync(original))
    assert.deepEqual(objects(snapshot(repo.files)), before, 'no object rewritten')

    const lastKey = await runCli(['repo', 'key', 'remove', '--repo', repo.url, '--key-file', keyFile, '--key-id', (removed.keys as any[])[0].key_id], {env: repo.env})
    assert.equal(lastKey.exitCode, 4, lastKey.stderr)
    assert.match(lastKey.stderr, /is the repository's last key/)
  })
}

test('repo init refuses a repository already set up, one holding unencrypted objects, and --encrypt without its key', async () => {
  const {repo, data, passA, repoArgs} = await setUp(BACKENDS[0][1])
  const missing = await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase'])
  assert.equal(missing.exitCode, 4, missing.stderr)
  jsonOf(await runCli(['repo', 'push', '--data-path', data, ...repoArgs, '--json']))
  const before = snapshot(repo.files)
  const busy = await runCli(['repo', 'init', '--repo', repo.url, '--encrypt', 'passphrase', '--passphrase-file', passA, ...COST])
  assert.equal(busy.exitCode, 4, busy.stderr)
  assert.match(busy.stderr, /holds objects stored unencrypted/)
  assert.deepEqual(snapshot(repo.files), before)
  jsonOf(await runCli(['repo', 'init', '--repo', repo.url, '--json']))
  const twice = await runCli(['repo', 'init', '--repo', repo.url])
  assert.equal(twice.exitCode, 4, twice.stderr)
  assert.match(twice.stderr, /already set up \(none\)/)
  assert.equal(jsonOf(await runCli(['repo', 'verify', ...repoArgs, '--json'])).ok, true, 'an unencrypted repository with its config object reads as before')
})
