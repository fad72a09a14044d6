import {crc32, hex32} from '../codec/crc.js'
import {toHex} from '../codec/hex.js'
import {isJsonObject, type JsonValue} from '../codec/json.js'
import {ByteReader} from '../codec/reader.js'
import {openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import type {EmbeddedDatabase, EmbeddedManifest, EmbeddedSuperblock} from '../model.js'
import type {ArtifactCodec, CodecContext} from './artifact.js'
import {jsonArray, jsonHex, jsonNullable} from './json-fields.js'

/**
 * The embedded single-file database (§9). What create and append write was
 * read off RedDB's own files:
 * - create: copy 0 gets generation 1 and copy 1 generation 2, both
 *   describing the same state with an empty WAL; the manifest is written
 *   once at 8192 and never rewritten;
 * - append: frames go at the recovery boundary, then one new superblock
 *   (generation + 1) into the other copy's slot, identical but for the
 *   boundary — the manifest keeps the boundary it was created with, so the
 *   boundary always comes from the superblock.
 */

export const SUPERBLOCK_BYTES = 4096
export const MANIFEST_OFFSET = 8192
export const MANIFEST_REGION_BYTES = 4096
export const WAL_REGION_OFFSET = 12_288
export const WAL_REGION_BYTES = 65_536
export const SNAPSHOT_OFFSET = 77_824
/** Everything an opener needs before the snapshot: both superblocks and the manifest region. */
export const HEAD_BYTES = WAL_REGION_OFFSET

const SUPERBLOCK_MAGIC = 'RDBSBLK1'
const MANIFEST_MAGIC = 'RDBMNFS1'
const FRAME_MAGIC = 'RDBEWAL1'
const MANIFEST_BYTES = 76
const FRAME_VERSION = 2
const FRAME_HEADER_BYTES = 36
const LEGACY_FRAME_HEADER_BYTES = 16
const SNAPSHOT_MAGIC = [0x52, 0x44, 0x53, 0x54] // "RDST"

/** Where the WAL and the snapshot are: the fields superblocks and the manifest share, in the same order. */
type Regions = Pick<EmbeddedManifest, 'wal_region_offset' | 'wal_region_bytes' | 'wal_recovery_boundary' | 'snapshot_offset' | 'snapshot_bytes' | 'snapshot_checksum'>

function readRegions(reader: ByteReader): Regions {
  return {
    wal_region_offset: reader.u64(),
    wal_region_bytes: reader.u64(),
    wal_recovery_boundary: reader.u64(),
    snapshot_offset: reader.u64(),
    snapshot_bytes: reader.u64(),
    snapshot_checksum: reader.u32(),
  }
}

function writeRegions(writer: ByteWriter, regions: Regions): void {
  writer
    .u64(regions.wal_region_offset)
    .u64(regions.wal_region_bytes)
    .u64(regions.wal_recovery_boundary)
    .u64(regions.snapshot_offset)
    .u64(regions.snapshot_bytes)
    .u32(regions.snapshot_checksum)
}

export function decodeSuperblock(block: Uint8Array, slot: 0 | 1): EmbeddedSuperblock {
  if (block.length < SUPERBLOCK_BYTES) throw new FormatError(`superblock ${slot} is truncated`)
  const stored = new DataView(block.buffer, block.byteOffset).getUint32(SUPERBLOCK_BYTES - 4, true)
  const computed = crc32(block.subarray(0, SUPERBLOCK_BYTES - 4))
  if (stored !== computed) throw new FormatError(`superblock ${slot} checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`)
  const reader = new ByteReader(block, `superblock ${slot} is truncated`, SUPERBLOCK_BYTES - 4)
  reader.magic(SUPERBLOCK_MAGIC, `superblock ${slot} has an invalid magic`)
  const version = reader.u32()
  if (version !== 1) throw new FormatError(`superblock ${slot} has unsupported version ${version}`)
  const copyIndex = reader.u8()
  if (copyIndex !== slot) throw new FormatError(`superblock in slot ${slot} says it is copy ${copyIndex}`)
  return {
    copy_index: copyIndex,
    generation: reader.u64(),
    format_version: reader.u32(),
    manifest_offset: reader.u64(),
    manifest_len: reader.u64(),
    manifest_checksum: reader.u32(),
    ...readRegions(reader),
    checksum: stored,
  }
}

export function encodeSuperblock(superblock: Omit<EmbeddedSuperblock, 'checksum'>): Uint8Array {
  const writer = new ByteWriter(SUPERBLOCK_BYTES)
    .ascii(SUPERBLOCK_MAGIC)
    .u32(1)
    .u8(superblock.copy_index)
    .u64(superblock.generation)
    .u32(superblock.format_version)
    .u64(superblock.manifest_offset)
    .u64(superblock.manifest_len)
    .u32(superblock.manifest_checksum)
  writeRegions(writer, superblock)
  writer.bytes(new Uint8Array(SUPERBLOCK_BYTES - 4 - writer.length))
  return writer.sealWithCrc().finish()
}

export function decodeEmbeddedManifest(bytes: Uint8Array): EmbeddedManifest {
  const reader = openSealed(bytes, 'embedded manifest')
  reader.magic(MANIFEST_MAGIC, 'embedded manifest has an invalid magic')
  const version = reader.u32()
  if (version !== 1) throw new FormatError(`embedded manifest has unsupported version ${version}`)
  const manifest = {
    version,
    ...readRegions(reader),
    created_at_unix_ms: reader.u128(),
    checksum: new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true),
  }
  // §9 lists what a manifest must pass (CRC, magic, version 1); bytes after its fields are not among them.
  return manifest
}

