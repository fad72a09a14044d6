import fc from 'fast-check'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {test} from 'node:test'

import {Chunker, CUT_RULE, type CutRule, findCut, GearCutter} from '../../src/core/codec/cdc.js'
import {referenceCut} from '../support/reference-cut.js'

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150)

/** Every cut of a whole stream by the reference loop. */
function referenceCuts(bytes: Uint8Array, rule: CutRule): number[] {
  const cuts: number[] = []
  for (let start = 0; start < bytes.length; ) {
    start = referenceCut(bytes, start, bytes.length, true, rule)
    cuts.push(start)
  }
  return cuts
}

async function chunkerCuts(bytes: Uint8Array, feeds: number[], rule: CutRule): Promise<number[]> {
  const cuts: number[] = []
  let at = 0
  const chunker = new Chunker(async (piece) => {
    at += piece.length
    cuts.push(at)
  }, rule)
  let i = 0
  for (let k = 0; i < bytes.length; k++) {
    const feed = feeds[k % feeds.length]
    await chunker.push(bytes.subarray(i, i + feed))
    i += feed
  }
  await chunker.finish()
  return cuts
}

const top = (bits: number) => (0xffffffff << (32 - bits)) >>> 0
/** Small sizes, so that a few KiB hold many pieces; masks with their top bit set, as the repository's. */
const SMALL: CutRule = {min: 64, avg: 256, max: 1024, maskHard: top(9), maskEasy: top(5)}

/** Random bytes, runs of one value (no cut before max) and short repeated patterns, mixed. */
const streamBytes = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        fc.uint8Array({minLength: 1, maxLength: 700}),
        fc.tuple(fc.integer({min: 0, max: 255}), fc.integer({min: 1, max: 2500})).map(([value, count]) => new Uint8Array(count).fill(value)),
        fc.tuple(fc.uint8Array({minLength: 1, maxLength: 5}), fc.integer({min: 1, max: 300})).map(([pattern, times]) => Uint8Array.from({length: pattern.length * times}, (_, j) => pattern[j % pattern.length])),
      ),
      {maxLength: 12},
    )
    .map((parts) => Uint8Array.from(Buffer.concat(parts).subarray(0, maxLength)))

test('the JavaScript loop and the WebAssembly loop find the reference cut for every start, end and last, on random bytes', () => {
  const cutter = new GearCutter(SMALL)
  fc.assert(
    fc.property(streamBytes(SMALL.max), fc.integer({min: 0, max: SMALL.max}), fc.integer({min: 0, max: SMALL.max}), fc.boolean(), (bytes, a, b, last) => {
      const start = Math.min(a, b, bytes.length)
      const end = Math.min(Math.max(a, b), bytes.length)
      cutter.bytes.fill(0x5a)
      cutter.bytes.set(bytes)
      const expected = referenceCut(bytes, start, end, last, SMALL)
      assert.equal(findCut(bytes, start, end, last, SMALL), expected, 'findCut')
      assert.equal(cutter.cut(start, end, last), expected, 'GearCutter')
    }),
    {numRuns: RUNS * 10},
  )
})

test('the Chunker cuts a stream fed in any sizes where the reference loop cuts it whole', async () => {
  await fc.assert(
    fc.asyncProperty(streamBytes(20_000), fc.array(fc.integer({min: 1, max: 3000}), {minLength: 1, maxLength: 5}), async (bytes, feeds) => {
      assert.deepEqual(await chunkerCuts(bytes, feeds, SMALL), referenceCuts(bytes, SMALL))
    }),
    {numRuns: RUNS * 2},
  )
})

test('with the repository rule, random and repetitive snapshots are cut where the reference loop cuts them', async () => {
  const MiB = 1024 * 1024
  const patterned = Uint8Array.from({length: 6 * MiB}, (_, j) => (j * 7) % 251)
  for (const bytes of [randomBytes(8 * MiB), patterned, Buffer.concat([randomBytes(2 * MiB), new Uint8Array(5 * MiB), randomBytes(1 * MiB + 77)])]) {
    const expected = referenceCuts(bytes, CUT_RULE)
    assert.ok(expected.length >= 2)
    assert.deepEqual(await chunkerCuts(bytes, [1 * MiB, 65_536, 12_345], CUT_RULE), expected)
  }
})

test('where Node runs without WebAssembly (--jitless), the Chunker cuts with the JavaScript loop, at the same places', () => {
  const bytes = randomBytes(40_000)
  const script = `
    const {Chunker, findCut} = await import(${JSON.stringify(new URL('../../src/core/codec/cdc.js', import.meta.url).href)})
    const rule = ${JSON.stringify(SMALL)}
    const bytes = Buffer.from(process.argv[1], 'base64')
    const cuts = []
    let at = 0
    const chunker = new Chunker(async (piece) => { at += piece.length; cuts.push(at) }, rule)
    for (let i = 0; i < bytes.length; i += 777) await chunker.push(bytes.subarray(i, i + 777))
    await chunker.finish()
    process.stdout.write(JSON.stringify({wasm: typeof WebAssembly, cuts}))
  `
  const child = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script, bytes.toString('base64')], {encoding: 'utf8', timeout: 60_000})
  assert.equal(child.status, 0, child.stderr)
  const {wasm, cuts} = JSON.parse(child.stdout) as {wasm: string; cuts: number[]}
  assert.equal(wasm, 'undefined')
  assert.deepEqual(cuts, referenceCuts(bytes, SMALL))
})
