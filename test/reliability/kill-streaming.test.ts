import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {verifyLayout} from '../../src/core/ops/layout/verify.js'
import {interruptCli} from '../support/interrupt.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {treeOf} from '../support/tree.js'

const scratch = useScratch()

const SNAPSHOT_BYTES = 48 * 1024 * 1024
const ROUNDS = Number(process.env.KILL_ROUNDS ?? 4)

/** A node whose data file holds a large snapshot. */
async function bigNode(snapshot: Uint8Array) {
  const temp = {dir: await scratch.dir('redrepl-kill-')}
  const data = path.join(temp.dir, 'data.rdb')
  mkdirSync(path.join(temp.dir, 'data.primary-replica'))
  writeFileSync(data, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS), snapshot]))
  return {dir: temp.dir, data}
}

/** Runs the CLI and SIGKILLs it after `delayMs` (it may finish first). */
async function killedRun(args: string[], delayMs: number): Promise<void> {
  const started = performance.now()
  await interruptCli(args, {when: () => performance.now() - started >= delayMs, signals: ['SIGKILL'], finishedFirst: 'allow'})
}

test('SIGKILL at random moments during streaming create and materialize never leaves a half-written artifact', async () => {
  const snapshot = new Uint8Array(SNAPSHOT_BYTES)
  snapshot.set(randomBytes(SNAPSHOT_BYTES))
  snapshot.set(Buffer.from('RDST'))
  const reference = await bigNode(snapshot)
  const create = (data: string) => ['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '10', '--chunk-size', '1MiB']
  const materialize = (data: string) => ['basebackup', 'materialize', '--data-path', data, '--rebootstrap']
  assert.equal((await runCli(create(reference.data))).exitCode, 0)
  assert.equal((await runCli(materialize(reference.data))).exitCode, 0)
  const expected = treeOf(reference.dir)

  for (let round = 0; round < ROUNDS; round++) {
    const node = await bigNode(snapshot)
    for (const args of [create(node.data), materialize(node.data)]) {
      await killedRun(args, 150 + Math.floor(Math.random() * 600))
      const errors = (await verifyLayout(node.data, NOW_MS)).findings.filter((f) => f.severity === 'error')
      assert.deepEqual(errors, [], `round ${round}, after killing ${args.slice(0, 2).join(' ')}`)
      const rerun = await runCli(args)
      assert.equal(rerun.exitCode, 0, rerun.stderr)
    }
    assert.deepEqual(treeOf(node.dir), expected, `round ${round}`)
  }
})
