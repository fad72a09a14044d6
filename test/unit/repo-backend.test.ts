import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {readFileSync, statSync} from 'node:fs'
import {mkdtemp, open as openFile, readdir, rm, unlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import type {RepoBackend} from '../../src/core/repo/backend.js'
import {checkedStream, collect} from '../../src/core/repo/integrity.js'
import {openRepository, openStore} from '../../src/core/repo/open.js'
import {storedChecksum} from '../../src/core/repo/stored-crc.js'
import {throttledBackend} from '../../src/core/repo/throttled.js'
import {S3Server} from '../support/s3.js'

/** What the directory and S3 stores do beyond the suite every store passes (test/support/backend-suite.ts): the kernel copy, codecs, lent bodies, stored CRCs. */

const dirs: string[] = []
let server: S3Server
before(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-s3rver-'))
  dirs.push(dir)
  server = new S3Server(dir, ['unit'])
  await server.start()
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true'})
})
after(async () => {
  await server.kill()
  await Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true})))
})

const backends: Array<[string, () => Promise<RepoBackend>]> = [
  [
    'local',
    async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-repo-unit-'))
      dirs.push(dir)
      return openRepository({url: dir})
    },
  ],
  ['s3', () => openRepository({url: `s3://unit/p${Math.random().toString(36).slice(2)}`, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true})],
]

const bytes = (n: number, seed: number) => Uint8Array.from({length: n}, (_, i) => (i * 31 + seed) & 0xff)
const body = (data: Uint8Array, pieces = 3) =>
  async function* () {
    const step = Math.max(1, Math.ceil(data.length / pieces))
    for (let at = 0; at < data.length; at += step) yield data.subarray(at, at + step)
  }

// Put, get, list, stat, delete, failed puts and refused keys: test/unit/backend-suite.test.ts, for every store.
for (const [name, open] of backends) {
  test(`${name}: transfers in flight when the operator does not say`, async () => {
    const backend = await open()
    try {
      assert.equal(backend.defaultJobs, name === 'local' ? 8 : 4, 'more transfers in flight to hide a directory\'s fsyncs; fewer part buffers for S3')
    } finally {
      await backend.close()
    }
  })
}

/** A local file opened, then its name given to a FIFO: a reader that went back to the name would hang, one that keeps to the descriptor does not. */
async function openedThenReplacedByFifo(data: Uint8Array): Promise<{dir: string; fd: number; close: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-repo-unit-'))
  dirs.push(dir)
  const source = path.join(dir, 'source.redchunk')
  await writeFile(source, data, {mode: 0o600})
  const handle = await openFile(source, 'r')
  await unlink(source)
  execFileSync('mkfifo', [source])
  return {dir, fd: handle.fd, close: () => handle.close()}
}

const notRead = async function* (): AsyncGenerator<Uint8Array> {
  throw new Error('the body was read although the store could copy the open file')
}

test('local: a put offered its open source copies it in the kernel and checks the stored copy; a failed check leaves nothing', {timeout: 20_000}, async () => {
  const data = bytes(3 << 20, 8)
  const source = await openedThenReplacedByFifo(data)
  const backend = await openRepository({url: path.join(source.dir, 'repo')})
  try {
    const expected = {kind: 'chunk' as const, size: BigInt(data.length), checksum: crc32(data)}
    const checked: number[] = []
    const check = async (stored: number) => {
      checked.push(stored)
      await collect(checkedStream(body(readFileSync(stored), 5)(), expected, 'source'), expected.size, 'source')
    }
    await backend.put('n/t/a.redchunk', notRead, {...expected, localSource: {fd: source.fd, check}})
    assert.equal(checked.length, 1, 'the stored copy was checked')
    const stored = path.join(source.dir, 'repo', 'n', 't', 'a.redchunk')
    assert.deepEqual(readFileSync(stored), Buffer.from(data))
    await backend.put('n/t/c', body(bytes(10, 1)), {size: 10n, checksum: 0})
    assert.equal(statSync(stored).mode & 0o777, statSync(path.join(source.dir, 'repo', 'n', 't', 'c')).mode & 0o777, 'the mode of every object, not the source\'s')

    const wrong = {...expected, checksum: expected.checksum ^ 1}
    const refuse = (stored: number) => collect(checkedStream(body(readFileSync(stored))(), wrong, 'source'), wrong.size, 'source').then(() => {})
    await assert.rejects(backend.put('n/t/b.redchunk', notRead, {...wrong, localSource: {fd: source.fd, check: refuse}}), /source: checksum mismatch/)
    assert.deepEqual((await readdir(path.join(source.dir, 'repo', 'n', 't'))).sort(), ['a.redchunk', 'c'], 'no object and no temp file')
  } finally {
    await source.close()
    await backend.close()
  }
})