export function encodeEmbeddedManifest(manifest: Omit<EmbeddedManifest, 'checksum' | 'version'>): Uint8Array {
  const writer = new ByteWriter(MANIFEST_BYTES).ascii(MANIFEST_MAGIC).u32(1)
  writeRegions(writer, manifest)
  return writer.u128(manifest.created_at_unix_ms).sealWithCrc().finish()
}

/** The manifest a superblock stands for when its own cannot be read. */
function manifestFromSuperblock(superblock: EmbeddedSuperblock): EmbeddedManifest {
  return {
    version: 1,
    wal_region_offset: superblock.wal_region_offset,
    wal_region_bytes: superblock.wal_region_bytes,
    wal_recovery_boundary: superblock.wal_recovery_boundary,
    snapshot_offset: superblock.snapshot_offset,
    snapshot_bytes: superblock.snapshot_bytes,
    snapshot_checksum: superblock.snapshot_checksum,
    created_at_unix_ms: 0n,
    checksum: 0,
  }
}

/** Reads `length` bytes at `offset` of the database file; undefined past its end. */
export type ReadRange = (offset: bigint, length: number) => Uint8Array | undefined

function readManifestOf(superblock: EmbeddedSuperblock, readRange: ReadRange): EmbeddedManifest | undefined {
  const length = superblock.manifest_len
  if (length < 4n || length > BigInt(MANIFEST_REGION_BYTES)) return undefined
  const bytes = readRange(superblock.manifest_offset, Number(length))
  if (bytes === undefined) return undefined
  if (new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true) !== superblock.manifest_checksum) return undefined
  try {
    return decodeEmbeddedManifest(bytes)
  } catch {
    return undefined
  }
}

/** A ReadRange over bytes held in memory. */
export function sliceOf(bytes: Uint8Array): ReadRange {
  return (offset, length) => (offset + BigInt(length) <= BigInt(bytes.length) ? bytes.subarray(Number(offset), Number(offset) + length) : undefined)
}

export interface SuperblockCandidate {
  superblock: EmbeddedSuperblock
  /** The manifest in effect: its own, or the superblock's fields; the boundary always the superblock's. */
  manifest: EmbeddedManifest
}

