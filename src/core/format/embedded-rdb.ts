import {crc32, hex32} from '../codec/crc.js'
import {toHex} from '../codec/hex.js'
import {isJsonObject, type JsonObject, type JsonValue} from '../codec/json.js'
import {U64_MAX} from '../codec/limits.js'
import {ByteReader} from '../codec/reader.js'
import {openSealed} from '../codec/sealed.js'
import {ByteWriter} from '../codec/writer.js'
import {FormatError} from '../errors.js'
import type {EmbeddedDatabase, EmbeddedManifest, EmbeddedSuperblock, RdbFormat, RedDBRelease} from '../model.js'
import type {ArtifactCodec, CodecContext} from './artifact.js'
import {jsonArray, jsonHex, jsonNullable} from './json-fields.js'

/**
 * The embedded single-file database (§9), in both formats and under both
 * releases' rules: RedDB 1.12 reads and writes format 1 (§9.1) and falls
 * back to a superblock's own fields when its manifest is bad; RedDB 1.23
 * writes format 2 (§9.2: two manifest slots, a circular WAL with
 * `wal_live_bytes`), still reads format 1, and never falls back past a bad
 * manifest. Which rules apply is the caller's to say (`CodecContext.reddb`);
 * without it, a superblock stored in layout 2 shows that 1.23 wrote the file.
 */

/** What each release does with an embedded database. */
export const RELEASES: Readonly<Record<RedDBRelease, {label: string; writes: RdbFormat; reads: readonly RdbFormat[]}>> = {
  'reddb-1.12': {label: 'RedDB 1.12', writes: 1, reads: [1]},
  'reddb-1.23': {label: 'RedDB 1.23', writes: 2, reads: [1, 2]},
}

/** The releases that open a format, for people: "RedDB 1.12, RedDB 1.23". */
export const readersOf = (format: RdbFormat): string[] =>
  Object.values(RELEASES)
    .filter((release) => release.reads.includes(format))
    .map((release) => release.label)

export const SUPERBLOCK_BYTES = 4096
export const MANIFEST_REGION_BYTES = 4096

/** Where a freshly created database of each format puts its parts (§9.1, §9.2). */
export const GEOMETRY: Readonly<Record<RdbFormat, {manifestOffset: number; walRegionOffset: number; walRegionBytes: number; snapshotOffset: number}>> = {
  1: {manifestOffset: 8192, walRegionOffset: 12_288, walRegionBytes: 65_536, snapshotOffset: 77_824},
  2: {manifestOffset: 8192, walRegionOffset: 16_384, walRegionBytes: 65_536, snapshotOffset: 81_920},
}

/** 1.23 reads a manifest only from one of its two slots. */
const MANIFEST_SLOTS = [8192n, 12_288n]

/** Everything an opener reads before the snapshot in a created file: both superblocks and both manifest slots. */
export const HEAD_BYTES = 16_384

const SUPERBLOCK_MAGIC = 'RDBSBLK1'
const MANIFEST_MAGIC = 'RDBMNFS1'
const FRAME_MAGIC = 'RDBEWAL1'
/** magic 8 + version 4 + five u64 + one more u64 in layout 2 + u32 snapshot CRC + u128 created_at + u32 CRC. */
const MANIFEST_BYTES: Readonly<Record<1 | 2, number>> = {1: 76, 2: 84}
const FRAME_VERSION = 2
const FRAME_HEADER_BYTES = 36
const LEGACY_FRAME_HEADER_BYTES = 16
const SNAPSHOT_MAGIC = [0x52, 0x44, 0x53, 0x54] // "RDST"

/** The structure layouts a release understands: 1.12 knows only layout 1 (§9.2: it ignores layout-2 superblocks). */
function layoutOf(version: number, rules: RedDBRelease): 1 | 2 | undefined {
  if (version === 1) return 1
  return version === 2 && rules === 'reddb-1.23' ? 2 : undefined
}

const liveBytesOfLayout1 = (regionOffset: bigint, boundary: bigint) => (boundary > regionOffset ? boundary - regionOffset : 0n)

