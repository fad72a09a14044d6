import {mkdir} from 'node:fs/promises'
import path from 'node:path'

import {FormatError, RedreplError, refused, usageError} from '../errors.js'
import {
  addRelaySegment,
  checkRelayManifestConsistency,
  emptyRelayManifest,
  markRelayApplied,
  relayManifestCodec,
} from '../format/relay-manifest.js'
import {relaySegmentChecksum, relaySegmentCodec, relaySegmentFromRecords} from '../format/relay-segment.js'
import {walSegmentCodec} from '../format/wal-segment.js'
import {writeFailure, writeFileAtomic} from '../fs/atomic.js'
import {assertPlainComponent, resolveContained} from '../fs/contained.js'
import {readArtifact, readArtifactBytesIfExists, readArtifactIfExists} from '../fs/read.js'
import {Layout, relaySegmentName} from '../layout.js'
import type {RelayManifest, RelayRecord, RelaySegmentRef} from '../model.js'
import {listWalSegments, readCurrentTimeline} from './node-state.js'

/** RedDB 1.12 relays on the initial timeline, even under a later timeline's directory. */
export const RELAY_TIMELINE = 1n

export interface RelayAppendReport {
  replica_id: string
  relay_dir: string
  manifest_path: string
  /** The manifest as written (or as it stands, for an empty batch); null when none exists. */
  manifest: RelayManifest | null
  received_records: number
  appended_records: number
  new_segment: RelaySegmentRef | null
}

/**
 * What is wrong with the segments a relay manifest names (§7 consistency):
 * each is resolved inside the relay dir, read under the segment cap and
 * checked one at a time, so memory holds one segment whatever the count. A
 * segment that cannot be read (a link out of the directory, a FIFO, an I/O
 * error) is a problem of its own, not a stop.
 */
export async function relaySegmentProblems(relayDir: string, manifest: RelayManifest): Promise<string[]> {
  const problems: string[] = []
  for (const ref of manifest.segments) {
    let bytes: Uint8Array | undefined
    try {
      bytes = await readArtifactBytesIfExists(await resolveContained(relayDir, ref.relative_path), relaySegmentCodec)
    } catch (error) {
      if (!(error instanceof RedreplError)) throw error
      problems.push(`${ref.relative_path}: ${error instanceof FormatError ? error.problem : error.message}`)
      continue
    }
    problems.push(...checkRelayManifestConsistency({...manifest, segments: [ref]}, () => bytes))
  }
  return problems
}

/** A replica's relay manifest with the problems its segments show; null when there is none. */
export async function readRelayManifestChecked(relayDir: string, manifestPath: string): Promise<{manifest: RelayManifest; problems: string[]} | null> {
  const manifest = await readArtifactIfExists(manifestPath, relayManifestCodec, {nowMs: 0n})
  if (!manifest) return null
  return {manifest, problems: await relaySegmentProblems(relayDir, manifest)}
}

/** The relay manifest, refused (exit 3) unless its segments back it up. */
export async function readConsistentRelayManifest(relayDir: string, manifestPath: string): Promise<RelayManifest | null> {
  const checked = await readRelayManifestChecked(relayDir, manifestPath)
  if (checked && checked.problems.length > 0) throw new FormatError(`relay manifest is inconsistent with its segments: ${checked.problems.join('; ')}`, manifestPath)
  return checked?.manifest ?? null
}

/**
 * Appends a batch to a replica's relay log exactly as a RedDB replica does
 * (behaviour.md "relay append"). The new segment is written before the
 * manifest that references it, each atomically.
 */
export async function appendRelay(layout: Layout, replicaId: string, records: RelayRecord[], appliedLsn: bigint): Promise<RelayAppendReport> {
  assertPlainComponent(replicaId, 'replica id')
  const timeline = await readCurrentTimeline(layout)
  const relayDir = layout.relayDir(timeline, replicaId)
  const manifestPath = layout.relayManifestPath(timeline, replicaId)
  const existing = await readConsistentRelayManifest(relayDir, manifestPath)
  const base = {replica_id: replicaId, relay_dir: relayDir, manifest_path: manifestPath, received_records: records.length}
  if (records.length === 0) return {...base, manifest: existing, appended_records: 0, new_segment: null}

  let manifest = existing ?? emptyRelayManifest(replicaId, RELAY_TIMELINE)
  if (manifest.replica_id !== replicaId) throw refused(`${manifestPath}: belongs to replica ${JSON.stringify(manifest.replica_id)}, not ${JSON.stringify(replicaId)}`)
  if (manifest.timeline !== RELAY_TIMELINE) throw refused(`${manifestPath}: relays on timeline ${manifest.timeline}; RedDB 1.12 only appends to relay logs of timeline 1`)

  const largest = records.reduce((max, record) => (record.lsn > max ? record.lsn : max), 0n)
  let newSegment: RelaySegmentRef | null = null
  let fresh: RelayRecord[] = []
  if (largest > manifest.flushed_lsn) {
    fresh = records.filter((record) => record.lsn > manifest.flushed_lsn)
    for (let i = 1; i < fresh.length; i++) {
      if (fresh[i].lsn <= fresh[i - 1].lsn) throw usageError(`records must have strictly increasing LSNs: ${fresh[i].lsn} follows ${fresh[i - 1].lsn}`)
    }
    const segment = relaySegmentFromRecords(RELAY_TIMELINE, fresh)
    const bytes = relaySegmentCodec.encode(segment, {nowMs: 0n})
    newSegment = {relative_path: relaySegmentName(segment.start_lsn, segment.end_lsn), start_lsn: segment.start_lsn, end_lsn: segment.end_lsn, checksum: relaySegmentChecksum(bytes)}
    manifest = addRelaySegment(manifest, newSegment)
    await mkdir(relayDir, {recursive: true}).catch((error) => {
    throw writeFailure(relayDir, error)
  })
    await writeFileAtomic(path.join(relayDir, newSegment.relative_path), bytes, {label: 'relay-segment'})
  }
  manifest = markRelayApplied(manifest, appliedLsn < manifest.flushed_lsn ? appliedLsn : manifest.flushed_lsn)
  await mkdir(relayDir, {recursive: true}).catch((error) => {
    throw writeFailure(relayDir, error)
  })
  await writeFileAtomic(manifestPath, relayManifestCodec.encode(manifest, {nowMs: 0n}), {label: 'relay-manifest'})
  return {...base, manifest, appended_records: fresh.length, new_segment: newSegment}
}

/** The records of an inclusive LSN range, read out of this node's primary WAL on its current timeline. */
export async function readWalRecords(layout: Layout, fromLsn: bigint, toLsn: bigint): Promise<RelayRecord[]> {
  if (toLsn < fromLsn) throw usageError(`--to-lsn ${toLsn} is below --from-lsn ${fromLsn}`)
  const timeline = await readCurrentTimeline(layout)
  const records: RelayRecord[] = []
  for (const file of await listWalSegments(layout, timeline)) {
    const segment = await readArtifact(file.path, walSegmentCodec, {nowMs: 0n})
    for (const record of segment.records) if (record.lsn >= fromLsn && record.lsn <= toLsn) records.push({lsn: record.lsn, payload: record.payload})
  }
  return records
}