/**
 * The superblock copies that decode, highest generation first, each with
 * its manifest in effect. `head` is the start of the file (at least both
 * superblocks, when the file has them); manifests are read through
 * `readRange`, wherever a superblock says they are.
 */
export function superblockCandidates(head: Uint8Array, readRange: ReadRange = sliceOf(head)): SuperblockCandidate[] {
  const candidates: SuperblockCandidate[] = []
  for (const slot of [0, 1] as const) {
    const block = head.subarray(slot * SUPERBLOCK_BYTES, (slot + 1) * SUPERBLOCK_BYTES)
    let superblock: EmbeddedSuperblock
    try {
      superblock = decodeSuperblock(block, slot)
    } catch {
      continue
    }
    const manifest = readManifestOf(superblock, readRange) ?? manifestFromSuperblock(superblock)
    candidates.push({superblock, manifest: {...manifest, wal_recovery_boundary: superblock.wal_recovery_boundary}})
  }
  return candidates.sort((a, b) => (a.superblock.generation > b.superblock.generation ? -1 : a.superblock.generation < b.superblock.generation ? 1 : 0))
}

/** The snapshot range a candidate claims, when it lies inside a file of `fileLength` bytes. */
export function snapshotRange(candidate: SuperblockCandidate, fileLength: bigint): {offset: bigint; bytes: bigint} | undefined {
  const {snapshot_offset: offset, snapshot_bytes: bytes} = candidate.manifest
  return offset + bytes <= fileLength ? {offset, bytes} : undefined
}

/** Whether a candidate's snapshot checks out: inside the file, its CRC, and `RDST` when ≥ 4 bytes. */
export function acceptCandidate(candidate: SuperblockCandidate, fileLength: bigint, snapshotCrc: number, snapshotHead: Uint8Array): boolean {
  const range = snapshotRange(candidate, fileLength)
  if (range === undefined || snapshotCrc !== candidate.manifest.snapshot_checksum) return false
  return range.bytes < 4n || SNAPSHOT_MAGIC.every((byte, i) => snapshotHead[i] === byte)
}

export function encodeWalFrame(sequence: bigint, payload: Uint8Array, previousFrameCrc: number): Uint8Array {
  const writer = new ByteWriter(FRAME_HEADER_BYTES + payload.length)
    .ascii(FRAME_MAGIC)
    .u16(FRAME_VERSION)
    .u16(FRAME_HEADER_BYTES)
    .u64(sequence)
    .u32(payload.length)
    .u32(crc32(payload))
    .u32(previousFrameCrc)
  writer.u32(writer.crc())
  return writer.bytes(payload).finish()
}

/**
 * The WAL payloads in `region` (the bytes from the region start up to the
 * recovery boundary). Scanning stops at the first frame that does not
 * check out, as RedDB's recovery does.
 */
export function scanWalFrames(region: Uint8Array): Uint8Array[] {
  const view = new DataView(region.buffer, region.byteOffset, region.byteLength)
  const payloads: Uint8Array[] = []
  let at = 0
  let previousCrc = 0
  const magicAt = (offset: number) => offset + 8 <= region.length && [...FRAME_MAGIC].every((c, i) => region[offset + i] === c.charCodeAt(0))
  while (magicAt(at)) {
    let payload: Uint8Array
    let frameEnd: number
    if (at + FRAME_HEADER_BYTES <= region.length && view.getUint16(at + 8, true) === FRAME_VERSION && view.getUint16(at + 10, true) === FRAME_HEADER_BYTES) {
      const length = view.getUint32(at + 20, true)
      frameEnd = at + FRAME_HEADER_BYTES + length
      if (frameEnd > region.length) break
      if (view.getUint32(at + 32, true) !== crc32(region.subarray(at, at + 32))) break
      if (view.getUint32(at + 28, true) !== previousCrc) break
      payload = region.subarray(at + FRAME_HEADER_BYTES, frameEnd)
      if (view.getUint32(at + 24, true) !== crc32(payload)) break
    } else {
      // A legacy frame: magic, u32 length, u32 payload CRC, payload.
      if (at + LEGACY_FRAME_HEADER_BYTES > region.length) break
      const length = view.getUint32(at + 8, true)
      frameEnd = at + LEGACY_FRAME_HEADER_BYTES + length
      if (frameEnd > region.length) break
      payload = region.subarray(at + LEGACY_FRAME_HEADER_BYTES, frameEnd)
      if (view.getUint32(at + 12, true) !== crc32(payload)) break
    }
    payloads.push(payload)
    previousCrc = crc32(region.subarray(at, frameEnd))
    at = frameEnd
  }
  return payloads
}