export function decodeSuperblock(block: Uint8Array, slot: 0 | 1, rules: RedDBRelease = 'reddb-1.23'): EmbeddedSuperblock {
  if (block.length < SUPERBLOCK_BYTES) throw new FormatError(`superblock ${slot} is truncated`)
  const stored = new DataView(block.buffer, block.byteOffset).getUint32(SUPERBLOCK_BYTES - 4, true)
  const computed = crc32(block.subarray(0, SUPERBLOCK_BYTES - 4))
  if (stored !== computed) throw new FormatError(`superblock ${slot} checksum mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`)
  const reader = new ByteReader(block, `superblock ${slot} is truncated`, SUPERBLOCK_BYTES - 4)
  reader.magic(SUPERBLOCK_MAGIC, `superblock ${slot} has an invalid magic`)
  const version = reader.u32()
  const layout = layoutOf(version, rules)
  if (layout === undefined) throw new FormatError(`superblock ${slot} has unsupported version ${version} for ${RELEASES[rules].label}`)
  const copyIndex = reader.u8()
  if (copyIndex !== slot) throw new FormatError(`superblock in slot ${slot} says it is copy ${copyIndex}`)
  const generation = reader.u64()
  const format_version = reader.u32()
  const manifest_offset = reader.u64()
  const manifest_len = reader.u64()
  const manifest_checksum = reader.u32()
  return {
    layout,
    copy_index: copyIndex,
    generation,
    format_version,
    manifest_offset,
    manifest_len,
    manifest_checksum,
    ...readRegions(reader, layout),
    checksum: stored,
  }
}

/**
 * The fields superblock and manifest share, in their order (§9): the WAL
 * region, its boundary, layout 2's live bytes (derived for layout 1), and
 * the snapshot's place and CRC.
 */
function readRegions(reader: ByteReader, layout: 1 | 2) {
  const wal_region_offset = reader.u64()
  const wal_region_bytes = reader.u64()
  const wal_recovery_boundary = reader.u64()
  const wal_live_bytes = layout === 2 ? reader.u64() : liveBytesOfLayout1(wal_region_offset, wal_recovery_boundary)
  return {
    wal_region_offset,
    wal_region_bytes,
    wal_recovery_boundary,
    wal_live_bytes,
    snapshot_offset: reader.u64(),
    snapshot_bytes: reader.u64(),
    snapshot_checksum: reader.u32(),
  }
}

export function encodeSuperblock(superblock: Omit<EmbeddedSuperblock, 'checksum'>): Uint8Array {
  const writer = new ByteWriter(SUPERBLOCK_BYTES)
    .ascii(SUPERBLOCK_MAGIC)
    .u32(superblock.layout)
    .u8(superblock.copy_index)
    .u64(superblock.generation)
    .u32(superblock.format_version)
    .u64(superblock.manifest_offset)
    .u64(superblock.manifest_len)
    .u32(superblock.manifest_checksum)
    .u64(superblock.wal_region_offset)
    .u64(superblock.wal_region_bytes)
    .u64(superblock.wal_recovery_boundary)
  if (superblock.layout === 2) writer.u64(superblock.wal_live_bytes)
  writer.u64(superblock.snapshot_offset).u64(superblock.snapshot_bytes).u32(superblock.snapshot_checksum)
  writer.bytes(new Uint8Array(SUPERBLOCK_BYTES - 4 - writer.length))
  return writer.sealWithCrc().finish()
}

export function decodeEmbeddedManifest(bytes: Uint8Array, rules: RedDBRelease = 'reddb-1.23'): EmbeddedManifest {
  const reader = openSealed(bytes, 'embedded manifest')
  reader.magic(MANIFEST_MAGIC, 'embedded manifest has an invalid magic')
  const version = reader.u32()
  const layout = layoutOf(version, rules)
  if (layout === undefined) throw new FormatError(`embedded manifest has unsupported version ${version} for ${RELEASES[rules].label}`)
  if (bytes.length < MANIFEST_BYTES[layout]) throw new FormatError(`embedded manifest of version ${version} is ${bytes.length} bytes, shorter than its ${MANIFEST_BYTES[layout]}-byte layout`)
  // §9.2: bytes between the last field and the CRC are not looked at.
  return {
    version,
    ...readRegions(reader, layout),
    created_at_unix_ms: reader.u128(),
    checksum: new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true),
  }
}

