import path from 'node:path'

import {crc32} from '../codec/crc.js'
import {createDatabaseHead} from '../format/embedded-rdb.js'
import {slotCatalogCodec} from '../format/slot-catalog.js'
import {initialHistory} from '../plan/promotion.js'
import {timelineHistoryCodec} from '../format/timeline-history.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../format/wal-segment.js'
import {mkdirDurable, writeFileAtomic} from '../fs/atomic.js'
import {makeDirs, makeTempDir} from '../fs/tree.js'
import {Layout} from '../layout.js'
import type {ReplicationSlot, WalSegment} from '../model.js'
import {appendRelay} from './relay-append.js'

export const SAMPLE_SEGMENT_BYTES = 1_048_576n
const SEGMENTS = 6n
const RECORDS_PER_SEGMENT = 40n

/** Where the demo builds: DIR (created with its parents when missing) or a new directory under the system temp directory. */
export async function prepareSampleDir(dir: string | undefined): Promise<string> {
  const target = dir ?? (await makeTempDir('redrepl-demo-'))
  await makeDirs(target)
  return target
}

/** Creates the directory (and its parents) a rebuilt replica's database goes in. */
export function makeReplicaDir(dir: string): Promise<void> {
  return makeDirs(dir)
}

export interface SampleLayout {
  dataPath: string
  segmentBytes: bigint
  walHead: bigint
  /** Where `timeline promote --auto` forks: replica-a's acknowledged applied LSN. */
  autoForkLsn: bigint
}

/** Deterministic bytes, so every sample is the same. */
function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let state = seed >>> 0
  for (let i = 0; i < length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0
    out[i] = state >>> 24
  }
  return out
}

function slot(replica_id: string, flush: bigint, apply: bigint, nowMs: bigint, invalidated = false): ReplicationSlot {
  return {
    replica_id,
    restart_lsn: apply,
    confirmed_write_lsn: flush,
    confirmed_flush_lsn: flush,
    confirmed_apply_lsn: apply,
    active: !invalidated,
    last_seen_at_unix_ms: nowMs - (invalidated ? 86_400_000n : 2_000n),
    invalidation_reason: invalidated ? 'wal-removed' : null,
    invalidated_at_unix_ms: invalidated ? nowMs - 3_600_000n : null,
  }
}

/**
 * Writes a realistic primary on timeline 1 under `dir`: an embedded
 * database with a 256 KiB snapshot, six 1 MiB WAL segments of records,
 * three replicas' slots (one invalidated) and relay logs for two of them —
 * every file through the same encoders the commands use.
 */
export async function writeSampleLayout(dir: string, nowMs: bigint): Promise<SampleLayout> {
  const dataPath = path.join(dir, 'primary', 'data.rdb')
  const layout = Layout.fromDataPath(dataPath)
  await mkdirDurable(layout.walDir(1n))

  const snapshot = new Uint8Array(256 * 1024)
  snapshot.set(new TextEncoder().encode('RDST'))
  snapshot.set(pseudoRandom(snapshot.length - 4, 7), 4)
  await writeFileAtomic(dataPath, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), nowMs), snapshot]))
  await writeFileAtomic(layout.historyPath, timelineHistoryCodec.encode(initialHistory(nowMs), {nowMs}))

  let head = 0n
  const encoder = new TextEncoder()
  for (let index = 0n; index < SEGMENTS; index++) {
    let segment: WalSegment = emptyWalSegment(1n, index, SAMPLE_SEGMENT_BYTES)
    for (let k = 1n; k <= RECORDS_PER_SEGMENT; k++) {
      head = index * SAMPLE_SEGMENT_BYTES + k
      segment = appendWalRecord(segment, head, encoder.encode(`put key-${head} value-${head}`), SAMPLE_SEGMENT_BYTES)
    }
    await writeFileAtomic(layout.walSegmentPath(1n, index), walSegmentCodec.encode(segment, {nowMs}))
  }

  const segmentStart = (i: bigint) => i * SAMPLE_SEGMENT_BYTES
  const slots = [
    slot('replica-a', head, head - 2n, nowMs),
    slot('replica-b', segmentStart(3n) + 20n, segmentStart(3n) + 10n, nowMs),
    slot('replica-c', segmentStart(0n) + 5n, segmentStart(0n) + 5n, nowMs, true),
  ]
  await writeFileAtomic(layout.slotCatalogPath(1n), slotCatalogCodec.encode({timeline: 1n, slots}, {nowMs}))

  const records = (from: bigint, to: bigint) => {
    const out = []
    for (let lsn = from; lsn <= to; lsn++) out.push({lsn, payload: encoder.encode(`put key-${lsn} value-${lsn}`)})
    return out
  }
  const known = {create: false, dataPath, nowMs}
  await appendRelay(layout, 'replica-a', records(segmentStart(5n) + 1n, segmentStart(5n) + 20n), segmentStart(5n) + 20n, known)
  await appendRelay(layout, 'replica-a', records(segmentStart(5n) + 21n, head), head - 2n, known)
  await appendRelay(layout, 'replica-b', records(segmentStart(3n) + 1n, segmentStart(3n) + 20n), segmentStart(3n) + 10n, known)
  return {dataPath, segmentBytes: SAMPLE_SEGMENT_BYTES, walHead: head, autoForkLsn: head - 2n}
}