/** The WAL region bytes a candidate's frames live in, clipped to what `bytes` holds. */
function walRegionOf(candidate: SuperblockCandidate, bytes: Uint8Array): Uint8Array {
  const start = candidate.manifest.wal_region_offset
  const end = candidate.superblock.wal_recovery_boundary
  if (end <= start || start >= BigInt(bytes.length)) return new Uint8Array(0)
  return bytes.subarray(Number(start), Number(end < BigInt(bytes.length) ? end : BigInt(bytes.length)))
}

/**
 * Every byte of a freshly created database before its snapshot: both
 * superblocks, the manifest, and the empty WAL region.
 */
export function createDatabaseHead(snapshotBytes: bigint, snapshotChecksum: number, createdAtMs: bigint): Uint8Array {
  const head = new Uint8Array(SNAPSHOT_OFFSET)
  const manifest = encodeEmbeddedManifest({
    wal_region_offset: BigInt(WAL_REGION_OFFSET),
    wal_region_bytes: BigInt(WAL_REGION_BYTES),
    wal_recovery_boundary: BigInt(WAL_REGION_OFFSET),
    snapshot_offset: BigInt(SNAPSHOT_OFFSET),
    snapshot_bytes: snapshotBytes,
    snapshot_checksum: snapshotChecksum,
    created_at_unix_ms: createdAtMs,
  })
  const state = {
    format_version: 1,
    manifest_offset: BigInt(MANIFEST_OFFSET),
    manifest_len: BigInt(manifest.length),
    manifest_checksum: crc32(manifest.subarray(0, manifest.length - 4)),
    wal_region_offset: BigInt(WAL_REGION_OFFSET),
    wal_region_bytes: BigInt(WAL_REGION_BYTES),
    wal_recovery_boundary: BigInt(WAL_REGION_OFFSET),
    snapshot_offset: BigInt(SNAPSHOT_OFFSET),
    snapshot_bytes: snapshotBytes,
    snapshot_checksum: snapshotChecksum,
  }
  head.set(encodeSuperblock({...state, copy_index: 0, generation: 1n}), 0)
  head.set(encodeSuperblock({...state, copy_index: 1, generation: 2n}), SUPERBLOCK_BYTES)
  head.set(manifest, MANIFEST_OFFSET)
  return head
}

export interface BytePatch {
  offset: bigint
  bytes: Uint8Array
}

/**
 * Appends WAL payloads to an opened database as byte patches: the frames at
 * the recovery boundary, then one superblock (generation + 1) in the other
 * copy's slot with the boundary moved past them.
 */
export function appendWalFramesPatch(opened: EmbeddedDatabase, existingRegion: Uint8Array, payloads: Uint8Array[]): BytePatch[] {
  if (payloads.length === 0) return []
  const current = opened.selected_superblock
  let previousCrc = 0
  for (const frame of framesOf(existingRegion, opened.wal_payloads.length)) previousCrc = crc32(frame)
  const frames = new ByteWriter()
  let sequence = BigInt(opened.wal_payloads.length)
  for (const payload of payloads) {
    const frame = encodeWalFrame(++sequence, payload, previousCrc)
    previousCrc = crc32(frame)
    frames.bytes(frame)
  }
  const boundary = current.wal_recovery_boundary + BigInt(frames.length)
  if (boundary > current.wal_region_offset + current.wal_region_bytes) {
    throw new FormatError(`WAL region is full: ${frames.length} more bytes do not fit below ${current.wal_region_offset + current.wal_region_bytes}`)
  }
  const slot = current.copy_index === 0 ? 1 : 0
  const superblock = encodeSuperblock({...current, copy_index: slot, generation: current.generation + 1n, wal_recovery_boundary: boundary})
  return [
    {offset: current.wal_recovery_boundary, bytes: frames.finish()},
    {offset: BigInt(slot * SUPERBLOCK_BYTES), bytes: superblock},
  ]
}

