import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec, WalSegmentStreamCheck} from '../../src/core/format/wal-segment.js'
import {FormatError} from '../../src/core/errors.js'
import {fixturePath} from '../support/fixtures.js'
import {mutate, random} from '../fuzz/mutate.js'

/**
 * The streaming check `repo fetch-wal` runs on a segment as it downloads
 * must accept exactly what `decode` accepts: the two implement the same
 * rules twice, so they are held to each other on RedDB's own segments, the
 * invalid fixtures, and thousands of mutations with a good file CRC.
 */

function decodes(bytes: Uint8Array): boolean {
  try {
    walSegmentCodec.decode(bytes, {nowMs: 0n})
    return true
  } catch (error) {
    if (!(error instanceof FormatError)) throw error
    return false
  }
}

/** The stream check over `bytes` in pieces of random sizes (1 byte to the whole file). */
function streams(bytes: Uint8Array, rand: () => number): boolean {
  try {
    const check = new WalSegmentStreamCheck(BigInt(bytes.length))
    for (let at = 0; at < bytes.length; ) {
      const size = rand() < 0.3 ? 1 : 1 + Math.floor(rand() * bytes.length)
      check.push(bytes.subarray(at, at + size))
      at += size
    }
    check.finish()
    return true
  } catch (error) {
    if (!(error instanceof FormatError)) throw error
    return false
  }
}

function reseal(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 4) new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true)
  return bytes
}

function seeds(): Uint8Array[] {
  const dir = fixturePath('valid', 'wal-segment')
  const fixtures = readdirSync(dir)
    .filter((name) => name.endsWith('.redwal'))
    .map((name) => new Uint8Array(readFileSync(path.join(dir, name))))
  let built = emptyWalSegment(2n, 3n, 1_048_576n)
  for (let k = 0n; k < 5n; k++) built = appendWalRecord(built, 3n * 1_048_576n + k * 2n, new Uint8Array(Number(k) * 7), 1_048_576n)
  return [...fixtures, walSegmentCodec.encode(built, {nowMs: 0n})]
}

test('RedDB\'s segments pass the stream check in any piece sizes, with the header decode reads', () => {
  const rand = random(7)
  for (const bytes of seeds()) {
    const decoded = walSegmentCodec.decode(bytes, {nowMs: 0n})
    for (let round = 0; round < 20; round++) assert.ok(streams(bytes, rand))
    const check = new WalSegmentStreamCheck(BigInt(bytes.length))
    check.push(bytes)
    const header = check.finish()
    assert.deepEqual([header.timeline, header.segment_index, header.start_lsn, header.end_lsn, header.record_count], [decoded.timeline, decoded.segment_index, decoded.start_lsn, decoded.end_lsn, BigInt(decoded.records.length)])
  }
})

test('the invalid fixtures that fail decode for their contents (not their CRC) fail the stream check too', () => {
  const dir = fixturePath('invalid', 'wal-segment')
  const rand = random(11)
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.redwal'))) {
    const bytes = new Uint8Array(readFileSync(path.join(dir, name)))
    const crcGood = bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true) === crc32(bytes.subarray(0, bytes.length - 4))
    if (crcGood) assert.equal(streams(bytes, rand), false, name)
  }
})

test('on 6,000 mutated segments with a good CRC the stream check and decode agree on every one', () => {
  const rand = random(20_261_207)
  const inputs = seeds()
  let accepted = 0
  for (let i = 0; i < 6000; i++) {
    const bytes = reseal(mutate(inputs[i % inputs.length], rand, false))
    const expected = decodes(bytes)
    if (expected) accepted++
    assert.equal(streams(bytes, rand), expected, `mutation ${i} (${bytes.length} bytes): decode ${expected ? 'accepts' : 'refuses'} it`)
  }
  // Some mutations keep a segment valid (a payload byte with its CRCs redone is rare; a flipped flags field is not): both sides are exercised.
  assert.ok(accepted > 0)
})
