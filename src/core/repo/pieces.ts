/**
 * Base backups stored as content-addressed pieces (docs/repository.md
 * "Pieces"): the snapshot, streamed out of its chunk files in order, is cut
 * where its content says (codec/cdc.ts); each piece is stored once per
 * namespace, packed with the other new pieces of its push into packs
 * (format/pack.ts) named by the SHA-256 of their bytes, and the backup's
 * piece index (format/piece-index.ts) lists which pieces, in order, make
 * it and where each lies. Backups pushed before packs name pieces stored
 * one per object, which are still read. This module owns storing pieces,
 * reading them back checked against their digest, and the checks a listing
 * allows on an index. It knows no terminal and no layout.
 */
import {createHash} from 'node:crypto'

import {Chunker} from '../codec/cdc.js'
import {FormatError} from '../errors.js'
import {decodePack, MAX_PACK_BYTES, PACK_DATA_BYTES, PACK_HEADER_BYTES, sealPackInPlace, type PackEntry} from '../format/pack.js'
import {decodePieceIndex, MAX_PIECE_INDEX_BYTES, type PieceIndex, type PieceRef} from '../format/piece-index.js'
import type {BasebackupManifest} from '../model.js'
import {readRange, type RepoBackend, type RepoObject} from './backend.js'
import {checkedStream, collect} from './integrity.js'
import type {RepoKeys} from './keys.js'

/** What a push did with the pieces of one snapshot. */
export interface StoredPieces {
  index: PieceIndex
  pieces_uploaded: number
  uploaded_bytes: bigint
  packs_uploaded: number
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** Where a piece's bytes are: its pack and the range in it, or, pushed before packs, its own object. */
export function pieceObject(keys: RepoKeys, ref: PieceRef): {key: string; offset: bigint; end: bigint} {
  if (ref.pack === undefined) return {key: keys.piece(ref.sha256), offset: 0n, end: BigInt(ref.bytes)}
  const offset = BigInt(ref.pack.offset)
  return {key: keys.pack(ref.pack.sha256), offset, end: offset + BigInt(ref.bytes)}
}

/** The key of the object that holds a piece (its pack, or its own). */
export function pieceKey(keys: RepoKeys, ref: PieceRef): string {
  return pieceObject(keys, ref).key
}

/** Bytes of a digest kept to look a piece up: 128 bits, so two pieces of one namespace share them only by a collision SHA-256 does not allow. */
const PREFIX_BYTES = 16

/**
 * The pieces stored in a namespace's packs, to look a new piece up by its
 * digest: sorted arrays, 16 bytes of digest and 12 of place per piece (28
 * bytes; 1,000,000 distinct pieces, some 61 GiB of 64 KiB pieces, in 28
 * MB), built from the indexes of the backups listed before the push.
 */
export class PieceLookup {
  private digests = new Uint8Array(PREFIX_BYTES * 1024)
  /** pack ordinal, offset, bytes per piece. */
  private places = new Uint32Array(3 * 1024)
  private count = 0
  private sorted = true
  readonly packs: string[] = []
  private readonly packOrdinals = new Map<string, number>()

  get size(): number {
    return this.count
  }

  /** Adds the packed pieces of one index (pieces stored alone, by an older push, are not looked up: no new piece is cut to their size). */
  add(index: PieceIndex): void {
    for (const ref of index.pieces) {
      if (ref.pack === undefined) continue
      if (this.count * PREFIX_BYTES === this.digests.length) {
        const digests = new Uint8Array(this.digests.length * 2)
        digests.set(this.digests)
        this.digests = digests
        const places = new Uint32Array(this.places.length * 2)
        places.set(this.places)
        this.places = places
      }
      let ordinal = this.packOrdinals.get(ref.pack.sha256)
      if (ordinal === undefined) {
        ordinal = this.packs.length
        this.packs.push(ref.pack.sha256)
        this.packOrdinals.set(ref.pack.sha256, ordinal)
      }
      this.digests.set(Buffer.from(ref.sha256.slice(0, PREFIX_BYTES * 2), 'hex'), this.count * PREFIX_BYTES)
      this.places.set([ordinal, ref.pack.offset, ref.bytes], this.count * 3)
      this.count++
      this.sorted = false
    }
  }

