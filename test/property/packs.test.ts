import fc from 'fast-check'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {test} from 'node:test'

import {FormatError} from '../../src/core/errors.js'
import {decodePack, encodePack, PACK_HEADER_BYTES} from '../../src/core/format/pack.js'
import {decodePieceIndex, encodePieceIndex, type PieceIndex, type PieceRef} from '../../src/core/format/piece-index.js'
import {PieceLookup} from '../../src/core/repo/pieces.js'

/**
 * The repository's own formats for pieces (format/pack.ts,
 * format/piece-index.ts) under random models and random damage: every
 * model round-trips; every mutated byte string either is refused with a
 * FormatError or decodes to a model that encodes back to those very bytes
 * (never a crash, never a silent misreading).
 */

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150)
const digest = () => fc.uint8Array({minLength: 32, maxLength: 32}).map((b) => Buffer.from(b).toString('hex'))

const packedIndex = (): fc.Arbitrary<PieceIndex> =>
  fc
    .record({packs: fc.array(digest(), {minLength: 1, maxLength: 4}), pieces: fc.array(fc.record({sha256: digest(), bytes: fc.integer({min: 1, max: 128 * 1024}), pack: fc.nat(), offset: fc.integer({min: 0, max: 16 * 1024 * 1024 - 128 * 1024})}), {maxLength: 12})})
    .map(({packs, pieces}) => {
      const refs: PieceRef[] = pieces.map((p) => ({sha256: p.sha256, bytes: p.bytes, pack: {sha256: packs[p.pack % packs.length], offset: PACK_HEADER_BYTES + p.offset}}))
      return {snapshot_bytes: refs.reduce((sum, r) => sum + BigInt(r.bytes), 0n), pieces: refs}
    })

const loneIndex = (): fc.Arbitrary<PieceIndex> =>
  fc.array(fc.record({sha256: digest(), bytes: fc.integer({min: 1, max: 4 * 1024 * 1024})}), {minLength: 1, maxLength: 12}).map((records) => {
    const pieces = records.map(({sha256, bytes}) => ({sha256, bytes}))
    return {snapshot_bytes: pieces.reduce((sum, r) => sum + BigInt(r.bytes), 0n), pieces}
  })

/** A byte string damaged one of the ways storage damages it: a flipped bit, a cut, bytes appended, a run overwritten. */
const damaged = (bytes: Uint8Array) =>
  fc.oneof(
    fc.record({at: fc.nat(bytes.length - 1), bit: fc.integer({min: 0, max: 7})}).map(({at, bit}) => {
      const out = Uint8Array.from(bytes)
      out[at] ^= 1 << bit
      return out
    }),
    fc.nat(bytes.length - 1).map((cut) => bytes.subarray(0, cut)),
    fc.uint8Array({minLength: 1, maxLength: 8}).map((tail) => Buffer.concat([bytes, tail])),
    fc.record({at: fc.nat(bytes.length - 1), run: fc.uint8Array({minLength: 1, maxLength: 16})}).map(({at, run}) => {
      const out = Uint8Array.from(bytes)
      out.set(run.subarray(0, out.length - at), at)
      return out
    }),
  )

function refusedOrExact<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, encode: (m: T) => Uint8Array): void {
  let model: T
  try {
    model = decode(bytes)
  } catch (error) {
    assert.ok(error instanceof FormatError, `not a FormatError: ${String(error)}`)
    return
  }
  assert.deepEqual(Buffer.from(encode(model)), Buffer.from(bytes), 'a damaged index that decodes must be exactly what it encodes to')
}

test('piece index, both versions: every model round-trips; damage is refused or reads back exactly', () => {
  fc.assert(
    fc.property(fc.oneof(packedIndex(), loneIndex()).chain((index) => fc.tuple(fc.constant(index), damaged(encodePieceIndex(index)))), ([index, broken]) => {
      const bytes = encodePieceIndex(index)
      assert.deepEqual(decodePieceIndex(bytes), index)
      refusedOrExact(broken, decodePieceIndex, encodePieceIndex)
    }),
    {numRuns: RUNS},
  )
})

test('pack: every set of pieces round-trips with each piece where its entry says; damage is refused', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({minLength: 1, maxLength: 300}), {maxLength: 6}).chain((pieces) => fc.tuple(fc.constant(pieces), damaged(encodePack(pieces).bytes))),
      ([pieces, broken]) => {
        const pack = encodePack(pieces)
        const {entries} = decodePack(pack.bytes)
        assert.deepEqual(entries, pack.entries)
        for (const [i, entry] of entries.entries()) {
          assert.deepEqual(Buffer.from(pack.bytes.subarray(entry.offset, entry.offset + entry.bytes)), Buffer.from(pieces[i]))
          assert.equal(entry.sha256, createHash('sha256').update(pieces[i]).digest('hex'))
        }
        // The CRC covers every byte, so no damage of these kinds reads as a pack.
        assert.throws(() => decodePack(broken), FormatError)
      },
    ),
    {numRuns: RUNS},
  )
})

test('the push lookup finds exactly the packed pieces added, with their place, and nothing else', () => {
  fc.assert(
    fc.property(fc.array(packedIndex(), {maxLength: 4}), digest(), (indexes, stranger) => {
      const lookup = new PieceLookup()
      for (const index of indexes) lookup.add(index)
      const all = indexes.flatMap((index) => index.pieces)
      for (const ref of all) {
        const places = [...lookup.find(ref.sha256, ref.bytes)]
        assert.ok(places.some((p) => p.pack === ref.pack!.sha256 && p.offset === ref.pack!.offset), `${ref.sha256} found where it lies`)
      }
      if (!all.some((ref) => ref.sha256.slice(0, 32) === stranger.slice(0, 32))) assert.deepEqual([...lookup.find(stranger, 1)], [])
      for (const ref of all) if (!all.some((other) => other.sha256 === ref.sha256 && other.bytes === ref.bytes + 1)) assert.deepEqual([...lookup.find(ref.sha256, ref.bytes + 1)], [], 'another size is another piece')
    }),
    {numRuns: RUNS},
  )
})
