import {isJsonObject, type JsonValue} from '../codec/json.js'
import {checkCount, expectConsumed, expectVersion, openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import {basebackupChunkRelativePath, storedPathProblem} from '../layout.js'
import type {BasebackupChunk, BasebackupManifest} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonArray, jsonString, jsonU32, jsonU64} from './json-fields.js'

const MAGIC = 'RDBASE01'
const NAME = 'primary-replica base backup manifest'
export const MAX_CHUNKS = 1_000_000
const MIN_CHUNK_BYTES = 4 + 8 + 8 + 4 + 4
export const DEFAULT_CHUNK_BYTES = 4_194_304n

function checkPath(relative: string, what: string): void {
  const problem = storedPathProblem(relative)
  if (problem !== undefined) throw new FormatError(`base backup ${what} path ${JSON.stringify(relative)} ${problem}`)
}

/** The manifest rules of §6, checked on decode and before writing. */
export function validateBasebackupManifest(manifest: BasebackupManifest): void {
  if (manifest.checkpoint_lsn < manifest.start_lsn) {
    throw new FormatError(`base backup checkpoint lsn ${manifest.checkpoint_lsn} is before start lsn ${manifest.start_lsn}`)
  }
  checkPath(manifest.snapshot_relative_path, 'snapshot')
  if (manifest.chunks.length === 0) throw new FormatError('base backup manifest must contain at least one chunk')
  let offset = 0n
  manifest.chunks.forEach((chunk, position) => {
    if (chunk.ordinal !== position) throw new FormatError(`base backup chunk ordinal ${chunk.ordinal} does not match position ${position}`)
    if (chunk.snapshot_offset !== offset) throw new FormatError(`base backup chunk ${position} starts at ${chunk.snapshot_offset}, expected ${offset}`)
    checkPath(chunk.relative_path, 'chunk')
    offset += chunk.bytes
  })
  if (offset !== manifest.snapshot_bytes) throw new FormatError(`base backup chunks cover ${offset} bytes, expected ${manifest.snapshot_bytes}`)
}

/**
 * How a snapshot of `snapshotBytes` is cut into chunks of `chunkSize` bytes
 * (§6): chunk k holds bytes [k·C, (k+1)·C); an empty snapshot still gets one
 * empty chunk.
 */
export function planChunks(snapshotBytes: bigint, chunkSize: bigint, startLsn: bigint, checkpointLsn: bigint): Array<Omit<BasebackupChunk, 'checksum'>> {
  if (chunkSize < 1n) throw new FormatError('base backup chunk size must be at least 1 byte')
  const count = snapshotBytes === 0n ? 1n : (snapshotBytes + chunkSize - 1n) / chunkSize
  if (count > BigInt(MAX_CHUNKS)) throw new FormatError(`base backup would have ${count} chunks, more than ${MAX_CHUNKS}; use a larger chunk size`)
  const chunks: Array<Omit<BasebackupChunk, 'checksum'>> = []
  for (let ordinal = 0; ordinal < Number(count); ordinal++) {
    const offset = BigInt(ordinal) * chunkSize
    const remaining = snapshotBytes - offset
    chunks.push({
      ordinal,
      snapshot_offset: offset,
      bytes: remaining < chunkSize ? remaining : chunkSize,
      relative_path: basebackupChunkRelativePath(startLsn, checkpointLsn, ordinal),
    })
  }
  return chunks
}

/**
 * The largest database file a snapshot can go into: a file offset is a
 * signed 64-bit value on every system RedDB runs on, and the snapshot lies
 * after the head of the database (§9.2: at 81920 in a format-2 file).
 */
const MAX_FILE_BYTES = (1n << 63n) - 1n
const SNAPSHOT_OFFSET_MAX = 81_920n
export const MAX_SNAPSHOT_BYTES = MAX_FILE_BYTES - SNAPSHOT_OFFSET_MAX

/**
 * Why a manifest that decodes cannot describe a backup anyone took, or
 * null: a snapshot no database file can hold, or chunks not cut the way
 * every writer cuts them (§6 "Writing": all of one size C but the last,
 * which holds 1…C bytes; an empty snapshot has one empty chunk). Such a
 * manifest is damage, and is never counted as a usable backup.
 */
export function implausibleManifest(manifest: BasebackupManifest): string | null {
  if (manifest.snapshot_bytes > MAX_SNAPSHOT_BYTES) {
    return `claims a snapshot of ${manifest.snapshot_bytes} bytes, more than a database file can hold (${MAX_SNAPSHOT_BYTES})`
  }
  const {chunks} = manifest
  if (manifest.snapshot_bytes === 0n) return chunks.length === 1 ? null : `claims an empty snapshot in ${chunks.length} chunks`
  const size = chunks[0].bytes
  for (const [k, chunk] of chunks.entries()) {
    const last = k === chunks.length - 1
    if (last ? chunk.bytes === 0n || chunk.bytes > size : chunk.bytes !== size) {
      return `chunk ${k} holds ${chunk.bytes} bytes where a writer cutting ${size}-byte chunks puts ${last ? `1 to ${size}` : size}`
    }
  }
  return null
}