/** A manifest in the layout its version number names (1 or 2). */
export function encodeEmbeddedManifest(manifest: Omit<EmbeddedManifest, 'checksum'> & {version: 1 | 2}): Uint8Array {
  const writer = new ByteWriter(MANIFEST_BYTES[manifest.version])
    .ascii(MANIFEST_MAGIC)
    .u32(manifest.version)
    .u64(manifest.wal_region_offset)
    .u64(manifest.wal_region_bytes)
    .u64(manifest.wal_recovery_boundary)
  if (manifest.version === 2) writer.u64(manifest.wal_live_bytes)
  return writer.u64(manifest.snapshot_offset).u64(manifest.snapshot_bytes).u32(manifest.snapshot_checksum).u128(manifest.created_at_unix_ms).sealWithCrc().finish()
}

/** The manifest a superblock stands for when its own cannot be read (1.12's fallback, §9.1). */
function manifestFromSuperblock(superblock: EmbeddedSuperblock): EmbeddedManifest {
  return {
    version: 1,
    wal_region_offset: superblock.wal_region_offset,
    wal_region_bytes: superblock.wal_region_bytes,
    wal_recovery_boundary: superblock.wal_recovery_boundary,
    wal_live_bytes: superblock.wal_live_bytes,
    snapshot_offset: superblock.snapshot_offset,
    snapshot_bytes: superblock.snapshot_bytes,
    snapshot_checksum: superblock.snapshot_checksum,
    created_at_unix_ms: 0n,
    checksum: 0,
  }
}

/** Reads `length` bytes at `offset` of the database file; undefined past its end. */
export type ReadRange = (offset: bigint, length: number) => Uint8Array | undefined

/** The manifest a superblock names, or what is wrong with it. */
function readManifestOf(superblock: EmbeddedSuperblock, readRange: ReadRange, rules: RedDBRelease): EmbeddedManifest | string {
  const length = superblock.manifest_len
  if (length < 4n || length > BigInt(MANIFEST_REGION_BYTES)) return `has length ${length}, not 4…${MANIFEST_REGION_BYTES}`
  if (rules === 'reddb-1.23' && !MANIFEST_SLOTS.includes(superblock.manifest_offset)) return `lies at ${superblock.manifest_offset}, outside both manifest slots (8192, 12288)`
  const bytes = readRange(superblock.manifest_offset, Number(length))
  if (bytes === undefined) return `runs past the end of the file (${length} bytes at ${superblock.manifest_offset})`
  const stored = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.length - 4, true)
  if (stored !== superblock.manifest_checksum) return `has CRC ${hex32(stored)}, the superblock expects ${hex32(superblock.manifest_checksum)}`
  try {
    return decodeEmbeddedManifest(bytes, rules)
  } catch (error) {
    if (error instanceof FormatError) return `does not decode: ${error.problem}`
    throw error
  }
}

/** A ReadRange over bytes held in memory. */
export function sliceOf(bytes: Uint8Array): ReadRange {
  return (offset, length) => (offset + BigInt(length) <= BigInt(bytes.length) ? bytes.subarray(Number(offset), Number(offset) + length) : undefined)
}

export interface SuperblockCandidate {
  superblock: EmbeddedSuperblock
  /** The manifest in effect: its own (or, under 1.12, the superblock's fields); boundary and live bytes always the superblock's. */
  manifest: EmbeddedManifest
}

/**
 * Whose rules a file shows: a superblock copy stored in layout 2 (its CRC
 * need not hold) was written by RedDB 1.23; otherwise nothing in the file
 * says it was not RedDB 1.12's.
 */
export function releaseShownBy(head: Uint8Array): RedDBRelease {
  for (const slot of [0, 1]) {
    const at = slot * SUPERBLOCK_BYTES
    if (head.length < at + 12 || [...SUPERBLOCK_MAGIC].some((c, i) => head[at + i] !== c.charCodeAt(0))) continue
    if (new DataView(head.buffer, head.byteOffset + at + 8, 4).getUint32(0, true) === 2) return 'reddb-1.23'
  }
  return 'reddb-1.12'
}