test('local: a store that compresses or paces the bytes takes the body, never the open source', async () => {
  const data = bytes(200_000, 9)
  const source = await openedThenReplacedByFifo(data)
  const expected = {kind: 'chunk' as const, size: BigInt(data.length), checksum: crc32(data)}
  const localSource = {fd: source.fd, check: () => Promise.reject(new Error('the store copied the open file'))}
  try {
    for (const [name, backend] of [
      ['gzip', await openRepository({url: path.join(source.dir, 'gzip'), compression: 'gzip'})],
      ['paced', throttledBackend(await openRepository({url: path.join(source.dir, 'paced')}), 64 << 20)],
    ] as const) {
      await backend.put('n/a.redchunk', () => checkedStream(body(data)(), expected, 'a'), {...expected, localSource})
      assert.deepEqual(await collect(backend.get('n/a.redchunk'), expected.size, 'a'), data, name)
      await backend.close()
    }
  } finally {
    await source.close()
  }
})

test('checkedStream checks a sealed object whatever the piece boundaries, and the size both ways', async () => {
  const payload = bytes(1000, 6)
  const sealed = new Uint8Array(1004)
  sealed.set(payload)
  new DataView(sealed.buffer).setUint32(1000, crc32(payload), true)
  for (const pieces of [1, 7, 333, 1004]) {
    const out = await collect(checkedStream(body(sealed, pieces)(), {kind: 'sealed', size: 1004n}, 's'), 2000n, 's')
    assert.deepEqual(out, sealed, `${pieces} pieces`)
  }
  const broken = Uint8Array.from(sealed)
  broken[1002] ^= 1
  await assert.rejects(collect(checkedStream(body(broken, 5)(), {kind: 'sealed', size: 1004n}, 's'), 2000n, 's'), /s: checksum mismatch/)
  await assert.rejects(collect(checkedStream(body(sealed)(), {kind: 'sealed', size: 1005n}, 's'), 2000n, 's'), /holds 1004 bytes, expected 1005/)
  await assert.rejects(collect(checkedStream(body(sealed)(), {kind: 'sealed', size: 1000n}, 's'), 2000n, 's'), /more than the 1000 bytes/)
})

for (const [name, open] of backends) {
  test(`${name}: gzip objects list and stat with their logical key and size, read back whole, and a damaged one fails as corrupt`, async () => {
    const settings = {url: (await open()).location, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true}
    const plain = await openStore(settings)
    const backend = await openRepository({...settings, compression: 'gzip'})
    try {
      const a = bytes(300_000, 7)
      const expected = {kind: 'chunk' as const, size: 300_000n, checksum: crc32(a)}
      await backend.put('n/t/a.redchunk', () => checkedStream(body(a, 11)(), expected, 'a'), {size: expected.size, checksum: expected.checksum})
      const listed: Array<[string, bigint]> = []
      for await (const object of backend.list('n/')) listed.push([object.key, object.size])
      assert.deepEqual(listed, [['n/t/a.redchunk', 300_000n]])
      assert.deepEqual(await backend.stat('n/t/a.redchunk'), {size: 300_000n})
      const raw: string[] = []
      for await (const object of plain.list('n/')) raw.push(object.key)
      assert.deepEqual(raw, ['n/t/a.redchunk.300000.gz'], 'stored under its codec name')
      assert.deepEqual(await collect(checkedStream(backend.get('n/t/a.redchunk'), expected, 'a'), 1n << 20n, 'a'), a)

      // Bytes that do not compress come out larger than the object they stand for, and are stored whole all the same.
      const noise = randomBytes(5000)
      const noisy = {kind: 'chunk' as const, size: 5000n, checksum: crc32(noise)}
      await backend.put('n/t/noise.redchunk', () => checkedStream(body(noise, 4)(), noisy, 'noise'), {size: noisy.size, checksum: noisy.checksum})
      assert.deepEqual(await collect(checkedStream(backend.get('n/t/noise.redchunk'), noisy, 'noise'), 1n << 20n, 'noise'), Uint8Array.from(noise))

      // A compressed object cut short: the reader fails it as corrupt, never returns short bytes as good.
      const stored = await collect(plain.get('n/t/a.redchunk.300000.gz'), 1n << 20n, 'raw')
      await plain.put('n/t/a.redchunk.300000.gz', body(stored.subarray(0, stored.length - 20)), {size: BigInt(stored.length - 20), checksum: 0})
      const fresh = await openRepository(settings)
      await assert.rejects(collect(checkedStream(fresh.get('n/t/a.redchunk'), expected, 'a'), 1n << 20n, 'a'), (error: any) => error.kind === 'corrupt' && /cannot decompress \(gzip\)/.test(error.message))
      await fresh.delete('n/t/a.redchunk')
      assert.equal(await fresh.stat('n/t/a.redchunk'), null)
      await fresh.close()
    } finally {
      await backend.close()
      await plain.close()
    }
  })
}

