import assert from 'node:assert/strict'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {ByteWriter} from '../../src/core/codec/writer.js'
import {FormatError} from '../../src/core/errors.js'
import {decodeSuperblock, embeddedRdbCodec, encodeSuperblock, GEOMETRY, SUPERBLOCK_BYTES, walFramesOf} from '../../src/core/format/embedded-rdb.js'
import type {EmbeddedDatabase} from '../../src/core/model.js'

const NOW = {nowMs: 1700000000000n, reddb: 'reddb-1.12' as const}
const {snapshotOffset: SNAPSHOT_OFFSET, walRegionOffset: WAL_REGION_OFFSET} = GEOMETRY[1]
const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.from('embedded')])
const create = (payloads: Uint8Array[] = []) => embeddedRdbCodec.encode({snapshot, wal_payloads: payloads} as unknown as EmbeddedDatabase, NOW)

/** Rewrites both superblocks with a change, keeping their CRCs right. */
function patchSuperblocks(file: Uint8Array, change: (superblock: ReturnType<typeof decodeSuperblock>) => Partial<ReturnType<typeof decodeSuperblock>>): void {
  for (const slot of [0, 1] as const) {
    const current = decodeSuperblock(file.subarray(slot * SUPERBLOCK_BYTES, (slot + 1) * SUPERBLOCK_BYTES), slot)
    file.set(encodeSuperblock({...current, ...change(current)}), slot * SUPERBLOCK_BYTES)
  }
}

test('a created database opens with its snapshot, and WAL payloads come back in order', () => {
  const opened = embeddedRdbCodec.decode(create([Buffer.from('one'), Buffer.alloc(0), Buffer.from('three')]), NOW)
  assert.deepEqual(Buffer.from(opened.snapshot!), snapshot)
  assert.deepEqual(opened.wal_payloads.map((p) => Buffer.from(p).toString()), ['one', '', 'three'])
  assert.equal(opened.selected_superblock.generation, 3n)
  assert.equal(opened.manifest.created_at_unix_ms, NOW.nowMs)
})

test('a manifest stored elsewhere in the file is read from where the superblock says', () => {
  const file = Buffer.concat([create(), Buffer.alloc(0)])
  const manifest = Buffer.from(file.subarray(8192, 8192 + 76))
  const moved = Buffer.concat([file, manifest])
  patchSuperblocks(moved, () => ({manifest_offset: BigInt(file.length)}))
  const opened = embeddedRdbCodec.decode(moved, NOW)
  assert.equal(opened.manifest.created_at_unix_ms, NOW.nowMs, 'not the fallback (created_at 0)')
})

test('a superblock whose copy index does not match its slot is skipped', () => {
  const file = create()
  const wrong = decodeSuperblock(file.subarray(SUPERBLOCK_BYTES, 2 * SUPERBLOCK_BYTES), 1)
  file.set(encodeSuperblock({...wrong, copy_index: 0}), SUPERBLOCK_BYTES)
  assert.equal(embeddedRdbCodec.decode(file, NOW).selected_superblock.copy_index, 0)
})

test('a snapshot range claiming 2^64 bytes is rejected without allocating', () => {
  const file = create()
  patchSuperblocks(file, () => ({snapshot_bytes: (1n << 64n) - 1n, manifest_checksum: 0}))
  const started = performance.now()
  assert.throws(() => embeddedRdbCodec.decode(file, NOW), FormatError)
  assert.ok(performance.now() - started < 100)
})

test('WAL scanning reads legacy frames and stops at the first frame that does not check out', () => {
  const file = create()
  const legacy = new ByteWriter().ascii('RDBEWAL1').u32(3).u32(crc32(Buffer.from('old'))).bytes(Buffer.from('old')).finish()
  const broken = new ByteWriter().ascii('RDBEWAL1').u32(3).u32(0).bytes(Buffer.from('bad')).finish()
  file.set(legacy, WAL_REGION_OFFSET)
  file.set(broken, WAL_REGION_OFFSET + legacy.length)
  patchSuperblocks(file, () => ({wal_recovery_boundary: BigInt(WAL_REGION_OFFSET + legacy.length + broken.length)}))
  assert.deepEqual(embeddedRdbCodec.decode(file, NOW).wal_payloads.map((p) => Buffer.from(p).toString()), ['old'])
  assert.equal(file.length, SNAPSHOT_OFFSET + snapshot.length)
})

// --- format 2 (RedDB 1.23, format.md §9.2) --------------------------------------

const V2 = {nowMs: 1700000000000n, reddb: 'reddb-1.23' as const}
const createV2 = (payloads: Uint8Array[] = []) => embeddedRdbCodec.encode({snapshot, wal_payloads: payloads} as unknown as EmbeddedDatabase, V2)
const R2 = GEOMETRY[2].walRegionOffset
const N2 = GEOMETRY[2].walRegionBytes

function patchBoth(file: Uint8Array, change: Partial<ReturnType<typeof decodeSuperblock>>): void {
  for (const slot of [0, 1] as const) {
    const current = decodeSuperblock(file.subarray(slot * SUPERBLOCK_BYTES, (slot + 1) * SUPERBLOCK_BYTES), slot)
    file.set(encodeSuperblock({...current, ...change}), slot * SUPERBLOCK_BYTES)
  }
}