/** Whether the file starts like an embedded database at all (a superblock magic in either copy). */
export function looksLikeDatabase(head: Uint8Array): boolean {
  return [0, SUPERBLOCK_BYTES].some((at) => head.length >= at + 8 && [...SUPERBLOCK_MAGIC].every((c, i) => head[at + i] === c.charCodeAt(0)))
}

/**
 * The superblock copies to try, in order, each with its manifest in
 * effect: highest generation first, copy 0 first on a tie. `head` is the
 * start of the file; manifests are read through `readRange`, wherever a
 * superblock says they are. Under 1.23's rules a manifest that does not
 * check out rejects the whole file when its superblock's turn comes (§9.2
 * step 2); 1.12 used the superblock's own fields instead (§9.1).
 */
export function* superblockCandidates(head: Uint8Array, readRange: ReadRange, rules: RedDBRelease): Generator<SuperblockCandidate> {
  const valid: EmbeddedSuperblock[] = []
  const problems: string[] = []
  for (const slot of [0, 1] as const) {
    try {
      valid.push(decodeSuperblock(head.subarray(slot * SUPERBLOCK_BYTES, (slot + 1) * SUPERBLOCK_BYTES), slot, rules))
    } catch (error) {
      if (!(error instanceof FormatError)) throw error
      problems.push(error.problem)
    }
  }
  if (valid.length === 0) throw new FormatError(`superblock zone failed validation: ${problems.join('; ')}`)
  valid.sort((a, b) => (a.generation === b.generation ? a.copy_index - b.copy_index : a.generation > b.generation ? -1 : 1))
  for (const superblock of valid) {
    const found = readManifestOf(superblock, readRange, rules)
    if (typeof found === 'string' && rules === 'reddb-1.23') {
      throw new FormatError(`manifest zone failed validation: superblock ${superblock.copy_index} (generation ${superblock.generation}) names a manifest that ${found}; RedDB 1.23 does not fall back`)
    }
    const manifest = typeof found === 'string' ? manifestFromSuperblock(superblock) : found
    yield {superblock, manifest: {...manifest, wal_recovery_boundary: superblock.wal_recovery_boundary, wal_live_bytes: superblock.wal_live_bytes}}
  }
}

/**
 * The snapshot range a candidate claims, when it lies inside a file of
 * `fileLength` bytes. Under 1.23 an end past 2^64 − 1 rejects the file (§9.2 step 4).
 */
export function snapshotRange(candidate: SuperblockCandidate, fileLength: bigint, rules: RedDBRelease): {offset: bigint; bytes: bigint} | undefined {
  const {snapshot_offset: offset, snapshot_bytes: bytes} = candidate.manifest
  if (rules === 'reddb-1.23' && offset + bytes > U64_MAX) throw new FormatError(`snapshot zone failed validation: the snapshot of superblock ${candidate.superblock.copy_index} ends past 2^64 − 1`)
  return offset + bytes <= fileLength ? {offset, bytes} : undefined
}

/** Whether a candidate's snapshot checks out: inside the file, its CRC, and `RDST` when ≥ 4 bytes. */
export function acceptCandidate(candidate: SuperblockCandidate, fileLength: bigint, snapshotCrc: number, snapshotHead: Uint8Array, rules: RedDBRelease): boolean {
  const range = snapshotRange(candidate, fileLength, rules)
  if (range === undefined || snapshotCrc !== candidate.manifest.snapshot_checksum) return false
  return range.bytes < 4n || SNAPSHOT_MAGIC.every((byte, i) => snapshotHead[i] === byte)
}

/**
 * Why RedDB would open no database holding this snapshot, or null: one of
 * 4 bytes or more must start with `RDST` (§9.1), and its end must stay
 * within 2^64 − 1 (§9.2 step 4). `head` is the snapshot's first (up to) 4
 * bytes, `bytes` its length.
 */
export function snapshotOpenProblem(head: Uint8Array, bytes: bigint): string | null {
  if (BigInt(GEOMETRY[2].snapshotOffset) + bytes > U64_MAX) return `a snapshot of ${bytes} bytes ends past 2^64 − 1: RedDB would not open a database made from it`
  if (bytes >= 4n && !SNAPSHOT_MAGIC.every((byte, i) => head[i] === byte)) return 'the snapshot does not start with RDST: RedDB would not open a database made from it'
  return null
}

