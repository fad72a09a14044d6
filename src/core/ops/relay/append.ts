import path from 'node:path'

import {FormatError, RedreplError, refused, usageError} from '../../errors.js'
import {
  addRelaySegment,
  checkRelayManifestConsistency,
  emptyRelayManifest,
  markRelayApplied,
  relayManifestCodec,
} from '../../format/relay-manifest.js'
import {relaySegmentChecksum, relaySegmentCodec, relaySegmentFromRecords} from '../../format/relay-segment.js'
import {walSegmentCodec} from '../../format/wal-segment.js'
import {mkdirDurable, writeFileAtomic} from '../../fs/atomic.js'
import {assertPlainComponent, resolveContained} from '../../fs/contained.js'
import {readArtifact, readArtifactBytesIfExists, readArtifactIfExists} from '../node/artifact-file.js'
import {Layout, relaySegmentName} from '../../layout.js'
import type {RelayManifest, RelayRecord, RelaySegmentRef} from '../../model.js'
import {listWalSegments, readCurrentTimeline} from '../node/state.js'
import {knownReplicaIds, readReplicaAcks} from '../node/replicas.js'

/** RedDB 1.12 relays on the initial timeline, even under a later timeline's directory. */
export const RELAY_TIMELINE = 1n

export interface RelayAppendReport {
  replica_id: string
  relay_dir_path: string
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
/** Refuses a replica id that is not one plain path component (it names the replica's relay directory); checked before any input is read. */
export function checkReplicaId(replicaId: string): void {
  assertPlainComponent(replicaId, 'replica id')
}

export interface RelayAppendOptions {
  /** Start a relay log for a replica the layout does not know yet. */
  create: boolean
  /** The node's data path, for the legacy slot store beside it. */
  dataPath?: string
  nowMs: bigint
}

export async function appendRelay(layout: Layout, replicaId: string, records: RelayRecord[], appliedLsn: bigint, options: RelayAppendOptions): Promise<RelayAppendReport> {
  assertPlainComponent(replicaId, 'replica id')
  const timeline = await readCurrentTimeline(layout)
  const relayDir = layout.relayDir(timeline, replicaId)
  const manifestPath = layout.relayManifestPath(timeline, replicaId)
  const existing = await readConsistentRelayManifest(relayDir, manifestPath)
  if (existing === null && !options.create) await assertKnownReplica(layout, options.dataPath, timeline, replicaId, options.nowMs)
  const base = {replica_id: replicaId, relay_dir_path: relayDir, manifest_path: manifestPath, received_records: records.length}
  if (records.length === 0) return {...base, manifest: existing, appended_records: 0, new_segment: null}

  let manifest = existing ?? emptyRelayManifest(replicaId, RELAY_TIMELINE)
  if (manifest.replica_id !== replicaId) throw refused(`${manifestPath}: belongs to replica ${JSON.stringify(manifest.replica_id)}, not ${JSON.stringify(replicaId)}`)
  if (manifest.timeline !== RELAY_TIMELINE) throw refused(`${manifestPath}: relays on timeline ${manifest.timeline}; RedDB 1.12 only appends to relay logs of timeline 1`)

  const largest = records.reduce((max, record) => (record.lsn > max ? record.lsn : max), 0n)
  let newSegment: RelaySegmentRef | null = null
  let segmentBytes: Uint8Array | undefined
  let fresh: RelayRecord[] = []
  if (largest > manifest.flushed_lsn) {
    fresh = records.filter((record) => record.lsn > manifest.flushed_lsn)
    for (let i = 1; i < fresh.length; i++) {
      if (fresh[i].lsn <= fresh[i - 1].lsn) throw usageError(`records must have strictly increasing LSNs: ${fresh[i].lsn} follows ${fresh[i - 1].lsn}`)
    }
    const segment = relaySegmentFromRecords(RELAY_TIMELINE, fresh)
    segmentBytes = relaySegmentCodec.encode(segment, {nowMs: 0n})
    newSegment = {relative_path: relaySegmentName(segment.start_lsn, segment.end_lsn), start_lsn: segment.start_lsn, end_lsn: segment.end_lsn, checksum: relaySegmentChecksum(segmentBytes)}
    manifest = addRelaySegment(manifest, newSegment)
  }
  manifest = markRelayApplied(manifest, appliedLsn < manifest.flushed_lsn ? appliedLsn : manifest.flushed_lsn)
  await mkdirDurable(relayDir)
  if (newSegment !== null && segmentBytes !== undefined) {
    await writeFileAtomic(path.join(relayDir, newSegment.relative_path), segmentBytes, {label: 'relay-segment', clearLeftovers: true})
  }
  try {
    await writeFileAtomic(manifestPath, relayManifestCodec.encode(manifest, {nowMs: 0n}), {label: 'relay-manifest', clearLeftovers: true})
  } catch (error) {
    // Said so the operator does not take the run for one that changed nothing.
    if (newSegment !== null && error instanceof RedreplError && error.kind === 'failure') {
      throw new RedreplError('failure', `${error.message}; the new segment ${newSegment.relative_path} was written but is not listed yet (RedDB ignores it; the same batch appended again lists it)`)
    }
    throw error
  }
  return {...base, manifest, appended_records: fresh.length, new_segment: newSegment}
}

/** A relay log is only started for a replica the layout knows (slot or relay dir), so a mistyped id cannot open a new one. */
async function assertKnownReplica(layout: Layout, dataPath: string | undefined, timeline: bigint, replicaId: string, nowMs: bigint): Promise<void> {
  const known = knownReplicaIds(await readReplicaAcks(layout, dataPath, timeline, nowMs))
  if (known.includes(replicaId)) return
  throw refused(`${layout.relayRoot(timeline)}: no relay log or slot for replica ${JSON.stringify(replicaId)} on timeline ${timeline} (known: ${known.length > 0 ? known.join(', ') : 'none'})`, {
    code: 'relay.unknown-replica',
    hint: 'check --replica, or pass --create to start a relay log for a new replica',
  })
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