  private compare(a: number, b: number): number {
    const d = this.digests
    for (let i = 0; i < PREFIX_BYTES; i++) {
      const diff = d[a * PREFIX_BYTES + i] - d[b * PREFIX_BYTES + i]
      if (diff !== 0) return diff
    }
    return 0
  }

  private sort(): void {
    const order = new Uint32Array(this.count)
    for (let i = 0; i < this.count; i++) order[i] = i
    order.sort((a, b) => this.compare(a, b) || a - b)
    const digests = new Uint8Array(Math.max(PREFIX_BYTES, this.count * PREFIX_BYTES))
    const places = new Uint32Array(Math.max(3, this.count * 3))
    for (let i = 0; i < this.count; i++) {
      digests.set(this.digests.subarray(order[i] * PREFIX_BYTES, (order[i] + 1) * PREFIX_BYTES), i * PREFIX_BYTES)
      places.set(this.places.subarray(order[i] * 3, order[i] * 3 + 3), i * 3)
    }
    this.digests = digests
    this.places = places
    this.sorted = true
  }

  /** Every place a stored piece with this digest and size lies, first added first: a pack may be gone since, so the caller picks one still listed. */
  *find(sha256: string, bytes: number): Generator<{pack: string; offset: number}> {
    if (!this.sorted) this.sort()
    const key = Buffer.from(sha256.slice(0, PREFIX_BYTES * 2), 'hex')
    const d = this.digests
    const cmp = (i: number) => {
      for (let j = 0; j < PREFIX_BYTES; j++) {
        const diff = d[i * PREFIX_BYTES + j] - key[j]
        if (diff !== 0) return diff
      }
      return 0
    }
    let low = 0
    let high = this.count
    while (low < high) {
      const middle = (low + high) >>> 1
      if (cmp(middle) < 0) low = middle + 1
      else high = middle
    }
    for (let i = low; i < this.count && cmp(i) === 0; i++) {
      if (this.places[i * 3 + 2] === bytes) yield {pack: this.packs[this.places[i * 3]], offset: this.places[i * 3 + 1]}
    }
  }
}

/** Packs moved at once by one push or copy: each holds up to 16 MiB, so memory is (this + the one filling) × 16 MiB. */
export const PACKS_IN_FLIGHT = 2

/**
 * Cuts `snapshot` (the backup's bytes, already checked against RedDB's
 * CRCs as they pass) into pieces; a piece `lookup` finds in a pack
 * `packListed` shows is named there, every other one is appended to the
 * pack this push fills, and a pack is stored once full (16 MiB of pieces)
 * and at the end, unless a pack of the same name, so the same bytes, is
 * listed already (the packs of a push cut short, met again). Memory: the
 * cutter's buffer, the pack being filled and at most two in flight, and
 * one entry per new piece, whatever the snapshot's size. Returns the index
 * to write once every pack it names is there.
 */
export async function storePieces(
  backend: RepoBackend,
  keys: RepoKeys,
  snapshot: AsyncIterable<Uint8Array>,
  options: {jobs: number; lookup: PieceLookup; packListed: (key: string) => bigint | undefined; onStored?: (key: string, bytes: number) => void; signal?: AbortSignal},
): Promise<StoredPieces> {
  const result: StoredPieces = {index: {snapshot_bytes: 0n, pieces: []}, pieces_uploaded: 0, uploaded_bytes: 0n, packs_uploaded: 0}
  const inFlight = new Set<Promise<void>>()
  /** The new pieces of this push, by digest: a piece met twice is stored once, its second mention the same ref. */
  const fresh = new Map<string, PieceRef>()
  let filling: {buffer: Uint8Array; used: number; refs: PieceRef[]; entries: PackEntry[]} | null = null
  /**
   * Pack buffers whose upload has settled, to fill again: each new piece is
   * copied once, straight into the pack, and a push allocates at most one
   * buffer per pack in flight and the one filling, whatever its size.
   */
  const spare: Uint8Array[] = []
  let failure: unknown
  const seal = async () => {
    if (filling === null) return
    const {buffer, used, refs, entries} = filling
    filling = null
    if (refs.length === 0) {
      spare.push(buffer)
      return
    }
    const pack = sealPackInPlace(buffer, used, entries)
    for (const [i, ref] of refs.entries()) ref.pack = {sha256: pack.sha256, offset: entries[i].offset}
    const key = keys.pack(pack.sha256)
    if (options.packListed(key) === BigInt(pack.bytes.length)) {
      spare.push(buffer)
      return
    }
    options.signal?.throwIfAborted()
    const upload = backend
      .put(key, () => once(pack.bytes), {size: BigInt(pack.bytes.length), checksum: pack.crc})
      .then(() => {
        result.packs_uploaded++
        result.pieces_uploaded += refs.length
        result.uploaded_bytes += BigInt(pack.bytes.length)
        options.onStored?.(key, pack.bytes.length)
        // Refilled only after a put that settled stored: a failed one may still be reading it.
        spare.push(buffer)
      })
      .catch((error: unknown) => {
        failure ??= error
      })
      .finally(() => inFlight.delete(upload))
    inFlight.add(upload)
    while (inFlight.size >= Math.max(1, Math.min(options.jobs, PACKS_IN_FLIGHT))) await Promise.race(inFlight)
    if (failure !== undefined) throw failure
  }
  const chunker = new Chunker(async (piece) => {
    const sha256 = createHash('sha256').update(piece).digest('hex')
    result.index.snapshot_bytes += BigInt(piece.length)
    const again = fresh.get(sha256)
    if (again !== undefined && again.bytes === piece.length) {
      result.index.pieces.push(again)
      return
    }
    for (const place of options.lookup.find(sha256, piece.length)) {
      const listed = options.packListed(keys.pack(place.pack))
      if (listed !== undefined && listed >= BigInt(place.offset + piece.length)) {
        result.index.pieces.push({sha256, bytes: piece.length, pack: {sha256: place.pack, offset: place.offset}})
        return
      }
    }
    if (filling !== null && filling.used + piece.length > PACK_DATA_BYTES) await seal()
    filling ??= {buffer: spare.pop() ?? new Uint8Array(MAX_PACK_BYTES), used: 0, refs: [], entries: []}
    // The cutter reuses its buffer: the pack keeps a copy, where the pack's bytes go.
    filling.buffer.set(piece, PACK_HEADER_BYTES + filling.used)
    const ref: PieceRef = {sha256, bytes: piece.length}
    filling.entries.push({sha256, offset: PACK_HEADER_BYTES + filling.used, bytes: piece.length})
    filling.used += piece.length
    filling.refs.push(ref)
    fresh.set(sha256, ref)
    result.index.pieces.push(ref)
  })
  try {
    for await (const bytes of snapshot) await chunker.push(bytes)
    await chunker.finish()
    await seal()
  } finally {
    await Promise.all(inFlight)
  }
  if (failure !== undefined) throw failure
  return result
}

/**
 * A piece stored alone (pushed before packs), read whole (4 MiB at most)
 * and checked against its address before any byte is handed on: a
 * FormatError naming the stored object when a byte differs, so what fails
 * is named as the piece, never as a chunk it feeds.
 */
async function* readLonePiece(backend: RepoBackend, keys: RepoKeys, ref: PieceRef): AsyncGenerator<Uint8Array> {
  const key = keys.piece(ref.sha256)
  const name = backend.describe(key)
  const pieces: Uint8Array[] = []
  const hash = createHash('sha256')
  let size = 0
  for await (const piece of backend.get(key)) {
    size += piece.length
    if (size > ref.bytes) throw new FormatError(`holds more than the ${ref.bytes} bytes of the piece it is named for`, name)
    hash.update(piece)
    pieces.push(piece)
  }
  if (size !== ref.bytes) throw new FormatError(`holds ${size} bytes, the piece it is named for ${ref.bytes}`, name)
  const digest = hash.digest('hex')
  if (digest !== ref.sha256) throw new FormatError(`content does not match its address: SHA-256 ${digest}`, name)
  yield* pieces
}

/** A run of pieces lying back to back in one pack: read with one ranged read. */
const MAX_RUN_BYTES = PACK_DATA_BYTES

/**
 * The bytes of `refs`, in order, each piece checked against its SHA-256
 * before a byte of it is handed on (a FormatError naming the pack, or the
 * lone piece's object, when one differs). Pieces lying back to back in one
 * pack are read with one ranged read (a pread, an S3 Range GET), so a
 * backup pushed whole reads each pack once; memory is a read of the store
 * and one piece (128 KiB) whatever the run.
 */
export async function* readPieces(backend: RepoBackend, keys: RepoKeys, refs: readonly PieceRef[]): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < refs.length; ) {
    const first = refs[i]
    if (first.pack === undefined) {
      yield* readLonePiece(backend, keys, first)
      i++
      continue
    }
    let j = i + 1
    let end = first.pack.offset + first.bytes
    while (j < refs.length && refs[j].pack?.sha256 === first.pack.sha256 && refs[j].pack!.offset === end && end - first.pack.offset + refs[j].bytes <= MAX_RUN_BYTES) end += refs[j++].bytes
    yield* readRun(backend, keys, refs.slice(i, j))
    i = j
  }
}

