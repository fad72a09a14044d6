import fc from 'fast-check'
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {compareUtf8, stringifyJson} from '../../src/core/codec/json.js'
import {FormatError} from '../../src/core/errors.js'
import type {ArtifactKind} from '../../src/core/format/artifact.js'
import {decodeSuperblock, encodeSuperblock, GEOMETRY, walFramesOf} from '../../src/core/format/embedded-rdb.js'
import {CODECS} from '../../src/core/format/registry.js'
import {basebackupChunkRelativePath, basebackupSnapshotName} from '../../src/core/layout.js'
import type {
  BasebackupManifest,
  EmbeddedDatabase,
  RebootstrapMarker,
  RelayManifest,
  RelaySegment,
  ReplicationSlot,
  SlotCatalog,
  TimelineHistory,
  WalSegment,
} from '../../src/core/model.js'
import {fixturePath, fixturesDir123} from '../support/fixtures.js'

const NOW = {nowMs: 1700000000000n}
const RUNS = Number(process.env.PROPERTY_RUNS ?? 150)
const U64 = (1n << 64n) - 1n

const u64 = () => fc.oneof(fc.bigInt({min: 0n, max: 1000n}), fc.bigInt({min: 0n, max: U64}), fc.constant(U64))
const u32 = () => fc.integer({min: 0, max: 0xffff_ffff})
const bytes = (max = 64) => fc.uint8Array({maxLength: max})
const text = () => fc.string({unit: 'grapheme', maxLength: 12})
const relativePath = () => fc.array(fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((part) => part !== '..'), {minLength: 1, maxLength: 3}).map((parts) => parts.join('/'))

/** Strictly increasing u64s, `count` of them starting at or after `from`. */
const increasing = (count: number, from = 0n) =>
  fc.array(fc.bigInt({min: 1n, max: 1n << 40n}), {minLength: count, maxLength: count}).map((gaps) => {
    let at = from
    return gaps.map((gap, i) => (at = i === 0 ? from + gap - 1n : at + gap))
  })

const history: fc.Arbitrary<TimelineHistory> = fc
  .tuple(fc.integer({min: 0, max: 6}), u64(), text())
  .chain(([promotions, created, reason]) =>
    fc.tuple(increasing(promotions, 2n), fc.array(fc.tuple(u64(), u64(), text()), {minLength: promotions, maxLength: promotions})).map(([timelines, details]) => {
      const entries = [{timeline: 1n, parent_timeline: null as bigint | null, fork_lsn: 0n, created_at_unix_ms: created, reason}]
      timelines.forEach((timeline, i) => entries.push({timeline, parent_timeline: entries[i].timeline, fork_lsn: details[i][0], created_at_unix_ms: details[i][1], reason: details[i][2]}))
      return {entries}
    }),
  )

const slot: fc.Arbitrary<ReplicationSlot> = fc
  .tuple(text(), u64(), fc.array(u64(), {minLength: 3, maxLength: 3}), fc.boolean(), fc.bigInt({min: 0n, max: (1n << 128n) - 1n}), fc.constantFrom(null, 'wal-removed', 'horizon', 'idle-timeout'), fc.option(fc.bigInt({min: 0n, max: (1n << 128n) - 1n})))
  .map(([replica_id, restart_lsn, lsns, active, last_seen_at_unix_ms, invalidation_reason, invalidated_at_unix_ms]) => {
    const [apply, flush, write] = [...lsns].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return {replica_id, restart_lsn, confirmed_write_lsn: write, confirmed_flush_lsn: flush, confirmed_apply_lsn: apply, active, last_seen_at_unix_ms, invalidation_reason, invalidated_at_unix_ms}
  })

const uniqueSorted = (slots: ReplicationSlot[]) => {
  const byId = new Map(slots.map((s) => [s.replica_id, s]))
  return [...byId.values()].sort((a, b) => compareUtf8(a.replica_id, b.replica_id))
}

const catalog: fc.Arbitrary<SlotCatalog> = fc.tuple(u64(), fc.array(slot, {maxLength: 6})).map(([timeline, slots]) => ({timeline, slots: uniqueSorted(slots)}))

const legacy: fc.Arbitrary<SlotCatalog> = fc
  .array(fc.tuple(text(), u64(), u64(), u64(), fc.constantFrom(null, 'wal-removed', 'horizon', 'idle-timeout'), fc.option(u64())), {maxLength: 6})
  .map((entries) => ({
    timeline: 1n,
    slots: uniqueSorted(
      entries.map(([replica_id, restart, confirmed, seen, reason, invalidatedAt]) => ({
        replica_id,
        restart_lsn: restart,
        confirmed_write_lsn: confirmed > restart ? confirmed : restart,
        confirmed_flush_lsn: restart,
        confirmed_apply_lsn: restart,
        active: reason === null,
        last_seen_at_unix_ms: seen,
        invalidation_reason: reason as ReplicationSlot['invalidation_reason'],
        invalidated_at_unix_ms: invalidatedAt,
      })),
    ),
  }))

