/**
 * The cases every repository store passes, whatever keeps its bytes (a
 * directory, S3, memory) and whatever wrappers it sits under (sealing,
 * compression): what the repository operations rely on, asked of each in
 * the same words. `backendSuite` registers them as node:test tests.
 */
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {crc32} from '../../src/core/codec/crc.js'
import {isAbsent, type RepoBackend} from '../../src/core/repo/backend.js'
import {checkedStream, collect} from '../../src/core/repo/integrity.js'

export interface SuiteStore {
  backend: RepoBackend
  /** Every name the store holds under the repository, as the store itself names them: temp files, compressed and sealed forms included. */
  raw(): Promise<string[]>
  close?(): Promise<void>
}

export interface SuiteOptions {
  /** Bytes of the object the streaming case puts and reads; 0 leaves the case out. */
  largeBytes?: number
  /** The most the bytes the process holds (heap and buffers, collected first) may grow while that object passes. */
  largeHeldBytes?: number
}

export const patterned = (n: number, seed: number): Uint8Array => Uint8Array.from({length: n}, (_, i) => (i * 31 + seed) & 0xff)

/** A body in `pieces` pieces, all lent from one buffer overwritten after each is taken, as `repo push` reads. */
export const lentBody = (data: Uint8Array, pieces = 3) =>
  async function* (): AsyncGenerator<Uint8Array> {
    const step = Math.max(1, Math.ceil(data.length / pieces))
    const buffer = new Uint8Array(step)
    for (let at = 0; at < data.length; at += step) {
      const piece = data.subarray(at, at + step)
      buffer.set(piece)
      yield buffer.subarray(0, piece.length)
      buffer.fill(0xee)
    }
  }

/** A sealed object as RedDB ends its artifacts: the CRC of the bytes before them in the last 4. */
export function sealedObject(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n + 4)
  out.set(patterned(n, seed))
  new DataView(out.buffer).setUint32(n, crc32(out.subarray(0, n)), true)
  return out
}

const chunkOf = (data: Uint8Array) => ({kind: 'chunk' as const, size: BigInt(data.length), checksum: crc32(data)})

async function listed(backend: RepoBackend, prefix: string): Promise<Array<[string, bigint]>> {
  const out: Array<[string, bigint]> = []
  for await (const object of backend.list(prefix)) out.push([object.key, object.size])
  return out
}