async function* readRun(backend: RepoBackend, keys: RepoKeys, run: readonly PieceRef[]): AsyncGenerator<Uint8Array> {
  const key = keys.pack(run[0].pack!.sha256)
  const name = backend.describe(key)
  const start = run[0].pack!.offset
  const total = run.reduce((sum, ref) => sum + ref.bytes, 0)
  let k = 0
  /** A piece split across two reads, put together; null while none is. */
  let piece: Uint8Array | null = null
  let filled = 0
  const check = (bytes: Uint8Array) => {
    const ref = run[k]
    const digest = createHash('sha256').update(bytes).digest('hex')
    if (digest !== ref.sha256) throw new FormatError(`piece at offset ${ref.pack!.offset} (${ref.bytes} bytes) does not match its SHA-256 ${ref.sha256}: ${digest}`, name)
    return bytes
  }
  // A store's reads are the reader's to keep (collect holds them too): a piece that lies whole in one is
  // checked and handed on as a view of it, and only a piece split across two reads is copied together.
  for await (const bytes of readRange(backend, key, BigInt(start), BigInt(total))) {
    for (let at = 0; at < bytes.length; ) {
      if (k === run.length) throw new FormatError(`returned more than the ${total} bytes asked for at offset ${start}`, name)
      const want = run[k].bytes
      if (piece === null && bytes.length - at >= want) {
        yield check(bytes.subarray(at, at + want))
        at += want
        k++
        continue
      }
      piece ??= new Uint8Array(want)
      const take = Math.min(bytes.length - at, want - filled)
      piece.set(bytes.subarray(at, at + take), filled)
      filled += take
      at += take
      if (filled === want) {
        yield check(piece)
        k++
        piece = null
        filled = 0
      }
    }
  }
  if (k < run.length) throw new FormatError(`ends before the piece at offset ${run[k].pack!.offset} (${run[k].bytes} bytes) does`, name)
}