export const NO_SNAPSHOT_ACCEPTED = 'snapshot zone failed validation: no superblock copy names a snapshot that checks out (inside the file, its CRC, RDST)'

export interface ByteRange {
  offset: bigint
  bytes: bigint
}

/**
 * Where the live WAL of the selected candidate lies, in order, checked
 * against its region and the file. 1.12 reads from the region start up to
 * the boundary (§9.1); 1.23 reads `wal_live_bytes` ending at the boundary,
 * wrapping at the region end (§9.2 "The circular WAL"). A boundary or a
 * live length the region cannot hold is rejected here, before anything is
 * allocated for it.
 */
export function liveWalRanges(candidate: SuperblockCandidate, fileLength: bigint, rules: RedDBRelease): ByteRange[] {
  const {superblock} = candidate
  const boundary = superblock.wal_recovery_boundary
  const ranges: ByteRange[] = []
  if (rules === 'reddb-1.12') {
    const start = candidate.manifest.wal_region_offset
    const end = start + candidate.manifest.wal_region_bytes
    if (boundary > end) throw new FormatError(`WAL zone failed validation: recovery boundary ${boundary} lies past the WAL region's end ${end}`)
    if (boundary > start) ranges.push({offset: start, bytes: boundary - start})
  } else {
    const start = superblock.wal_region_offset
    const size = superblock.wal_region_bytes
    const live = superblock.wal_live_bytes
    if (boundary < start || boundary > start + size) throw new FormatError(`WAL zone failed validation: recovery boundary ${boundary} lies outside the WAL region ${start}…${start + size}`)
    if (live > size) throw new FormatError(`WAL zone failed validation: ${live} live bytes do not fit in the ${size}-byte WAL region`)
    if (live === 0n) return []
    const liveStart = (boundary - start + size - (live % size)) % size
    const first = live < size - liveStart ? live : size - liveStart
    ranges.push({offset: start + liveStart, bytes: first})
    if (first < live) ranges.push({offset: start, bytes: live - first})
  }
  for (const range of ranges) {
    if (range.offset + range.bytes > fileLength) throw new FormatError(`WAL zone failed validation: the live WAL (${range.bytes} bytes at ${range.offset}) runs past the end of the file (${fileLength} bytes)`)
  }
  return ranges
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
 * The WAL payloads in `live` (the live WAL bytes, in order). Scanning stops
 * at the first frame that does not check out, as RedDB's recovery does.
 */
export function scanWalFrames(live: Uint8Array): Uint8Array[] {
  const view = new DataView(live.buffer, live.byteOffset, live.byteLength)
  const payloads: Uint8Array[] = []
  let at = 0
  let previousCrc = 0
  const magicAt = (offset: number) => offset + 8 <= live.length && [...FRAME_MAGIC].every((c, i) => live[offset + i] === c.charCodeAt(0))
  while (magicAt(at)) {
    let payload: Uint8Array
    let frameEnd: number
    if (at + FRAME_HEADER_BYTES <= live.length && view.getUint16(at + 8, true) === FRAME_VERSION && view.getUint16(at + 10, true) === FRAME_HEADER_BYTES) {
      const length = view.getUint32(at + 20, true)
      frameEnd = at + FRAME_HEADER_BYTES + length
      if (frameEnd > live.length) break
      if (view.getUint32(at + 32, true) !== crc32(live.subarray(at, at + 32))) break
      if (view.getUint32(at + 28, true) !== previousCrc) break
      payload = live.subarray(at + FRAME_HEADER_BYTES, frameEnd)
      if (view.getUint32(at + 24, true) !== crc32(payload)) break
    } else {
      // A legacy frame: magic, u32 length, u32 payload CRC, payload.
      if (at + LEGACY_FRAME_HEADER_BYTES > live.length) break
      const length = view.getUint32(at + 8, true)
      frameEnd = at + LEGACY_FRAME_HEADER_BYTES + length
      if (frameEnd > live.length) break
      payload = live.subarray(at + LEGACY_FRAME_HEADER_BYTES, frameEnd)
      if (view.getUint32(at + 12, true) !== crc32(payload)) break
    }
    payloads.push(payload)
    previousCrc = crc32(live.subarray(at, frameEnd))
    at = frameEnd
  }
  return payloads
}

/** The live ranges' bytes joined in order (a subarray when there is one range). */
export function joinRanges(pieces: Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!
  const joined = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0))
  let at = 0
  for (const piece of pieces) {
    joined.set(piece, at)
    at += piece.length
  }
  return joined
}

