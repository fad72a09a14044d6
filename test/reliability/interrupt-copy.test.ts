import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {interruptCli} from '../support/interrupt.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {layoutIn} from '../support/layout-node.js'

/**
 * repo copy killed mid-way (SIGKILL: no clean-up of its own) leaves the
 * target in a state repo list and verify accept, and the next copy copies
 * only what is missing and ends where an uninterrupted copy does: for a
 * backup stored as pieces (as push stores it now) and for one an older
 * redrepl stored as whole chunks.
 */

const scratch = useScratch()
const CHUNK = '256KiB'

/** A node with one base backup of `snapshotBytes` random bytes (nothing repeats, so every piece is its own). */
async function nodeWithBackup(snapshotBytes: number): Promise<{dir: string; data: string}> {
  const dir = await scratch.dir('redrepl-icopy-node-')
  const data = path.join(dir, 'data.rdb')
  mkdirSync(path.join(dir, 'data.primary-replica'))
  const snapshot = Buffer.concat([Buffer.from('RDST'), randomBytes(snapshotBytes - 4)])
  writeFileSync(data, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS), snapshot]))
  assert.equal((await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '10', '--chunk-size', CHUNK])).exitCode, 0)
  return {dir, data}
}

const SHAPES = [
  {
    shape: 'pieces',
    suffix: '.redpack',
    // Three packs (16, 16 and 8 MiB of pieces); killed once the first is stored, at a rate that lets it land in seconds.
    least: 3,
    killAfter: 1,
    rate: '4MiB',
    async source(): Promise<string> {
      const {data} = await nodeWithBackup(40 * 1024 * 1024)
      const repo = await scratch.dir('redrepl-icopy-repo-')
      jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json']))
      return repo
    },
  },
  {
    shape: 'whole chunks',
    suffix: '.redchunk',
    least: 4,
    killAfter: 2,
    rate: '1MiB',
    async source(): Promise<string> {
      // The older push's objects: the manifest and its chunks under the layout's own names.
      const {dir} = await nodeWithBackup(4 * 1024 * 1024)
      const repo = await scratch.dir('redrepl-icopy-repo-')
      cpSync(layoutIn(dir).basebackupDir(1n), path.join(repo, new RepoKeys('db1').basebackupPrefix(1n)), {recursive: true})
      return repo
    },
  },
] as const

const filesIn = (repo: string, suffix: string) => (existsSync(path.join(repo, 'db1')) ? readdirSync(path.join(repo, 'db1'), {recursive: true, encoding: 'utf8'}).filter((name) => name.endsWith(suffix)) : [])

for (const {shape, suffix, least, killAfter, rate, source: makeSource} of SHAPES) {
  test(`repo copy of a backup stored as ${shape} killed mid-way: the target lists no partial backup and verifies; the next copy carries on and ends complete`, async () => {
    const source = await makeSource()
    const total = filesIn(source, suffix).length
    assert.ok(total >= least, `the source holds ${total} ${suffix} objects`)
    const target = await scratch.dir('redrepl-icopy-target-')
    const args = ['repo', 'copy', '--from', source, '--to', target, '--node', 'db1', '--jobs', '1', '--max-rate', rate]
    const ended = await interruptCli(args, {when: () => filesIn(target, suffix).length >= killAfter, signals: ['SIGKILL'], timeoutMs: 30_000, pollMs: 5, point: `${suffix} object ${killAfter}`, env: {REDREPL_NOW_MS: String(NOW_MS)}})
    assert.equal(ended.signal, 'SIGKILL')
    const copiedBefore = filesIn(target, suffix).length
    assert.ok(copiedBefore < total, `killed mid-way (${copiedBefore} of ${total} there)`)

    const listed = jsonOf(await runCli(['repo', 'list', '--repo', target, '--node', 'db1', '--json']))
    assert.deepEqual(listed.backups, [], 'no manifest before every piece or chunk: no partial backup listed')
    const verified = jsonOf(await runCli(['repo', 'verify', '--repo', target, '--node', 'db1', '--json']))
    assert.equal(verified.ok, true)

    const resumed = jsonOf(await runCli(['repo', 'copy', '--from', source, '--to', target, '--node', 'db1', '--json']))
    const [backup] = resumed.backups_copied as any[]
    if (shape === 'pieces') {
      // A pack is stored whole or not at all, and one there with its own bytes is never copied again.
      assert.equal(backup.pieces_copied, BigInt(total - copiedBefore), `the re-run copied ${backup.pieces_copied} pack(s), not the ${copiedBefore} already there`)
    } else {
      assert.ok(backup.chunks_copied <= total - copiedBefore + 1 && backup.chunks_copied > 0, `the re-run copied ${backup.chunks_copied} chunk(s), not the ${copiedBefore} already there`)
    }
    const after = jsonOf(await runCli(['repo', 'verify', '--repo', target, '--node', 'db1', '--json']))
    assert.equal(after.ok, true)
    const whole = jsonOf(await runCli(['repo', 'list', '--repo', target, '--node', 'db1', '--json']))
    assert.deepEqual((whole.backups as any[]).map((b) => [b.complete, b.storage]), [[true, shape === 'pieces' ? 'pieces' : 'chunks']])
    assert.equal(filesIn(target, suffix).length, total)
    assert.equal(readdirSync(target, {recursive: true, encoding: 'utf8'}).filter((name) => /\.tmp\b/.test(path.basename(name))).length, 0, 'no temp file left')
  })
}
