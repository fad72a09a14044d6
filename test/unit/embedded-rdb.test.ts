import assert from 'node:assert/strict'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {ByteWriter} from '../../src/core/codec/writer.js'
import {FormatError} from '../../src/core/errors.js'
import {decodeSuperblock, embeddedRdbCodec, encodeSuperblock, GEOMETRY, SUPERBLOCK_BYTES} from '../../src/core/format/embedded-rdb.js'
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
