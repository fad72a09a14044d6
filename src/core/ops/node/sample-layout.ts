import path from 'node:path'

import {crc32} from '../../codec/crc.js'
import {createDatabaseHead} from '../../format/embedded-rdb.js'
import {slotCatalogCodec} from '../../format/slot-catalog.js'
import {initialHistory} from '../../plan/promotion.js'
import {timelineHistoryCodec} from '../../format/timeline-history.js'
import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../format/wal-segment.js'
import {mkdirDurable, writeFileAtomic} from '../../fs/atomic.js'
import {makeDirs, makeTempDir} from '../../fs/tree.js'
import {Layout} from '../../layout.js'
import type {ReplicationSlot, WalSegment} from '../../model.js'
import {appendRelay} from '../relay/append.js'

export const SAMPLE_SEGMENT_BYTES = 1_048_576n
const SEGMENTS = 6n
const RECORDS_PER_SEGMENT = 40n

/** Where the demo builds: DIR (made absolute, created with its parents when missing) or a new directory under the system temp directory. */
export async function prepareSampleDir(dir: string | undefined): Promise<string> {
  const target = path.resolve(dir ?? (await makeTempDir('redrepl-demo-')))
  await makeDirs(target)
  return target
}

/** Creates the directory (and its parents) a rebuilt replica's database goes in. */
export function makeReplicaDir(dir: string): Promise<void> {
  return makeDirs(dir)
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

/** The sample's embedded database: a 256 KiB snapshot, the same bytes on every node. */
async function writeSampleDatabase(dataPath: string, nowMs: bigint): Promise<void> {
  const snapshot = new Uint8Array(256 * 1024)
  snapshot.set(new TextEncoder().encode('RDST'))
  snapshot.set(pseudoRandom(snapshot.length - 4, 7), 4)
  await writeFileAtomic(dataPath, Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), nowMs), snapshot]))
}

/** A record's payload as the sample writes it. */
const put = (lsn: bigint) => new TextEncoder().encode(`put key-${lsn} value-${lsn}`)

export interface SampleCluster {
  /** Node name to its data path: primary `p`, replicas `ra` and `rc`, each in its own directory. */
  nodes: {p: string; ra: string; rc: string}
  segmentBytes: bigint
  walHead: bigint
  /** Where each replica applied up to, as its own relay log and the primary's slot say. */
  applied: {ra: bigint; rc: bigint}
}

/**
 * Writes a replica set of three nodes on timeline 1 under `dir`, each with
 * its own layout as on its own host: primary `p` (the embedded database,
 * six 1 MiB WAL segments, one active slot per replica), replica `ra` two
 * LSNs behind the primary's head and replica `rc` about a segment and a half
 * behind, each with its database and its own relay log.
 */
export async function writeSampleCluster(dir: string, nowMs: bigint): Promise<SampleCluster> {
  const p = path.join(dir, 'p', 'data.rdb')
  const primary = Layout.fromDataPath(p)
  await mkdirDurable(primary.walDir(1n))
  await writeSampleDatabase(p, nowMs)
  // Replicas hold the primary's history as it is: the same entries, byte for byte.
  const history = timelineHistoryCodec.encode(initialHistory(nowMs), {nowMs})
  await writeFileAtomic(primary.historyPath, history)
  let head = 0n
  for (let index = 0n; index < SEGMENTS; index++) {
    let segment: WalSegment = emptyWalSegment(1n, index, SAMPLE_SEGMENT_BYTES)
    for (let k = 1n; k <= RECORDS_PER_SEGMENT; k++) {
      head = index * SAMPLE_SEGMENT_BYTES + k
      segment = appendWalRecord(segment, head, put(head), SAMPLE_SEGMENT_BYTES)
    }
    await writeFileAtomic(primary.walSegmentPath(1n, index), walSegmentCodec.encode(segment, {nowMs}))
  }
  const applied = {ra: head - 2n, rc: 4n * SAMPLE_SEGMENT_BYTES + 30n}
  const slots = [slot('ra', head, applied.ra, nowMs), slot('rc', applied.rc, applied.rc, nowMs)]
  await writeFileAtomic(primary.slotCatalogPath(1n), slotCatalogCodec.encode({timeline: 1n, slots}, {nowMs}))

  const nodes = {p, ra: path.join(dir, 'ra', 'data.rdb'), rc: path.join(dir, 'rc', 'data.rdb')}
  for (const name of ['ra', 'rc'] as const) {
    const dataPath = nodes[name]
    await mkdirDurable(path.dirname(dataPath))
    await writeSampleDatabase(dataPath, nowMs)
    const layout = Layout.fromDataPath(dataPath)
    await mkdirDurable(layout.root)
    await writeFileAtomic(layout.historyPath, history)
    const from = applied[name] - 10n
    const records = []
    for (let lsn = from; lsn <= applied[name]; lsn++) records.push({lsn, payload: put(lsn)})
    await appendRelay(layout, name, records, applied[name], {create: true, dataPath, nowMs})
  }
  return {nodes, segmentBytes: SAMPLE_SEGMENT_BYTES, walHead: head, applied}
}

/** A TOML basic string holding `value` exactly (JSON's escapes are TOML's). */
const tomlString = (value: string) => JSON.stringify(value)

/**
 * Writes (atomically) the config file naming the sample's three nodes as
 * cluster `main` on this machine, with `cluster status`'s state in
 * `stateDir`. With `primaryDown`, `p` is reached through a transport that
 * always fails, as a dead host's would: nothing runs on it any more.
 */
export async function writeSampleInventory(file: string, cluster: SampleCluster, stateDir: string, primaryDown: boolean): Promise<void> {
  const sections = [`[defaults]\nstate-dir = ${tomlString(stateDir)}`]
  for (const name of ['p', 'ra', 'rc'] as const) {
    const lines = [`[node.${name}]`, 'cluster = "main"', `data-path = ${tomlString(cluster.nodes[name])}`]
    if (name === 'p' && primaryDown) lines.push('transport = ["false"]')
    sections.push(lines.join('\n'))
  }
  await writeFileAtomic(file, `${sections.join('\n\n')}\n`)
}