/** One piece's bytes, checked (readPieces of one). */
export function readPiece(backend: RepoBackend, keys: RepoKeys, ref: PieceRef): AsyncGenerator<Uint8Array> {
  return readPieces(backend, keys, [ref])
}

/**
 * A whole pack, read (bounded by the largest pack) and checked: the
 * SHA-256 of its bytes against its name, its CRC, and every piece against
 * the digest its trailer gives. Errors name the pack.
 */
export async function readPack(backend: RepoBackend, keys: RepoKeys, sha256: string, listedSize: bigint): Promise<{bytes: Uint8Array; entries: PackEntry[]}> {
  const key = keys.pack(sha256)
  const name = backend.describe(key)
  if (listedSize > BigInt(MAX_PACK_BYTES)) throw new FormatError(`listed at ${listedSize} bytes, more than any pack holds`, name)
  const bytes = await collect(backend.get(key), listedSize, name)
  if (BigInt(bytes.length) !== listedSize) throw new FormatError(`holds ${bytes.length} bytes, listed at ${listedSize}`, name)
  const digest = createHash('sha256').update(bytes).digest('hex')
  if (digest !== sha256) throw new FormatError(`content does not match its name: SHA-256 ${digest}`, name)
  try {
    return {bytes, entries: decodePack(bytes).entries}
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

/** Reads a listed piece index, checked against its CRC and the format's rules; errors name the stored object. */
export async function readPieceIndex(backend: RepoBackend, key: string, listed: RepoObject): Promise<PieceIndex> {
  return (await readPieceIndexBytes(backend, key, listed)).index
}

/** readPieceIndex, with the stored bytes it decoded (for a copy of the object as it is). */
export async function readPieceIndexBytes(backend: RepoBackend, key: string, listed: RepoObject): Promise<{bytes: Uint8Array; index: PieceIndex}> {
  const name = backend.describe(key)
  if (listed.size > BigInt(MAX_PIECE_INDEX_BYTES)) throw new FormatError(`listed at ${listed.size} bytes, more than any piece index holds`, name)
  const bytes = await collect(checkedStream(backend.get(key), {kind: 'sealed', size: listed.size}, name), listed.size, name)
  try {
    return {bytes, index: decodePieceIndex(bytes)}
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

/**
 * Whether the store holds the piece `ref` under its address: its bytes
 * read through once, hashed as they pass and never held, the read stopped
 * past the piece's size. Another size or another digest is false (damage
 * to store again); a store that cannot be read throws.
 */
export async function storedPieceMatches(backend: RepoBackend, keys: RepoKeys, ref: PieceRef): Promise<boolean> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const piece of backend.get(keys.piece(ref.sha256))) {
      size += piece.length
      if (size > ref.bytes) return false
      hash.update(piece)
    }
  } catch (error) {
    // A stored object its store cannot unseal or unpack is damage too.
    if (error instanceof FormatError) return false
    throw error
  }
  return size === ref.bytes && hash.digest('hex') === ref.sha256
}

/**
 * Whether the store holds the pack `sha256` whole: its bytes read through
 * once, hashed as they pass and never held, the read stopped past `size`.
 * The SHA-256 of all its bytes is its name, so bytes that hash to it are
 * the pack that was checked when it was first read. Another size or digest
 * is false (damage to store again); a store that cannot be read throws.
 */
export async function storedPackMatches(backend: RepoBackend, keys: RepoKeys, sha256: string, size: bigint): Promise<boolean> {
  const hash = createHash('sha256')
  let read = 0n
  try {
    for await (const piece of backend.get(keys.pack(sha256))) {
      read += BigInt(piece.length)
      if (read > size) return false
      hash.update(piece)
    }
  } catch (error) {
    if (error instanceof FormatError) return false
    throw error
  }
  return read === size && hash.digest('hex') === sha256
}

/**
 * Why an index cannot rebuild its manifest's snapshot, from the listing
 * alone: another size than the manifest's, or a piece not listed with its
 * size. Null when every piece is there.
 */
export function pieceIndexDamage(backend: RepoBackend, keys: RepoKeys, objects: ReadonlyMap<string, RepoObject>, indexKey: string, index: PieceIndex, manifest: BasebackupManifest): FormatError | null {
  if (index.snapshot_bytes !== manifest.snapshot_bytes) return new FormatError(`names ${index.snapshot_bytes} bytes of pieces, the manifest's snapshot holds ${manifest.snapshot_bytes}`, backend.describe(indexKey))
  for (const [i, ref] of index.pieces.entries()) {
    const {key, end} = pieceObject(keys, ref)
    const listed = objects.get(key)
    if (listed === undefined) return new FormatError(`${ref.pack === undefined ? '' : 'pack of '}piece ${i} of ${indexKey} is missing`, backend.describe(key))
    if (ref.pack === undefined ? listed.size !== end : listed.size < end) return new FormatError(`${ref.pack === undefined ? '' : 'pack of '}piece ${i} of ${indexKey} holds ${listed.size} bytes, the index ${ref.pack === undefined ? `says ${ref.bytes}` : `places the piece at ${ref.pack.offset}..${end}`}`, backend.describe(key))
  }
  return null
}

/** How a listed backup's snapshot is stored: as pieces (its index listed beside its manifest) or, as older pushes stored it, as whole chunk objects. */
export type BackupStorage = {kind: 'pieces'; key: string; index: PieceIndex} | {kind: 'chunks'}

/** Reads the backup's piece index when one is listed; a damaged one throws (a FormatError naming it). */
export async function backupStorage(backend: RepoBackend, keys: RepoKeys, objects: ReadonlyMap<string, RepoObject>, manifestKey: string): Promise<BackupStorage> {
  const key = keys.pieceIndex(manifestKey)
  const listed = objects.get(key)
  return listed === undefined ? {kind: 'chunks'} : {kind: 'pieces', key, index: await readPieceIndex(backend, key, listed)}
}

/** A fresh listing of the namespace's packs: key → size. */
export async function listPacks(backend: RepoBackend, keys: RepoKeys): Promise<Map<string, bigint>> {
  const found = new Map<string, bigint>()
  for await (const object of backend.list(keys.packsPrefix)) found.set(object.key, object.size)
  return found
}
