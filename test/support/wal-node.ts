import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {slotCatalogCodec} from '../../src/core/format/slot-catalog.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {Layout} from '../../src/core/layout.js'
import type {ReplicationSlot, WalSegment} from '../../src/core/model.js'
import {NOW_MS} from './fixtures.js'

export const MiB = 1_048_576n

export function activeSlot(replica_id: string, restart: bigint, floor: bigint, active = true): ReplicationSlot {
  return {
    replica_id,
    restart_lsn: restart,
    confirmed_write_lsn: floor,
    confirmed_flush_lsn: floor,
    confirmed_apply_lsn: floor,
    active,
    last_seen_at_unix_ms: NOW_MS,
    invalidation_reason: active ? null : 'horizon',
    invalidated_at_unix_ms: null,
  }
}

export interface WalNode {
  segmentBytes: bigint
  timeline?: bigint
  /** Segment index → how many records it holds (from its first LSN on; 0 = empty). */
  segments: Record<number, number>
  /** null: no slot catalog. */
  slots?: ReplicationSlot[] | null
  catalogTimeline?: bigint
  /** Rewrites a segment's header before it is written (to plant lies). */
  tamper?: (index: number, segment: WalSegment) => WalSegment
}

/**
 * Writes a primary on timeline 1 with WAL segments of the given size, built
 * with the same encoders RedDB's files match; returns its data path.
 */
export function writeWalNode(dir: string, node: WalNode): string {
  const dataPath = path.join(dir, 'data.rdb')
  const layout = Layout.fromDataPath(dataPath)
  const timeline = node.timeline ?? 1n
  mkdirSync(layout.walDir(timeline), {recursive: true})
  for (const [key, records] of Object.entries(node.segments)) {
    const index = BigInt(key)
    let segment = emptyWalSegment(timeline, index, node.segmentBytes)
    const first = index === 0n ? 1n : index * node.segmentBytes
    for (let k = 0n; k < BigInt(records); k++) segment = appendWalRecord(segment, first + k, new TextEncoder().encode(`op-${first + k}`), node.segmentBytes)
    if (node.tamper) segment = node.tamper(Number(index), segment)
    writeFileSync(layout.walSegmentPath(timeline, index), walSegmentCodec.encode(segment, {nowMs: NOW_MS}))
  }
  if (node.slots !== null) {
    const catalog = {timeline: node.catalogTimeline ?? timeline, slots: node.slots ?? []}
    writeFileSync(layout.slotCatalogPath(timeline), slotCatalogCodec.encode(catalog, {nowMs: NOW_MS}))
  }
  return dataPath
}

/**
 * primary-basic holds segments 0, 1, 2, 3 and 5 of 1 MiB: `layout verify`
 * reports the hole at 4 (wal.gap). An empty segment 4, as RedDB creates it,
 * makes the copy at `dir` sound for tests that need a clean layout.
 */
export function closePrimaryBasicHole(dir: string): void {
  const layout = Layout.fromDataPath(path.join(dir, 'data.rdb'))
  writeFileSync(layout.walSegmentPath(1n, 4n), walSegmentCodec.encode(emptyWalSegment(1n, 4n, MiB), {nowMs: NOW_MS}))
}