/**
 * Every byte of a freshly created database of `format` before its
 * snapshot (§9.1 / §9.2 "Create"): both superblocks (copy 0 generation 1,
 * copy 1 generation 2), the manifest in slot 0, and the empty WAL region.
 * With `walFrames`, it is as created and then appended to once: the frames
 * at the region start and copy 0 rewritten with generation 3, as RedDB's
 * own append does.
 */
export function createDatabaseHead(format: RdbFormat, snapshotBytes: bigint, snapshotChecksum: number, createdAtMs: bigint, walFrames?: Uint8Array): Uint8Array {
  const geometry = GEOMETRY[format]
  const head = new Uint8Array(geometry.snapshotOffset)
  const regions = {
    wal_region_offset: BigInt(geometry.walRegionOffset),
    wal_region_bytes: BigInt(geometry.walRegionBytes),
    wal_recovery_boundary: BigInt(geometry.walRegionOffset),
    wal_live_bytes: 0n,
    snapshot_offset: BigInt(geometry.snapshotOffset),
    snapshot_bytes: snapshotBytes,
    snapshot_checksum: snapshotChecksum,
  }
  const manifest = encodeEmbeddedManifest({version: format, ...regions, created_at_unix_ms: createdAtMs})
  const state = {
    layout: format,
    format_version: 1,
    manifest_offset: BigInt(geometry.manifestOffset),
    manifest_len: BigInt(manifest.length),
    manifest_checksum: crc32(manifest.subarray(0, manifest.length - 4)),
    ...regions,
  }
  head.set(encodeSuperblock({...state, copy_index: 0, generation: 1n}), 0)
  head.set(encodeSuperblock({...state, copy_index: 1, generation: 2n}), SUPERBLOCK_BYTES)
  head.set(manifest, geometry.manifestOffset)
  if (walFrames !== undefined && walFrames.length > 0) {
    if (walFrames.length > geometry.walRegionBytes) throw new FormatError(`WAL region is full: ${walFrames.length} bytes of frames do not fit in ${geometry.walRegionBytes}`)
    head.set(walFrames, geometry.walRegionOffset)
    const live = BigInt(walFrames.length)
    // 1.12 moves the boundary to the frames' end; 1.23 to R + L′ mod N, so a full region's boundary is its start (§9.2 "Append").
    const boundary = format === 1 ? regions.wal_region_offset + live : regions.wal_region_offset + (live % regions.wal_region_bytes)
    head.set(encodeSuperblock({...state, copy_index: 0, generation: 3n, wal_recovery_boundary: boundary, wal_live_bytes: live}), 0)
  }
  return head
}

/** WAL frames for payloads appended to an empty WAL: sequence from 1, CRC chain from 0. */
export function walFramesOf(payloads: Uint8Array[]): Uint8Array {
  const frames = new ByteWriter()
  let previousCrc = 0
  payloads.forEach((payload, i) => {
    const frame = encodeWalFrame(BigInt(i + 1), payload, previousCrc)
    previousCrc = crc32(frame)
    frames.bytes(frame)
  })
  return frames.finish()
}

/** The rules to open a file by: the caller's, else what its superblocks show. */
const rulesFor = (bytes: Uint8Array, context: CodecContext): RedDBRelease => context.reddb ?? releaseShownBy(bytes)

