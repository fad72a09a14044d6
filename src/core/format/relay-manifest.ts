import {isJsonObject, type JsonValue} from '../codec/json.js'
import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError, refused} from '../errors.js'
import {storedPathProblem} from '../layout.js'
import type {RelayManifest, RelaySegment, RelaySegmentRef} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonString, jsonU32, jsonU64} from './json-fields.js'
import {relaySegmentChecksum, relaySegmentCodec} from './relay-segment.js'

const MAGIC = 'RDRELAY1'
const NAME = 'replica relay log manifest'
const MIN_REF_BYTES = 4 + 8 + 8 + 4

export interface RelayAck {
  received_lsn: bigint
  written_lsn: bigint
  flushed_lsn: bigint
  applied_lsn: bigint
}

/** The manifest rules of §7, checked on decode and before writing. */
export function validateRelayManifest(manifest: RelayManifest): void {
  if (manifest.applied_lsn > manifest.flushed_lsn || manifest.flushed_lsn > manifest.received_lsn) {
    throw new FormatError(
      `relay manifest positions are not ordered (applied ${manifest.applied_lsn} ≤ flushed ${manifest.flushed_lsn} ≤ received ${manifest.received_lsn} must hold)`,
    )
  }
  for (const ref of manifest.segments) {
    const problem = storedPathProblem(ref.relative_path)
    if (problem !== undefined) throw new FormatError(`relay segment path ${JSON.stringify(ref.relative_path)} ${problem}`)
    if (ref.end_lsn < ref.start_lsn) throw new FormatError(`relay manifest segment ${ref.relative_path} ends (${ref.end_lsn}) before it starts (${ref.start_lsn})`)
  }
}

export function emptyRelayManifest(replicaId: string, timeline: bigint): RelayManifest {
  return {replica_id: replicaId, timeline, received_lsn: 0n, flushed_lsn: 0n, applied_lsn: 0n, segments: []}
}

const max = (a: bigint, b: bigint) => (a > b ? a : b)

/** Adds a segment: it may not start before the previous one ends; received and flushed rise to its end. */
export function addRelaySegment(manifest: RelayManifest, ref: RelaySegmentRef): RelayManifest {
  const previous = manifest.segments.at(-1)
  if (previous && ref.start_lsn < previous.end_lsn) {
    throw refused(`relay segment ${ref.relative_path} starts at ${ref.start_lsn}, before the previous segment ends (${previous.end_lsn})`)
  }
  return {
    ...manifest,
    received_lsn: max(manifest.received_lsn, ref.end_lsn),
    flushed_lsn: max(manifest.flushed_lsn, ref.end_lsn),
    segments: [...manifest.segments, ref],
  }
}

/** Marks `applied`: it may not pass flushed; the manifest keeps the maximum. */
export function markRelayApplied(manifest: RelayManifest, applied: bigint): RelayManifest {
  if (applied > manifest.flushed_lsn) throw refused(`applied LSN ${applied} is beyond the flushed LSN ${manifest.flushed_lsn}`)
  return {...manifest, applied_lsn: max(manifest.applied_lsn, applied)}
}

export function relayManifestAck(manifest: RelayManifest): RelayAck {
  return {received_lsn: manifest.received_lsn, written_lsn: manifest.flushed_lsn, flushed_lsn: manifest.flushed_lsn, applied_lsn: manifest.applied_lsn}
}

/**
 * Problems that make a manifest inconsistent (§7): a referenced segment that
 * is missing, does not decode, or differs in timeline, range or checksum.
 * Empty when consistent. `readSegment` returns undefined for a missing file.
 */
export function checkRelayManifestConsistency(manifest: RelayManifest, readSegment: (relativePath: string) => Uint8Array | undefined): string[] {
  const problems: string[] = []
  for (const ref of manifest.segments) {
    const bytes = readSegment(ref.relative_path)
    if (bytes === undefined) {
      problems.push(`${ref.relative_path}: referenced segment is missing`)
      continue
    }
    let segment
    try {
      segment = relaySegmentCodec.decode(bytes, {nowMs: 0n})
    } catch (error) {
      problems.push(`${ref.relative_path}: ${(error as Error).message}`)
      continue
    }
    problems.push(...relaySegmentRefProblems(manifest.timeline, ref, segment, bytes))
  }
  return problems
}

