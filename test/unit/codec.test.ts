import assert from 'node:assert/strict'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {asUnsigned, parseJson, stringifyJson, writeJson} from '../../src/core/codec/json.js'
import {U64_MAX} from '../../src/core/codec/limits.js'
import {ByteReader} from '../../src/core/codec/reader.js'
import {checkCount, openSealed} from '../../src/core/codec/sealed.js'
import {ByteWriter} from '../../src/core/codec/writer.js'
import {FormatError} from '../../src/core/errors.js'

test('u64 and u128 round-trip at their maxima', () => {
  const max128 = (1n << 128n) - 1n
  const bytes = new ByteWriter().u64(U64_MAX).u128(max128).u128(1n << 64n).finish()
  const reader = new ByteReader(bytes)
  assert.equal(reader.u64(), U64_MAX)
  assert.equal(reader.u128(), max128)
  assert.equal(reader.u128(), 1n << 64n)
  assert.equal(reader.remaining, 0)
})

test('reads past the end fail with the artifact-specific message', () => {
  const reader = new ByteReader(new Uint8Array(3), 'thing truncated')
  assert.throws(() => reader.u32(), (error: unknown) => error instanceof FormatError && error.message === 'thing truncated')
})

test('strings must be valid UTF-8 and optional tags 0 or 1', () => {
  const bad = new ByteWriter().u32(2).bytes(Uint8Array.of(0xc3, 0x28)).finish()
  assert.throws(() => new ByteReader(bad).string('reason'), /reason is not valid UTF-8/)
  assert.throws(() => new ByteReader(Uint8Array.of(2)).optString('x'), /invalid optional tag 2/)
  const good = new ByteWriter().optString('é').optU128(null).finish()
  const reader = new ByteReader(good)
  assert.equal(reader.optString(), 'é')
  assert.equal(reader.optU128(), null)
})

test('a sealed artifact checks its CRC before anything else', () => {
  const sealed = new ByteWriter().ascii('ABCD').sealWithCrc().finish()
  assert.equal(openSealed(sealed, 'thing').remaining, 4)
  sealed[0] ^= 1
  assert.throws(() => openSealed(sealed, 'thing'), /thing checksum mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/)
  assert.throws(() => openSealed(new Uint8Array(3), 'thing'), /thing is too short/)
})

test('a claimed count the bytes cannot hold is rejected before allocation', () => {
  const reader = new ByteReader(new Uint8Array(100))
  assert.throws(() => checkCount(reader, U64_MAX, 8, 'record'), FormatError)
  assert.equal(checkCount(reader, 12n, 8, 'record'), 12)
})

test('crc32 is the zlib CRC', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926)
})

test('JSON integers stay exact; fractions, exponents and -0 are not unsigned', () => {
  const parsed = parseJson('{"a":18446744073709551615,"b":1e3,"c":1.5,"d":-1,"e":-0,"f":340282366920938463463374607431768211455}') as Record<string, unknown>
  assert.equal(parsed.a, U64_MAX)
  assert.equal(asUnsigned(parsed.a as bigint), U64_MAX)
  assert.equal(asUnsigned(parsed.b as number), undefined)
  assert.equal(asUnsigned(parsed.c as number), undefined)
  assert.equal(asUnsigned(parsed.d as bigint), undefined)
  assert.equal(asUnsigned(parsed.e as number), undefined)
  assert.equal(asUnsigned(parsed.f as bigint), undefined)
})

test('JSON parsing is strict where serde_json is', () => {
  for (const text of ['', '{', '[1,]', '{"a":1,}', '01', '"\\x"', '"\u0001"', 'nul', '{} x', '"\\ud800"', '+1', '.5']) {
    assert.throws(() => parseJson(text), Error, text)
  }
  assert.deepEqual(parseJson(' {"k":1,"k":2} '), {k: 2n})
  const tricky = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(tricky), Object.prototype)
  assert.deepEqual(Object.keys(tricky), ['__proto__'])
  assert.equal(parseJson('"\\ud83d\\ude00"'), '😀')
})

test('JSON nesting deeper than 128 is refused rather than overflowing the stack', () => {
  assert.throws(() => parseJson('['.repeat(100_000)), /recursion limit/)
})

test('stringify prints bigint exactly, compact or pretty, optionally sorted', () => {
  const value = {z: 1n << 64n, a: [1n, 'x'], e: [], o: {}}
  assert.equal(stringifyJson(value, 0), '{"z":18446744073709551616,"a":[1,"x"],"e":[],"o":{}}')
  assert.equal(stringifyJson(value, 2, true), '{\n  "a": [\n    1,\n    "x"\n  ],\n  "e": [],\n  "o": {},\n  "z": 18446744073709551616\n}')
})

test('a large document reaches the sink in bounded pieces that join to the whole', () => {
  const segments = Array.from({length: 20_000}, (_, i) => ({index: BigInt(i), reason: `kept "${i}"`, end: (1n << 64n) - BigInt(i)}))
  const pieces: string[] = []
  writeJson({segments}, (piece) => pieces.push(piece))
  assert.ok(pieces.length > 10, `${pieces.length} pieces`)
  // A piece is cut before an array element or object, so it overshoots the limit by at most one scalar line.
  assert.ok(pieces.every((piece) => piece.length < (1 << 16) + 256))
  const whole = pieces.join('')
  assert.equal(whole, stringifyJson({segments}))
  assert.deepEqual((parseJson(whole) as {segments: Array<{end: bigint}>}).segments[19_999].end, (1n << 64n) - 19_999n)
})

test('crc32Combine equals the CRC of the concatenation', async () => {
  const {crc32Combine} = await import('../../src/core/codec/crc.js')
  const {randomBytes} = await import('node:crypto')
  for (const [a, b] of [[0, 0], [1, 0], [0, 1], [5, 7], [4096, 812], [100_000, 65_537]]) {
    const left = randomBytes(a)
    const right = randomBytes(b)
    assert.equal(crc32Combine(crc32(left), crc32(right), BigInt(b)), crc32(Buffer.concat([left, right])), `${a}+${b}`)
  }
})