/** Opens a whole database held in memory (§9.1 under 1.12's rules, §9.2 under 1.23's). */
function decode(bytes: Uint8Array, context: CodecContext): EmbeddedDatabase {
  const rules = rulesFor(bytes, context)
  const fileLength = BigInt(bytes.length)
  for (const candidate of superblockCandidates(bytes, sliceOf(bytes), rules)) {
    const range = snapshotRange(candidate, fileLength, rules)
    if (range === undefined) continue
    const snapshot = bytes.subarray(Number(range.offset), Number(range.offset + range.bytes))
    if (!acceptCandidate(candidate, fileLength, crc32(snapshot), snapshot.subarray(0, 4), rules)) continue
    const live = liveWalRanges(candidate, fileLength, rules).map((r) => bytes.subarray(Number(r.offset), Number(r.offset + r.bytes)))
    return {
      rules,
      selected_superblock: candidate.superblock,
      manifest: candidate.manifest,
      snapshot: snapshot.length === 0 ? null : snapshot,
      wal_payloads: live.length === 0 ? [] : scanWalFrames(joinRanges(live)),
    }
  }
  throw new FormatError(NO_SNAPSHOT_ACCEPTED)
}

/**
 * Creates a database with the snapshot (created_at = now), then appends the
 * WAL payloads in one batch — in the format the release writes (the
 * caller's release, else the one the model was opened by).
 */
function encode(database: EmbeddedDatabase, context: CodecContext): Uint8Array {
  const release = context.reddb ?? database.rules
  if (release === undefined) throw new FormatError('say which RedDB release to write the database for')
  const format = RELEASES[release].writes
  const snapshot = database.snapshot ?? new Uint8Array(0)
  const head = createDatabaseHead(format, BigInt(snapshot.length), crc32(snapshot), context.nowMs, walFramesOf(database.wal_payloads))
  const file = new Uint8Array(head.length + snapshot.length)
  file.set(head, 0)
  file.set(snapshot, head.length)
  return file
}

const SUPERBLOCK_KEYS = ['copy_index', 'generation', 'format_version', 'manifest_offset', 'manifest_len', 'manifest_checksum', 'wal_region_offset', 'wal_region_bytes', 'wal_recovery_boundary', 'wal_live_bytes', 'snapshot_offset', 'snapshot_bytes', 'snapshot_checksum', 'checksum'] as const
const MANIFEST_KEYS = ['version', 'wal_region_offset', 'wal_region_bytes', 'wal_recovery_boundary', 'wal_live_bytes', 'snapshot_offset', 'snapshot_bytes', 'snapshot_checksum', 'created_at_unix_ms', 'checksum'] as const

/** The fixtures' key order; 1.12's model has no `wal_live_bytes`. */
function pick<T extends object>(value: T, keys: readonly string[], rules: RedDBRelease): JsonObject {
  const json: JsonObject = {}
  for (const key of keys) if (key !== 'wal_live_bytes' || rules === 'reddb-1.23') json[key] = (value as Record<string, JsonValue>)[key]!
  return json
}

function toJson(database: EmbeddedDatabase): JsonValue {
  return {
    selected_superblock: pick(database.selected_superblock, SUPERBLOCK_KEYS, database.rules),
    manifest: pick(database.manifest, MANIFEST_KEYS, database.rules),
    snapshot_hex: database.snapshot === null ? null : toHex(database.snapshot),
    wal_payloads_hex: database.wal_payloads.map(toHex),
  }
}

/**
 * Only the snapshot and the WAL payloads matter for encoding; the rest is
 * what opening shows. A model with `wal_live_bytes` is 1.23's.
 */
function fromJson(json: JsonValue): EmbeddedDatabase {
  if (!isJsonObject(json)) throw new FormatError('embedded database JSON must be an object')
  const superblock = json.selected_superblock
  const rules: RedDBRelease = isJsonObject(superblock) && 'wal_live_bytes' in superblock ? 'reddb-1.23' : 'reddb-1.12'
  const snapshot = jsonNullable(json.snapshot_hex, (value) => jsonHex(value, 'snapshot_hex'))
  const wal_payloads = jsonArray(json.wal_payloads_hex, 'wal_payloads_hex').map((value, i) => jsonHex(value, `wal_payloads_hex[${i}]`))
  const context = {nowMs: 0n, reddb: rules}
  const opened = decode(encode({rules, snapshot, wal_payloads} as EmbeddedDatabase, context), context)
  return {...opened, snapshot: snapshot !== null && snapshot.length === 0 ? null : snapshot, wal_payloads}
}

export const embeddedRdbCodec: ArtifactCodec<EmbeddedDatabase> = {kind: 'embedded-rdb', label: 'embedded database', decode, encode, toJson, fromJson}
