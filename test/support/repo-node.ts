import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {crc32} from '../../src/core/codec/crc.js'
import {basebackupManifestCodec} from '../../src/core/format/basebackup-manifest.js'
import {createDatabaseHead} from '../../src/core/format/embedded-rdb.js'
import {timelineHistoryCodec} from '../../src/core/format/timeline-history.js'
import {basebackupChunkRelativePath, basebackupSnapshotName, Layout} from '../../src/core/layout.js'
import type {RdbFormat, ReplicationSlot, TimelineEntry} from '../../src/core/model.js'
import {NOW_MS} from './fixtures.js'
import {writeWalNode} from './wal-node.js'

export interface ReplicaNode {
  segmentBytes: bigint
  /** Per timeline: segment index → records (from the segment's first LSN on). Timeline 1 when a plain record. */
  wal: Record<number, Record<number, number>>
  /** Base backups: [timeline, checkpoint LSN]; the start LSN is the checkpoint's. */
  backups?: Array<[bigint, bigint]>
  /** The data file's format: 1 (RedDB 1.12's) or 2 (1.23's); none when absent. */
  rdbFormat?: RdbFormat
  /** The timeline history; none: no history file. */
  history?: TimelineEntry[]
  /** The current timeline's slot catalog (none when absent, as by default). */
  slots?: ReplicationSlot[]
  /** Bytes that make this node's snapshots differ from another's. */
  flavour?: string
}

export const initialEntry = (created = NOW_MS): TimelineEntry => ({timeline: 1n, parent_timeline: null, fork_lsn: 0n, created_at_unix_ms: created, reason: 'initial'})
export const promoteEntry = (timeline: bigint, forkLsn: bigint, replica = 'r1', created = NOW_MS + 1000n): TimelineEntry => ({timeline, parent_timeline: timeline - 1n, fork_lsn: forkLsn, created_at_unix_ms: created, reason: `promote ${replica}`})

/** A snapshot RedDB would open (it starts with RDST). */
export const snapshotFor = (checkpoint: bigint, flavour = '') => new TextEncoder().encode(`RDST snapshot at ${checkpoint}${flavour}`)

/**
 * Writes a node at `dir/data.rdb` with WAL segments of any size (a segment
 * file holds only its records, so a 256 MiB segment is a few hundred
 * bytes), base backups of one chunk each, a data file of the given format
 * and a timeline history, all with the encoders RedDB's files match.
 */
export function writeReplicaNode(dir: string, node: ReplicaNode): string {
  const dataPath = path.join(dir, 'data.rdb')
  const layout = Layout.fromDataPath(dataPath)
  const timelines = Object.keys(node.wal).map(BigInt)
  const current = timelines.reduce((a, b) => (a > b ? a : b), 1n)
  for (const [timeline, segments] of Object.entries(node.wal)) {
    writeWalNode(dir, {segmentBytes: node.segmentBytes, timeline: BigInt(timeline), segments, slots: BigInt(timeline) === current && node.slots !== undefined ? node.slots : null})
  }
  for (const [timeline, checkpoint] of node.backups ?? []) {
    const snapshot = snapshotFor(checkpoint, node.flavour)
    const relative = basebackupChunkRelativePath(checkpoint, checkpoint, 0)
    const chunkFile = path.join(layout.basebackupDir(timeline), relative)
    mkdirSync(path.dirname(chunkFile), {recursive: true})
    writeFileSync(chunkFile, snapshot)
    const manifest = {
      timeline,
      start_lsn: checkpoint,
      checkpoint_lsn: checkpoint,
      snapshot_relative_path: basebackupSnapshotName(checkpoint, checkpoint),
      snapshot_bytes: BigInt(snapshot.length),
      snapshot_checksum: crc32(snapshot),
      chunks: [{ordinal: 0, snapshot_offset: 0n, bytes: BigInt(snapshot.length), checksum: crc32(snapshot), relative_path: relative}],
    }
    writeFileSync(layout.basebackupManifestPath(timeline, checkpoint, checkpoint), basebackupManifestCodec.encode(manifest, {nowMs: NOW_MS}))
  }
  if (node.rdbFormat !== undefined) {
    const snapshot = snapshotFor(0n, node.flavour)
    const head = createDatabaseHead(node.rdbFormat, BigInt(snapshot.length), crc32(snapshot), NOW_MS)
    writeFileSync(dataPath, Buffer.concat([head, snapshot]))
  }
  if (node.history !== undefined) {
    mkdirSync(layout.root, {recursive: true})
    writeFileSync(layout.historyPath, timelineHistoryCodec.encode({entries: node.history}, {nowMs: NOW_MS}))
  }
  return dataPath
}