/** A body that reads into one buffer, as `repo push` does: each piece is overwritten as soon as the next is asked for. */
const lendingBody = (data: Uint8Array, pieceBytes: number) =>
  async function* () {
    const buffer = Buffer.alloc(pieceBytes)
    for (let at = 0; at < data.length; at += pieceBytes) {
      const piece = data.subarray(at, at + pieceBytes)
      buffer.set(piece)
      yield buffer.subarray(0, piece.length)
      buffer.fill(0xee)
    }
  }

for (const [name, open] of backends) {
  for (const compression of ['none', 'gzip'] as const) {
    test(`${name}, ${compression}: a body that lends one buffer for every piece is stored intact, sealed and chunk objects alike`, async () => {
      const settings = {url: (await open()).location, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true, compression}
      const backend = await openRepository(settings)
      try {
        const chunk = bytes(1_000_003, 9)
        const sealedOf = (n: number) => {
          const sealed = new Uint8Array(n + 4)
          sealed.set(bytes(n, 10))
          new DataView(sealed.buffer).setUint32(n, crc32(sealed.subarray(0, n)), true)
          return sealed
        }
        // A sealed object of one piece and one of two: its trailing CRC is held back across the lent pieces.
        const [small, large] = [sealedOf(1000), sealedOf(70_000)]
        const objects: Array<[string, Uint8Array, Parameters<typeof checkedStream>[1]]> = [
          ['n/t/a.redchunk', chunk, {kind: 'chunk', size: BigInt(chunk.length), checksum: crc32(chunk)}],
          ['n/t/b.redwal', small, {kind: 'sealed', size: BigInt(small.length)}],
          ['n/t/c.redwal', large, {kind: 'sealed', size: BigInt(large.length)}],
        ]
        for (const [key, data, expected] of objects) {
          await backend.put(key, () => checkedStream(lendingBody(data, 65_536)(), expected, key), {size: BigInt(data.length), checksum: 0})
          assert.deepEqual(await collect(checkedStream(backend.get(key), expected, key), 1n << 21n, key), data, key)
        }
      } finally {
        await backend.close()
      }
    })
  }
}

/** A sealed object: its last 4 bytes are the CRC of the bytes before them, as RedDB's artifacts end. */
function sealed(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n + 4)
  out.set(bytes(n, seed))
  new DataView(out.buffer).setUint32(n, crc32(out.subarray(0, n)), true)
  return out
}

for (const [name, open] of backends) {
  for (const compression of ['none', 'gzip'] as const) {
    test(`${name}, ${compression}: the stored CRC of an object is RedDB's CRC of its bytes, read without downloading where the store allows`, async () => {
      const plain = await open()
      const backend = compression === 'none' ? plain : await openRepository({url: plain.location, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true, compression})
      try {
        const segment = sealed(50_000, 7)
        const checksum = new DataView(segment.buffer).getUint32(segment.length - 4, true)
        await backend.put('n/timeline-1/wal/1.redwal', body(segment), {size: BigInt(segment.length), checksum})
        const chunk = bytes(30_000, 9)
        await backend.put('n/timeline-1/c.redchunk', body(chunk), {size: BigInt(chunk.length), checksum: crc32(chunk)})
        for await (const _ of backend.list('n/')); // learn the stored forms, as every command does
        assert.equal(await storedChecksum(backend, 'n/timeline-1/wal/1.redwal', BigInt(segment.length), 'sealed'), checksum)
        assert.equal(await storedChecksum(backend, 'n/timeline-1/c.redchunk', BigInt(chunk.length), 'chunk'), crc32(chunk))
        // S3 keeps the CRC as metadata, whatever the codec; a directory keeps none (its trailer is read instead).
        assert.equal(await backend.checksum('n/timeline-1/wal/1.redwal'), name === 's3' ? checksum : null)
      } finally {
        await backend.close()
        if (backend !== plain) await plain.close()
      }
    })
  }
}