test('a format-2 database: layout-2 superblocks, an 84-byte manifest in slot 0, WAL at 16384, snapshot at 81920', () => {
  const file = createV2([Buffer.from('one')])
  assert.equal(file.length, GEOMETRY[2].snapshotOffset + snapshot.length)
  assert.equal(new DataView(file.buffer).getUint32(8, true), 2, 'superblock layout 2')
  const opened = embeddedRdbCodec.decode(file, {nowMs: 0n})
  assert.equal(opened.rules, 'reddb-1.23', 'a layout-2 superblock shows 1.23 wrote it')
  assert.equal(opened.manifest.version, 2)
  assert.equal(opened.selected_superblock.manifest_len, 84n)
  assert.equal(opened.selected_superblock.wal_live_bytes, BigInt(36 + 3))
  assert.deepEqual(opened.wal_payloads.map((p) => Buffer.from(p).toString()), ['one'])
  assert.ok('wal_live_bytes' in (embeddedRdbCodec.toJson(opened) as any).manifest)
  assert.throws(() => embeddedRdbCodec.decode(file, NOW), /superblock zone failed validation.*unsupported version 2 for RedDB 1\.12/, '1.12 knows only layout 1')
})

test('a wrapped WAL is read from its live start, across the region end, in order', () => {
  const payloads = [Buffer.alloc(30, 1), Buffer.alloc(50, 2), Buffer.alloc(20, 3)]
  const frames = walFramesOf(payloads)
  for (const start of [N2 - 40, N2 - 10, N2 - frames.length, 0]) {
    const file = createV2()
    for (let i = 0; i < frames.length; i++) file[R2 + ((start + i) % N2)] = frames[i]!
    patchBoth(file, {wal_recovery_boundary: BigInt(R2 + ((start + frames.length) % N2)), wal_live_bytes: BigInt(frames.length)})
    const opened = embeddedRdbCodec.decode(file, V2)
    assert.deepEqual(opened.wal_payloads.map((p) => Buffer.from(p)), payloads, `live start ${start}`)
  }
})

test('1.23 rejects a boundary outside the region and live bytes above it; 1.12 a boundary past the region end', () => {
  const file = createV2()
  patchBoth(file, {wal_recovery_boundary: BigInt(R2 + N2 + 1)})
  assert.throws(() => embeddedRdbCodec.decode(file, V2), /WAL zone failed validation: recovery boundary 81921 lies outside/)
  const live = createV2()
  patchBoth(live, {wal_live_bytes: BigInt(N2 + 1)})
  assert.throws(() => embeddedRdbCodec.decode(live, V2), /65537 live bytes do not fit/)
  const v1 = create()
  patchSuperblocks(v1, () => ({wal_recovery_boundary: 1n << 62n}))
  assert.throws(() => embeddedRdbCodec.decode(v1, NOW), /recovery boundary \d+ lies past the WAL region's end/)
})

test('a bad manifest: 1.12 falls back to the superblock, 1.23 refuses the file', () => {
  const file = create()
  file[8192 + 20] ^= 1
  assert.equal(embeddedRdbCodec.decode(file, NOW).manifest.created_at_unix_ms, 0n, '1.12: the superblock stands in')
  assert.throws(() => embeddedRdbCodec.decode(file, V2), /manifest zone failed validation: superblock 1 \(generation 2\) names a manifest that/)
})

test('1.23 reads the manifest in slot 1 and refuses one outside both slots', () => {
  const file = createV2()
  file.copyWithin(12_288, 8192, 8192 + 84)
  file.fill(0, 8192, 8192 + 84)
  patchBoth(file, {manifest_offset: 12_288n})
  assert.equal(embeddedRdbCodec.decode(file, V2).manifest.created_at_unix_ms, NOW.nowMs)
  const elsewhere = Buffer.concat([createV2(), Buffer.alloc(84)])
  elsewhere.copyWithin(elsewhere.length - 84, 8192, 8192 + 84)
  patchBoth(elsewhere, {manifest_offset: BigInt(elsewhere.length - 84)})
  assert.throws(() => embeddedRdbCodec.decode(elsewhere, V2), /outside both manifest slots/)
})

test('format 1 read by 1.23 carries wal_live_bytes (boundary − region offset); by 1.12 not', () => {
  const file = create([Buffer.from('abc')])
  const under123 = embeddedRdbCodec.toJson(embeddedRdbCodec.decode(file, V2)) as any
  assert.equal(under123.selected_superblock.wal_live_bytes, 39n)
  assert.equal(under123.manifest.wal_live_bytes, 39n)
  const under112 = embeddedRdbCodec.toJson(embeddedRdbCodec.decode(file, NOW)) as any
  assert.ok(!('wal_live_bytes' in under112.selected_superblock) && !('wal_live_bytes' in under112.manifest))
})

test('a batch larger than the region is refused, and one that fills it exactly puts the 1.23 boundary back at the start', () => {
  assert.throws(() => createV2([Buffer.alloc(N2)]), /WAL region is full/)
  const full = createV2([Buffer.alloc(N2 - 36, 9)])
  const opened = embeddedRdbCodec.decode(full, V2)
  assert.equal(opened.selected_superblock.wal_recovery_boundary, BigInt(R2))
  assert.equal(opened.selected_superblock.wal_live_bytes, BigInt(N2))
  assert.equal(opened.wal_payloads[0]!.length, N2 - 36)
})