const wal: fc.Arbitrary<WalSegment> = fc
  .tuple(u64(), fc.bigInt({min: 0n, max: 1n << 20n}), fc.bigInt({min: 0n, max: 1n << 40n}), fc.integer({min: 0, max: 8}))
  .chain(([timeline, index, firstSequence, count]) =>
    fc.tuple(increasing(count, index * (1n << 20n)), fc.array(bytes(), {minLength: count, maxLength: count})).map(([lsns, payloads]) => {
      const start = index * (1n << 20n)
      return {
        timeline,
        segment_index: index,
        start_lsn: start,
        end_lsn: count === 0 ? start : lsns[count - 1] + 1n,
        records: lsns.map((lsn, i) => ({sequence: firstSequence + BigInt(i), lsn, payload: payloads[i]})),
      }
    }),
  )

const relaySegment: fc.Arbitrary<RelaySegment> = fc
  .tuple(u64(), fc.integer({min: 1, max: 8}), fc.bigInt({min: 0n, max: 1000n}))
  .chain(([timeline, count, extra]) =>
    fc.tuple(increasing(count, 1n), fc.array(bytes(), {minLength: count, maxLength: count})).map(([lsns, payloads]) => ({
      timeline,
      start_lsn: lsns[0],
      end_lsn: lsns[count - 1] + extra,
      records: lsns.map((lsn, i) => ({lsn, payload: payloads[i]})),
    })),
  )

const relayManifest: fc.Arbitrary<RelayManifest> = fc
  .tuple(text(), u64(), fc.array(u64(), {minLength: 3, maxLength: 3}), fc.array(fc.tuple(relativePath(), u64(), u64(), u32()), {maxLength: 5}))
  .map(([replica_id, timeline, lsns, refs]) => {
    const [applied, flushed, received] = [...lsns].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return {
      replica_id,
      timeline,
      received_lsn: received,
      flushed_lsn: flushed,
      applied_lsn: applied,
      segments: refs.map(([relative_path, a, b, checksum]) => ({relative_path, start_lsn: a < b ? a : b, end_lsn: a < b ? b : a, checksum})),
    }
  })

const basebackup: fc.Arbitrary<BasebackupManifest> = fc
  .tuple(u64(), u64(), u64(), fc.array(fc.tuple(fc.bigInt({min: 0n, max: 1n << 40n}), u32()), {minLength: 1, maxLength: 6}), u32())
  .map(([timeline, a, b, chunks, snapshotChecksum]) => {
    const start = a < b ? a : b
    const checkpoint = a < b ? b : a
    let offset = 0n
    return {
      timeline,
      start_lsn: start,
      checkpoint_lsn: checkpoint,
      snapshot_relative_path: basebackupSnapshotName(start, checkpoint),
      snapshot_bytes: chunks.reduce((sum, [size]) => sum + size, 0n),
      snapshot_checksum: snapshotChecksum,
      chunks: chunks.map(([size, checksum], ordinal) => {
        const chunk = {ordinal, snapshot_offset: offset, bytes: size, checksum, relative_path: basebackupChunkRelativePath(start, checkpoint, ordinal)}
        offset += size
        return chunk
      }),
    }
  })

const marker: fc.Arbitrary<RebootstrapMarker> = fc.record({pending_path: fc.string({maxLength: 40}), checkpoint_lsn: u64(), timeline: u64()})

/** Databases of both formats: each release creates its own, and the file shows which it is. */
const embedded: fc.Arbitrary<EmbeddedDatabase> = fc.tuple(bytes(200), fc.array(bytes(100), {maxLength: 5}), fc.constantFrom('reddb-1.12' as const, 'reddb-1.23' as const)).map(([tail, payloads, reddb]) => {
  const snapshot = Uint8Array.from([...new TextEncoder().encode('RDST'), ...tail])
  const context = {...NOW, reddb}
  return CODECS['embedded-rdb'].decode(CODECS['embedded-rdb'].encode({snapshot, wal_payloads: payloads} as unknown as EmbeddedDatabase, context), context)
})

const ARBITRARIES: Record<ArtifactKind, fc.Arbitrary<unknown>> = {
  'timeline-history': history,
  'slot-catalog': catalog,
  'slot-catalog-legacy': legacy,
  'wal-segment': wal,
  'basebackup-manifest': basebackup,
  'relay-segment': relaySegment,
  'relay-manifest': relayManifest,
  'rebootstrap-marker': marker,
  'embedded-rdb': embedded,
}

for (const [kind, arbitrary] of Object.entries(ARBITRARIES) as Array<[ArtifactKind, fc.Arbitrary<unknown>]>) {
  test(`${kind}: random artifacts survive encode → decode → encode`, () => {
    const codec = CODECS[kind]
    fc.assert(
      fc.property(arbitrary, (model) => {
        const encoded = codec.encode(model, NOW)
        const decoded = codec.decode(encoded, NOW)
        assert.equal(stringifyJson(codec.toJson(decoded)), stringifyJson(codec.toJson(model)))
        assert.deepEqual(codec.encode(decoded, NOW), encoded)
      }),
      {numRuns: RUNS},
    )
  })
}

