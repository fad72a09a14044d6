/**
 * Base backups stored as content-addressed pieces (docs/repository.md
 * "Pieces"): the snapshot, streamed out of its chunk files in order, is cut
 * where its content says (codec/cdc.ts); each piece is stored once per
 * namespace under the SHA-256 of its bytes, and the backup's piece index
 * (format/piece-index.ts) lists which, in order, make it. This module owns
 * storing pieces, reading them back checked against their address, and the
 * checks a listing allows on an index. It knows no terminal and no layout.
 */
import {createHash} from 'node:crypto'

import {Chunker} from '../codec/cdc.js'
import {crc32} from '../codec/crc.js'
import {FormatError} from '../errors.js'
import {decodePieceIndex, MAX_PIECE_INDEX_BYTES, type PieceIndex, type PieceRef} from '../format/piece-index.js'
import type {BasebackupManifest} from '../model.js'
import type {RepoBackend, RepoObject} from './backend.js'
import {checkedStream, collect} from './integrity.js'
import type {RepoKeys} from './keys.js'

/** What a push did with the pieces of one snapshot. */
export interface StoredPieces {
  index: PieceIndex
  pieces_uploaded: number
  uploaded_bytes: bigint
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/**
 * Cuts `snapshot` (the backup's bytes, already checked against RedDB's
 * CRCs as they pass) into pieces and stores each one `isPresent` does not
 * know, at most `jobs` at once. Memory: the cutter's 4 MiB buffer and one
 * 4 MiB copy per upload in flight, whatever the snapshot's size. Returns
 * the index to write once every piece it names is there.
 */
export async function storePieces(
  backend: RepoBackend,
  keys: RepoKeys,
  snapshot: AsyncIterable<Uint8Array>,
  options: {jobs: number; isPresent: (key: string, bytes: number) => boolean; onStored?: (key: string, bytes: number) => void; signal?: AbortSignal},
): Promise<StoredPieces> {
  const result: StoredPieces = {index: {snapshot_bytes: 0n, pieces: []}, pieces_uploaded: 0, uploaded_bytes: 0n}
  const inFlight = new Set<Promise<void>>()
  /** Keys stored or being stored by this run: a piece met twice is uploaded once. */
  const claimed = new Set<string>()
  let failure: unknown
  const chunker = new Chunker(async (piece) => {
    const sha256 = createHash('sha256').update(piece).digest('hex')
    const ref: PieceRef = {sha256, bytes: piece.length}
    result.index.pieces.push(ref)
    result.index.snapshot_bytes += BigInt(piece.length)
    const key = keys.piece(sha256)
    if (claimed.has(key) || options.isPresent(key, piece.length)) return
    claimed.add(key)
    options.signal?.throwIfAborted()
    // The cutter reuses its buffer: an upload in flight keeps a copy of its own.
    const copy = Buffer.from(piece)
    const upload = backend
      .put(key, () => once(copy), {size: BigInt(copy.length), checksum: crc32(copy)})
      .then(() => {
        result.pieces_uploaded++
        result.uploaded_bytes += BigInt(copy.length)
        options.onStored?.(key, copy.length)
      })
      .catch((error: unknown) => {
        failure ??= error
      })
      .finally(() => inFlight.delete(upload))
    inFlight.add(upload)
    while (inFlight.size >= Math.max(1, options.jobs)) await Promise.race(inFlight)
    if (failure !== undefined) throw failure
  })
  try {
    for await (const bytes of snapshot) await chunker.push(bytes)
    await chunker.finish()
  } finally {
    await Promise.all(inFlight)
  }
  if (failure !== undefined) throw failure
  return result
}

/**
 * A piece's bytes, read whole (4 MiB at most) and checked against its
 * address before any is handed on: a FormatError naming the stored object
 * when a byte differs, so what fails is named as the piece, never as a
 * chunk it feeds.
 */
export async function* readPiece(backend: RepoBackend, keys: RepoKeys, ref: PieceRef): AsyncGenerator<Uint8Array> {
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
 * Why an index cannot rebuild its manifest's snapshot, from the listing
 * alone: another size than the manifest's, or a piece not listed with its
 * size. Null when every piece is there.
 */
export function pieceIndexDamage(backend: RepoBackend, keys: RepoKeys, objects: ReadonlyMap<string, RepoObject>, indexKey: string, index: PieceIndex, manifest: BasebackupManifest): FormatError | null {
  if (index.snapshot_bytes !== manifest.snapshot_bytes) return new FormatError(`names ${index.snapshot_bytes} bytes of pieces, the manifest's snapshot holds ${manifest.snapshot_bytes}`, backend.describe(indexKey))
  for (const [i, ref] of index.pieces.entries()) {
    const key = keys.piece(ref.sha256)
    const listed = objects.get(key)
    if (listed === undefined) return new FormatError(`piece ${i} of ${indexKey} is missing`, backend.describe(key))
    if (listed.size !== BigInt(ref.bytes)) return new FormatError(`piece ${i} of ${indexKey} holds ${listed.size} bytes, the index says ${ref.bytes}`, backend.describe(key))
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

/** A fresh listing of the namespace's pieces: key → logical size. */
export async function listPieces(backend: RepoBackend, keys: RepoKeys): Promise<Map<string, bigint>> {
  const found = new Map<string, bigint>()
  for await (const object of backend.list(keys.piecesPrefix)) found.set(object.key, object.size)
  return found
}
