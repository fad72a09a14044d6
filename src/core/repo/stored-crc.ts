/**
 * The CRC of an object already in the repository, as cheaply as the store
 * allows, so that "already there" means "these bytes", never "this size":
 * the checksum the store kept at put (S3 metadata), else a sealed object's
 * trailer read from the tail of its plain file (a directory repository),
 * else the object read through once. What comes back is comparable with
 * RedDB's own CRC of the node's file (a chunk's manifest checksum, a sealed
 * artifact's trailer).
 */
import {crc32} from '../codec/crc.js'
import {FormatError} from '../errors.js'
import {openRegular, readAt} from '../fs/open.js'
import type {RepoBackend} from './backend.js'

export type StoredKind = 'chunk' | 'sealed'

export async function storedChecksum(backend: RepoBackend, key: string, size: bigint, kind: StoredKind): Promise<number> {
  const kept = backend.capabilities.storedChecksum ? await backend.checksum(key) : null
  if (kept !== null) return kept
  const file = kind === 'sealed' && size >= 4n && backend.capabilities.localFile ? backend.localFile(key) : undefined
  if (file !== undefined) {
    const opened = await openRegular(file, {noFollow: true})
    try {
      if (BigInt(opened.size) !== size) throw new FormatError(`holds ${opened.size} bytes, listed as ${size}`, file)
      const tail = await readAt(opened, opened.size - 4, 4)
      return new DataView(tail.buffer, tail.byteOffset, 4).getUint32(0, true)
    } finally {
      await opened.handle.close()
    }
  }
  return readChecksum(backend, key, size, kind)
}

/** Reads the object through: a chunk's CRC of every byte, a sealed object's trailer (its last 4 bytes). */
async function readChecksum(backend: RepoBackend, key: string, size: bigint, kind: StoredKind): Promise<number> {
  let crc = 0
  let seen = 0n
  const tail = new Uint8Array(4)
  for await (const piece of backend.get(key)) {
    seen += BigInt(piece.length)
    if (seen > size) throw new FormatError(`holds more than the ${size} bytes listed`, backend.describe(key))
    if (kind === 'chunk') crc = crc32(piece, crc)
    else if (piece.length >= 4) tail.set(piece.subarray(piece.length - 4))
    else {
      tail.copyWithin(0, piece.length)
      tail.set(piece, 4 - piece.length)
    }
  }
  if (seen !== size) throw new FormatError(`holds ${seen} bytes, listed as ${size}`, backend.describe(key))
  return kind === 'chunk' ? crc : new DataView(tail.buffer).getUint32(0, true)
}
