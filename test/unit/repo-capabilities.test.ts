import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import type {RepoBackend, StoreCapabilities} from '../../src/core/repo/backend.js'
import {CodecBackend} from '../../src/core/repo/codec.js'
import {collect} from '../../src/core/repo/integrity.js'
import {openRepository, openStore} from '../../src/core/repo/open.js'
import {SEAL_FRAME_BYTES, SealBackend} from '../../src/core/repo/seal.js'
import {throttledBackend} from '../../src/core/repo/throttled.js'

/** What each stack of wrappers over a directory declares, and that its behaviour keeps to the declaration. */

const dirs: string[] = []
after(() => Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true}))))

const scratchDir = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-caps-'))
  dirs.push(dir)
  return dir
}
const directory = async () => openStore({url: await scratchDir()})
const sealKey = () => ({key: randomBytes(32), id: randomBytes(8), frameBytes: SEAL_FRAME_BYTES})

const DIRECTORY: StoreCapabilities = {localFile: true, storedChecksum: false, deadTempSweep: true, durableFlush: true, kernelCopy: true}
const STACKS: Array<[string, () => Promise<RepoBackend>, StoreCapabilities]> = [
  ['directory', directory, DIRECTORY],
  ['directory, codec none', async () => new CodecBackend(await directory(), 'none'), DIRECTORY],
  ['directory, gzip', async () => new CodecBackend(await directory(), 'gzip'), {...DIRECTORY, kernelCopy: false}],
  ['directory, zstd', async () => new CodecBackend(await directory(), 'zstd'), {...DIRECTORY, kernelCopy: false}],
  ['directory, sealed', async () => new SealBackend(await directory(), sealKey(), 'redrepl.repository'), {...DIRECTORY, localFile: false, kernelCopy: false}],
  ['directory, sealed, codec none', async () => new CodecBackend(new SealBackend(await directory(), sealKey(), 'redrepl.repository'), 'none'), {...DIRECTORY, localFile: false, kernelCopy: false}],
  ['directory, paced', async () => throttledBackend(await directory(), 64 << 20), {...DIRECTORY, localFile: false, kernelCopy: false}],
  ['directory, codec none, paced', async () => throttledBackend(new CodecBackend(await directory(), 'none'), 64 << 20), {...DIRECTORY, localFile: false, kernelCopy: false}],
  // The stacks as a run opens them (repo/open.ts): codec over the store, paced when a rate is given.
  ['directory as opened', async () => openRepository({url: await scratchDir()}), DIRECTORY],
  ['directory as opened with a max rate', async () => openRepository({url: await scratchDir(), maxRate: 64 << 20}), {...DIRECTORY, localFile: false, kernelCopy: false}],
  ['directory as opened with zstd', async () => openRepository({url: await scratchDir(), compression: 'zstd'}), {...DIRECTORY, kernelCopy: false}],
]

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

for (const [name, open, expected] of STACKS) {
  test(`${name}: declares ${Object.entries(expected).filter(([, on]) => on).map(([flag]) => flag).join(', ') || 'nothing'}, and keeps to it`, async () => {
    const backend = await open()
    try {
      assert.deepEqual(backend.capabilities, expected)
      const data = Uint8Array.from({length: 5000}, (_, i) => (i * 7) & 0xff)
      const checksum = crc32(data)
      // A source the store may copy in the kernel; its check fails, so a store that took it refuses the put.
      const localSource = {fd: -1, check: () => Promise.reject(new Error('the store copied the source'))}
      const options = {size: BigInt(data.length), checksum, ...(backend.capabilities.kernelCopy ? {} : {localSource})}
      await backend.put('n/t/a.redwal', () => once(data), options)
      for await (const _ of backend.list('n/')); // learn the stored forms, as every command does
      assert.deepEqual(await collect(backend.get('n/t/a.redwal'), 1n << 20n, 'a'), data, 'the body was stored, not the source')
      const file = backend.localFile('n/t/a.redwal')
      if (expected.localFile && !name.includes('zip') && !name.includes('zstd')) assert.deepEqual(readFileSync(file!), Buffer.from(data), 'the local file holds the bytes')
      if (!expected.localFile) assert.equal(file, undefined, 'no local file without the capability')
      assert.equal(await backend.checksum('n/t/a.redwal'), expected.storedChecksum ? checksum : null)
      assert.deepEqual(await backend.sweepDeadTemps('n/', {nowMs: 0n, graceMs: 0n, dryRun: true}), {count: 0, bytes: 0n})
    } finally {
      await backend.close()
    }
  })
}