/** Valid fixture files per kind, the seeds for mutation; embedded databases of both formats. */
function seeds(kind: ArtifactKind): Uint8Array[] {
  const dirs = kind === 'embedded-rdb' ? [fixturePath('valid', kind), path.join(fixturesDir123, 'valid', kind)] : [fixturePath('valid', kind)]
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => !name.endsWith('.json') || name.endsWith('.logical.slots.json'))
      .filter((name) => !name.includes('.reencoded.'))
      .map((name) => new Uint8Array(readFileSync(path.join(dir, name)))),
  )
}

const SEALED: ReadonlySet<ArtifactKind> = new Set(['timeline-history', 'slot-catalog', 'wal-segment', 'basebackup-manifest', 'relay-segment', 'relay-manifest'])

/** A mutation: flips, overwrites with extreme values, truncation, insertion; optionally re-sealed. */
const mutation = fc.record({
  edits: fc.array(
    fc.oneof(
      fc.record({op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({min: 0, max: 7})}),
      fc.record({op: fc.constant('fill' as const), at: fc.nat(), width: fc.constantFrom(1, 2, 4, 8), value: fc.constantFrom(0x00, 0xff, 0x7f, 0x80)}),
      fc.record({op: fc.constant('truncate' as const), at: fc.nat()}),
      fc.record({op: fc.constant('insert' as const), at: fc.nat(), data: bytes(16)}),
    ),
    {minLength: 1, maxLength: 4},
  ),
  reseal: fc.boolean(),
})

function mutate(seed: Uint8Array, {edits, reseal}: {edits: Array<{op: string; at: number; bit?: number; width?: number; value?: number; data?: Uint8Array}>; reseal: boolean}, sealed: boolean): Uint8Array {
  let out = Uint8Array.from(seed)
  for (const edit of edits) {
    if (out.length === 0) break
    const at = edit.at % out.length
    if (edit.op === 'flip') out[at] ^= 1 << edit.bit!
    else if (edit.op === 'fill') out.fill(edit.value!, at, Math.min(out.length, at + edit.width!))
    else if (edit.op === 'truncate') out = out.slice(0, at)
    else out = Buffer.concat([out.subarray(0, at), edit.data!, out.subarray(at)])
  }
  if (reseal && sealed && out.length >= 4) {
    new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true)
  }
  return out
}

/** Gives both superblock copies a correct CRC again, so a mutation reaches the manifest, snapshot and WAL rules. */
function resealSuperblocks(file: Uint8Array): void {
  for (const start of [0, 4096]) if (file.length >= start + 4096) new DataView(file.buffer, file.byteOffset).setUint32(start + 4092, crc32(file.subarray(start, start + 4092)), true)
}

test('embedded-rdb: a circular WAL reads back in order wherever its live bytes start, split frames included', () => {
  const R = GEOMETRY[2].walRegionOffset
  const N = GEOMETRY[2].walRegionBytes
  const context = {...NOW, reddb: 'reddb-1.23' as const}
  fc.assert(
    fc.property(fc.array(bytes(3000), {minLength: 1, maxLength: 8}), fc.nat({max: N - 1}), (payloads, start) => {
      const snapshot = new TextEncoder().encode('RDST')
      const file = CODECS['embedded-rdb'].encode({snapshot, wal_payloads: []} as unknown as EmbeddedDatabase, context)
      const frames = walFramesOf(payloads)
      for (let i = 0; i < frames.length; i++) file[R + ((start + i) % N)] = frames[i]!
      for (const slot of [0, 1] as const) {
        const current = decodeSuperblock(file.subarray(slot * 4096, (slot + 1) * 4096), slot)
        file.set(encodeSuperblock({...current, wal_recovery_boundary: BigInt(R + ((start + frames.length) % N)), wal_live_bytes: BigInt(frames.length)}), slot * 4096)
      }
      const opened = CODECS['embedded-rdb'].decode(file, context)
      assert.deepEqual(opened.wal_payloads.map((p: Uint8Array) => Buffer.from(p)), payloads.map((p) => Buffer.from(p)))
    }),
    {numRuns: RUNS},
  )
})

for (const kind of Object.keys(ARBITRARIES) as ArtifactKind[]) {
  test(`${kind}: mutated fixtures are decoded or rejected with a FormatError, never anything else`, () => {
    const codec = CODECS[kind]
    const pool = seeds(kind)
    fc.assert(
      fc.property(fc.nat({max: pool.length - 1}), mutation, fc.constantFrom(undefined, 'reddb-1.12' as const, 'reddb-1.23' as const), (which, change, reddb) => {
        const mutated = mutate(pool[which], change, SEALED.has(kind))
        if (kind === 'embedded-rdb' && change.reseal) resealSuperblocks(mutated)
        try {
          codec.decode(mutated, {...NOW, reddb})
        } catch (error) {
          if (!(error instanceof FormatError)) throw error
          assert.ok(!error.message.includes('\n'), 'a rejection is one line')
        }
      }),
      {numRuns: RUNS * 2},
    )
  })
}