/** Usable for catch-up from LSN `fromLsn`: on the current timeline with checkpoint ≥ fromLsn. */
export function isUsableForCatchup(manifest: BasebackupManifest, currentTimeline: bigint, fromLsn: bigint): boolean {
  return manifest.timeline === currentTimeline && manifest.checkpoint_lsn >= fromLsn
}

function decode(bytes: Uint8Array): BasebackupManifest {
  const reader = openSealed(bytes, NAME)
  reader.magic(MAGIC, 'invalid base backup manifest magic')
  expectVersion(reader.u16(), [1], 'primary-replica base backup')
  const timeline = reader.u64()
  const start_lsn = reader.u64()
  const checkpoint_lsn = reader.u64()
  const snapshot_relative_path = reader.string('snapshot path')
  const snapshot_bytes = reader.u64()
  const snapshot_checksum = reader.u32()
  let chunks: BasebackupChunk[]
  if (reader.remaining === 0) {
    // The older single-file form: the whole snapshot is one chunk.
    chunks = [{ordinal: 0, snapshot_offset: 0n, bytes: snapshot_bytes, checksum: snapshot_checksum, relative_path: snapshot_relative_path}]
  } else {
    const claimed = reader.u32()
    if (claimed > MAX_CHUNKS) throw new FormatError(`base backup manifest has too many chunks: ${claimed}`)
    const count = checkCount(reader, claimed, MIN_CHUNK_BYTES, 'base backup chunk')
    chunks = []
    for (let i = 0; i < count; i++) {
      chunks.push({ordinal: reader.u32(), snapshot_offset: reader.u64(), bytes: reader.u64(), checksum: reader.u32(), relative_path: reader.string('chunk path')})
    }
  }
  const manifest = {timeline, start_lsn, checkpoint_lsn, snapshot_relative_path, snapshot_bytes, snapshot_checksum, chunks}
  validateBasebackupManifest(manifest)
  expectConsumed(reader, NAME)
  return manifest
}

/** Always the chunked form, as current writers write it. */
function encode(manifest: BasebackupManifest): Uint8Array {
  validateBasebackupManifest(manifest)
  const writer = new ByteWriter()
    .ascii(MAGIC)
    .u16(1)
    .u64(manifest.timeline)
    .u64(manifest.start_lsn)
    .u64(manifest.checkpoint_lsn)
    .string(manifest.snapshot_relative_path)
    .u64(manifest.snapshot_bytes)
    .u32(manifest.snapshot_checksum)
    .u32(manifest.chunks.length)
  for (const chunk of manifest.chunks) writer.u32(chunk.ordinal).u64(chunk.snapshot_offset).u64(chunk.bytes).u32(chunk.checksum).string(chunk.relative_path)
  return writer.sealWithCrc().finish()
}

function fromJson(json: JsonValue): BasebackupManifest {
  if (!isJsonObject(json)) throw new FormatError('base backup manifest JSON must be an object')
  return {
    timeline: jsonU64(json.timeline, 'timeline'),
    start_lsn: jsonU64(json.start_lsn, 'start_lsn'),
    checkpoint_lsn: jsonU64(json.checkpoint_lsn, 'checkpoint_lsn'),
    snapshot_relative_path: jsonString(json.snapshot_relative_path, 'snapshot_relative_path'),
    snapshot_bytes: jsonU64(json.snapshot_bytes, 'snapshot_bytes'),
    snapshot_checksum: jsonU32(json.snapshot_checksum, 'snapshot_checksum'),
    chunks: jsonArray(json.chunks, 'chunks').map((item, i) => {
      if (!isJsonObject(item)) throw new FormatError(`chunks[${i}] must be an object`)
      return {
        ordinal: jsonU32(item.ordinal, `chunks[${i}].ordinal`),
        snapshot_offset: jsonU64(item.snapshot_offset, `chunks[${i}].snapshot_offset`),
        bytes: jsonU64(item.bytes, `chunks[${i}].bytes`),
        checksum: jsonU32(item.checksum, `chunks[${i}].checksum`),
        relative_path: jsonString(item.relative_path, `chunks[${i}].relative_path`),
      }
    }),
  }
}

export const basebackupManifestCodec: ArtifactCodec<BasebackupManifest> = {
  kind: 'basebackup-manifest',
  label: 'base backup manifest',
  decode,
  encode,
  toJson: (manifest) => ({...manifest, chunks: manifest.chunks.map((chunk) => ({...chunk}))}),
  fromJson,
}