/** The raw frames (header + payload) of the first `count` frames of a region. */
function framesOf(region: Uint8Array, count: number): Uint8Array[] {
  const frames: Uint8Array[] = []
  let at = 0
  for (const payload of scanWalFrames(region).slice(0, count)) {
    const end = payload.byteOffset - region.byteOffset + payload.length
    frames.push(region.subarray(at, end))
    at = end
  }
  return frames
}

/** Opens a whole database held in memory (§9). */
function decode(bytes: Uint8Array): EmbeddedDatabase {
  const fileLength = BigInt(bytes.length)
  for (const candidate of superblockCandidates(bytes)) {
    const range = snapshotRange(candidate, fileLength)
    if (range === undefined) continue
    const snapshot = bytes.subarray(Number(range.offset), Number(range.offset + range.bytes))
    if (!acceptCandidate(candidate, fileLength, crc32(snapshot), snapshot.subarray(0, 4))) continue
    return {
      selected_superblock: candidate.superblock,
      manifest: candidate.manifest,
      snapshot: snapshot.length === 0 ? null : snapshot,
      wal_payloads: scanWalFrames(walRegionOf(candidate, bytes)),
    }
  }
  throw new FormatError('no valid embedded superblock: no superblock copy decodes with a snapshot that checks out')
}

/** Creates a database with the snapshot (created_at = now), then appends the WAL payloads. */
function encode(database: EmbeddedDatabase, context: CodecContext): Uint8Array {
  const snapshot = database.snapshot ?? new Uint8Array(0)
  const file = new Uint8Array(SNAPSHOT_OFFSET + snapshot.length)
  file.set(createDatabaseHead(BigInt(snapshot.length), crc32(snapshot), context.nowMs), 0)
  file.set(snapshot, SNAPSHOT_OFFSET)
  if (database.wal_payloads.length === 0) return file
  const created = decode(file)
  for (const patch of appendWalFramesPatch(created, new Uint8Array(0), database.wal_payloads)) file.set(patch.bytes, Number(patch.offset))
  return file
}

function toJson(database: EmbeddedDatabase): JsonValue {
  return {
    selected_superblock: {...database.selected_superblock},
    manifest: {...database.manifest},
    snapshot_hex: database.snapshot === null ? null : toHex(database.snapshot),
    wal_payloads_hex: database.wal_payloads.map(toHex),
  }
}

/** Only the snapshot and the WAL payloads matter for encoding; the rest is what opening shows. */
function fromJson(json: JsonValue): EmbeddedDatabase {
  if (!isJsonObject(json)) throw new FormatError('embedded database JSON must be an object')
  const snapshot = jsonNullable(json.snapshot_hex, (value) => jsonHex(value, 'snapshot_hex'))
  const wal_payloads = jsonArray(json.wal_payloads_hex, 'wal_payloads_hex').map((value, i) => jsonHex(value, `wal_payloads_hex[${i}]`))
  const opened = decode(encode({snapshot, wal_payloads} as EmbeddedDatabase, {nowMs: 0n}))
  return {...opened, snapshot: snapshot !== null && snapshot.length === 0 ? null : snapshot, wal_payloads}
}

export const embeddedRdbCodec: ArtifactCodec<EmbeddedDatabase> = {kind: 'embedded-rdb', label: 'embedded database', decode, encode, toJson, fromJson}