/** A full collection on demand, so that what RSS shows is what is held, not garbage not yet collected. */
function collector(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

export function backendSuite(name: string, open: () => Promise<SuiteStore>, options: SuiteOptions = {}): void {
  const withStore = (title: string, run: (store: SuiteStore) => Promise<void>, timeout = 30_000) =>
    test(`${name}: ${title}`, {timeout}, async () => {
      const store = await open()
      try {
        await run(store)
      } finally {
        await store.backend.close()
        await store.close?.()
      }
    })

  withStore('put then get is byte-identical, for an empty object, one piece, many lent pieces and a sealed object', async ({backend}) => {
    const objects: Array<[string, Uint8Array, number]> = [
      ['n/t/empty.redchunk', new Uint8Array(0), 1],
      ['n/t/one.redchunk', patterned(1000, 1), 1],
      ['n/t/many.redchunk', patterned(300_001, 2), 37],
      ['n/t/wal/1.redwal', sealedObject(70_000, 3), 5],
      ['n/facts.json', patterned(17, 4), 2],
    ]
    for (const [key, data, pieces] of objects) {
      await backend.put(key, lentBody(data, pieces), {size: BigInt(data.length), checksum: crc32(data)})
      assert.deepEqual(await collect(backend.get(key), 1n << 20n, key), data, key)
      assert.deepEqual(await backend.stat(key), {size: BigInt(data.length)}, key)
    }
  })

  withStore('a listing is sorted by key, holds exactly the keys under its prefix, with their sizes and times', async ({backend}) => {
    const before = BigInt(Date.now()) - 5000n
    const keys: Array<[string, number]> = [
      ['n/t/wal/00000000000000000002.redwal', 30],
      ['n/t/wal/00000000000000000001.redwal', 20],
      ['n/t1/x.redchunk', 7],
      ['n/t/b.redchunk', 10],
      ['m/t/a.redchunk', 5],
      ['n/u', 3],
    ]
    for (const [key, size] of keys) await backend.put(key, lentBody(patterned(size, size)), {size: BigInt(size), checksum: crc32(patterned(size, size))})
    assert.deepEqual(await listed(backend, 'n/t/'), [
      ['n/t/b.redchunk', 10n],
      ['n/t/wal/00000000000000000001.redwal', 20n],
      ['n/t/wal/00000000000000000002.redwal', 30n],
    ])
    // A prefix is a string prefix, not a directory: n/t matches n/t1/ too.
    assert.deepEqual((await listed(backend, 'n/t')).map(([key]) => key), ['n/t/b.redchunk', 'n/t/wal/00000000000000000001.redwal', 'n/t/wal/00000000000000000002.redwal', 'n/t1/x.redchunk'])
    assert.deepEqual((await listed(backend, 'n/')).map(([key]) => key), ['n/t/b.redchunk', 'n/t/wal/00000000000000000001.redwal', 'n/t/wal/00000000000000000002.redwal', 'n/t1/x.redchunk', 'n/u'])
    assert.deepEqual(await listed(backend, 'z/'), [])
    for await (const object of backend.list('n/')) assert.ok(object.modified_unix_ms >= before && object.modified_unix_ms <= BigInt(Date.now()) + 5000n, `${object.key}: modified ${object.modified_unix_ms}`)
  })

  withStore('stat, get and delete of a missing key: null, not-found, and no error', async ({backend, raw}) => {
    assert.equal(await backend.stat('n/missing.redchunk'), null)
    await assert.rejects(collect(backend.get('n/missing.redchunk'), 100n, 'missing'), (error) => isAbsent(error), 'get of a missing key is classified not-found')
    await backend.delete('n/missing.redchunk')
    const data = patterned(10, 5)
    await backend.put('n/gone.redchunk', lentBody(data), {size: 10n, checksum: crc32(data)})
    await backend.delete('n/gone.redchunk')
    await backend.delete('n/gone.redchunk')
    assert.equal(await backend.stat('n/gone.redchunk'), null)
    await assert.rejects(collect(backend.get('n/gone.redchunk'), 100n, 'gone'), (error) => isAbsent(error))
    assert.deepEqual(await listed(backend, 'n/'), [])
    assert.deepEqual(await raw(), [], 'nothing left in the store')
  })

  withStore('a put over an existing key replaces it whole: one object, the new bytes and size', async ({backend}) => {
    const first = patterned(50_000, 6)
    const second = patterned(1234, 7)
    await backend.put('n/t/a.redchunk', lentBody(first), {size: BigInt(first.length), checksum: crc32(first)})
    await backend.put('n/t/a.redchunk', lentBody(second), {size: BigInt(second.length), checksum: crc32(second)})
    assert.deepEqual(await collect(backend.get('n/t/a.redchunk'), 1n << 20n, 'a'), second)
    assert.deepEqual(await listed(backend, 'n/'), [['n/t/a.redchunk', 1234n]])
    if (backend.capabilities.storedChecksum) assert.equal(await backend.checksum('n/t/a.redchunk'), crc32(second))
  })

  withStore('the stored checksum is the one given at put where the store keeps one, and null where it does not', async ({backend}) => {
    const data = patterned(4000, 8)
    await backend.put('n/t/c.redchunk', lentBody(data), {size: 4000n, checksum: crc32(data)})
    for await (const _ of backend.list('n/')); // learn the stored forms, as every command does
    assert.equal(await backend.checksum('n/t/c.redchunk'), backend.capabilities.storedChecksum ? crc32(data) : null)
    assert.equal(await backend.checksum('n/t/missing.redchunk').catch((error) => (isAbsent(error) ? null : Promise.reject(error))), null)
  })

  withStore('a body that throws, or whose bytes fail their checksum, leaves no object and no temp', async ({backend, raw}) => {
    const good = patterned(9000, 9)
    const failing = async function* () {
      yield patterned(100, 10)
      throw new Error('connection dropped')
    }
    await assert.rejects(backend.put('n/t/y.redwal', failing, {size: 200n, checksum: 0}), /connection dropped/)
    const bad = Uint8Array.from(good)
    bad[4500] ^= 1
    const expected = chunkOf(good)
    await assert.rejects(backend.put('n/t/x.redchunk', () => checkedStream(lentBody(bad)(), expected, 'x'), {size: 9000n, checksum: expected.checksum}), /checksum mismatch/)
    // Over an object already there, a failed put leaves the old one as it was.
    await backend.put('n/t/z.redchunk', lentBody(good), {size: 9000n, checksum: expected.checksum})
    const rawBefore = await raw()
    await assert.rejects(backend.put('n/t/z.redchunk', () => checkedStream(lentBody(bad)(), expected, 'z'), {size: 9000n, checksum: expected.checksum}), /checksum mismatch/)
    assert.deepEqual(await collect(backend.get('n/t/z.redchunk'), 1n << 20n, 'z'), good)
    assert.equal(await backend.stat('n/t/x.redchunk'), null)
    assert.equal(await backend.stat('n/t/y.redwal'), null)
    assert.deepEqual(await listed(backend, 'n/'), [['n/t/z.redchunk', 9000n]])
    assert.deepEqual(await raw(), rawBefore, 'no temp and no other stored name left behind')
  })

  withStore('keys that could leave the repository are refused before anything is stored', async ({backend, raw}) => {
    const data = patterned(10, 11)
    for (const key of ['../escape', 'n/../../x', '/abs', 'n//x', '', 'n/./x']) {
      await assert.rejects(backend.put(key, lentBody(data), {size: 10n, checksum: 0}), (error: any) => error.kind === 'usage', key)
    }
    assert.deepEqual(await raw(), [])
  })

  const largeBytes = options.largeBytes ?? 0
  if (largeBytes > 0) {
    withStore(`an object of ${largeBytes >> 20} MiB is streamed both ways, never held whole`, async ({backend}) => {
      const pieceBytes = 1 << 20
      const piece = patterned(pieceBytes, 12)
      const pieceCrc = crc32(piece)
      let checksum = 0
      for (let at = 0; at < largeBytes; at += pieceBytes) checksum = crc32(piece, checksum)
      const gc = collector()
      const held = () => {
        const usage = process.memoryUsage()
        return usage.heapUsed + usage.external
      }
      gc()
      const base = held()
      const rssBase = process.memoryUsage().rss
      let peak = base
      let rssPeak = rssBase
      // Collected before each sample: the peak is of bytes held at once, not of pieces already dropped.
      const measure = () => {
        gc()
        peak = Math.max(peak, held())
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
      }
      // Sampled as each piece is asked for and as each MiB comes back, since a store that never waits on I/O gives a timer no turn; and on a timer, for the waits.
      const sample = setInterval(measure, 20)
      // One buffer lent again and again: the body itself holds 1 MiB.
      const body = async function* () {
        for (let at = 0; at < largeBytes; at += pieceBytes) {
          measure()
          yield piece
        }
        measure()
      }
      try {
        await backend.put('n/t/large.redwal', body, {size: BigInt(largeBytes), checksum})
        let read = 0
        let crc = 0
        let unmeasured = 0
        for await (const got of backend.get('n/t/large.redwal')) {
          read += got.length
          crc = crc32(got, crc)
          unmeasured += got.length
          if (unmeasured >= pieceBytes) {
            measure()
            unmeasured = 0
          }
        }
        assert.equal(read, largeBytes)
        assert.equal(crc, checksum, `read back whole (one piece's CRC ${pieceCrc})`)
      } finally {
        clearInterval(sample)
      }
      const limit = options.largeHeldBytes ?? largeBytes / 2
      const mib = (n: number) => (n / 2 ** 20).toFixed(1)
      const seen = `held bytes grew ${mib(peak - base)} MiB (RSS ${mib(rssPeak - rssBase)} MiB) for a ${largeBytes >> 20} MiB object`
      assert.ok(peak - base < limit, `${seen}, more than ${mib(limit)} MiB`)
      console.log(`# ${name}: ${seen}`)
    }, 120_000)
  }
}