/** What a segment already decoded (and its bytes) contradicts in the manifest entry that names it, on the manifest's `timeline`. */
export function relaySegmentRefProblems(timeline: bigint, ref: RelaySegmentRef, segment: RelaySegment, bytes: Uint8Array): string[] {
  const problems: string[] = []
  if (segment.timeline !== timeline) problems.push(`${ref.relative_path}: timeline ${segment.timeline}, manifest says ${timeline}`)
  if (segment.start_lsn !== ref.start_lsn || segment.end_lsn !== ref.end_lsn) {
    problems.push(`${ref.relative_path}: covers ${segment.start_lsn}..${segment.end_lsn}, manifest says ${ref.start_lsn}..${ref.end_lsn}`)
  }
  const checksum = relaySegmentChecksum(bytes)
  if (checksum !== ref.checksum) problems.push(`${ref.relative_path}: checksum ${checksum}, manifest says ${ref.checksum}`)
  return problems
}

function decode(bytes: Uint8Array): RelayManifest {
  const reader = openSealed(bytes, NAME)
  reader.magic(MAGIC, `invalid ${NAME} magic`)
  expectVersion(reader.u16(), [1], 'relay log manifest')
  const replica_id = reader.string('replica id')
  const timeline = reader.u64()
  const received_lsn = reader.u64()
  const flushed_lsn = reader.u64()
  const applied_lsn = reader.u64()
  const count = checkCount(reader, reader.u32(), MIN_REF_BYTES, 'relay segment reference')
  const segments: RelaySegmentRef[] = []
  for (let i = 0; i < count; i++) {
    segments.push({relative_path: reader.string('relay segment path'), start_lsn: reader.u64(), end_lsn: reader.u64(), checksum: reader.u32()})
  }
  const manifest = {replica_id, timeline, received_lsn, flushed_lsn, applied_lsn, segments}
  validateRelayManifest(manifest)
  expectConsumed(reader, NAME)
  return manifest
}

function encode(manifest: RelayManifest): Uint8Array {
  validateRelayManifest(manifest)
  const writer = new ByteWriter()
    .ascii(MAGIC)
    .u16(1)
    .string(manifest.replica_id)
    .u64(manifest.timeline)
    .u64(manifest.received_lsn)
    .u64(manifest.flushed_lsn)
    .u64(manifest.applied_lsn)
    .u32(manifest.segments.length)
  for (const ref of manifest.segments) writer.string(ref.relative_path).u64(ref.start_lsn).u64(ref.end_lsn).u32(ref.checksum)
  return writer.sealWithCrc().finish()
}

function fromJson(json: JsonValue): RelayManifest {
  if (!isJsonObject(json)) throw new FormatError('relay manifest JSON must be an object')
  return {
    replica_id: jsonString(json.replica_id, 'replica_id'),
    timeline: jsonU64(json.timeline, 'timeline'),
    received_lsn: jsonU64(json.received_lsn, 'received_lsn'),
    flushed_lsn: jsonU64(json.flushed_lsn, 'flushed_lsn'),
    applied_lsn: jsonU64(json.applied_lsn, 'applied_lsn'),
    segments: jsonArray(json.segments, 'segments').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`segments[${i}] must be an object`)
      return {
        relative_path: jsonString(item.relative_path, `segments[${i}].relative_path`),
        start_lsn: jsonU64(item.start_lsn, `segments[${i}].start_lsn`),
        end_lsn: jsonU64(item.end_lsn, `segments[${i}].end_lsn`),
        checksum: jsonU32(item.checksum, `segments[${i}].checksum`),
      }
    }),
  }
}

export const relayManifestCodec: ArtifactCodec<RelayManifest> = {
  kind: 'relay-manifest',
  label: 'relay manifest',
  decode,
  encode,
  toJson: (manifest) => ({...manifest, segments: manifest.segments.map((ref) => ({...ref}))}),
  fromJson,
}
