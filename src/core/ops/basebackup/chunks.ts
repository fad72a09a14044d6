import {statSync, type Stats} from '../../fs/metadata.js'
import path from 'node:path'

import {crc32, crc32Combine, hex32} from '../../codec/crc.js'
import {FormatError} from '../../errors.js'
import {realBaseOf, resolveContainedSync} from '../../fs/contained.js'
import {crashPoint} from '../../fs/crash.js'
import {ioError, isMissing} from '../../fs/io-error.js'
import {openRegularSync, type OpenOptions} from '../../fs/open.js'
import {freePace, type Pace} from '../../fs/pace.js'
import {closeDescriptor, PieceReader} from '../../fs/stream.js'
import type {BasebackupManifest} from '../../model.js'

/**
 * Streams a base backup's snapshot out of its chunk files in manifest order,
 * checking each chunk's path (never outside basebackup/), size and CRC, the
 * whole snapshot's CRC. Any mismatch throws a FormatError naming the file;
 * pieces are handed over only as they are read, so memory stays bounded.
 * The chunks come from `source`: the files beside the manifest by default.
 * `onPiece` may return before it is done with a piece (a write in flight):
 * up to MAX_IN_FLIGHT pieces are, each in a buffer of its own. Returns the
 * snapshot's first (up to) 4 bytes.
 */
export async function streamVerifiedChunks(
  manifestPath: string,
  manifest: BasebackupManifest,
  onPiece: (piece: Uint8Array, done: bigint) => Promise<void> | void = () => {},
  source: ChunkSource = new FileChunkSource(manifestPath),
): Promise<Uint8Array> {
  const files = await source.open(manifest)
  let snapshotCrc = 0
  let done = 0n
  const head = new Uint8Array(4)
  const inFlight: Array<Promise<void>> = []
  try {
    for (const [k, chunk] of manifest.chunks.entries()) {
      let crc = 0
      for await (const piece of source.pieces(k)) {
        crc = crc32(piece, crc)
        if (done < 4n) head.set(piece.subarray(0, Number(4n - done)), Number(done))
        done += BigInt(piece.length)
        const handled = Promise.resolve(onPiece(piece, done))
        handled.catch(() => {})
        inFlight.push(handled)
        if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift()
      }
      if (crc !== chunk.checksum) throw new FormatError(`chunk ${chunk.ordinal} checksum mismatch: stored ${hex32(chunk.checksum)}, computed ${hex32(crc)}`, files[k])
      snapshotCrc = crc32Combine(snapshotCrc, crc, chunk.bytes)
      crashPoint('basebackup-chunks:after-chunk')
    }
    await Promise.all(inFlight)
  } finally {
    await Promise.allSettled(inFlight)
    await source.close()
  }
  if (snapshotCrc !== manifest.snapshot_checksum) {
    throw new FormatError(`snapshot checksum mismatch: stored ${hex32(manifest.snapshot_checksum)}, computed ${hex32(snapshotCrc)}`, manifestPath)
  }
  return head.subarray(0, done < 4n ? Number(done) : 4)
}

/**
 * Resolves every chunk's path (never outside basebackup/) and checks that
 * each is a file of the size the manifest says, without reading it: the
 * quick check, and the first step of streaming. Returns the chunk files.
 * Synchronous calls: one thread-pool round trip per call made a restore of
 * a thousand chunks wait on the pool (see fs/pace.ts).
 */
export async function checkChunkFiles(manifestPath: string, manifest: BasebackupManifest): Promise<string[]> {
  const dir = path.dirname(manifestPath)
  const realDir = realBaseOf(dir)
  const files: string[] = []
  for (const chunk of manifest.chunks) {
    let file: string
    try {
      file = resolveContainedSync(dir, chunk.relative_path, realDir)
    } catch (error) {
      throw error instanceof FormatError ? error.inFile(manifestPath) : error
    }
    let info: Stats | undefined
    try {
      info = statSync(file)
    } catch (error) {
      if (!isMissing(error)) throw ioError('open', file, error)
    }
    if (!info) throw new FormatError(`chunk ${chunk.ordinal} (${chunk.relative_path}) is missing`, manifestPath)
    if (!info.isFile()) throw new FormatError(`chunk ${chunk.ordinal} is not a regular file`, file)
    if (BigInt(info.size) !== chunk.bytes) throw new FormatError(`chunk ${chunk.ordinal} holds ${info.size} bytes, the manifest says ${chunk.bytes}`, file)
    files.push(file)
  }
  return files
}

/**
 * Where a backup's chunks are read from: the chunk files beside the
 * manifest, or a repository (repo/chunk-source.ts). `open` checks that
 * every chunk is there with its size before the first byte is read and
 * returns the name each chunk's errors carry; `pieces(k)` yields chunk k's
 * bytes, called for k = 0, 1, … in order. streamVerifiedChunks checks the CRCs.
 */
export interface ChunkSource {
  open(manifest: BasebackupManifest): Promise<string[]>
  pieces(ordinal: number): AsyncIterable<Uint8Array>
  close(): Promise<void>
}

/**
 * Chunk files on disk: by default those beside a manifest, each kept inside
 * basebackup/; `locate` may name others (a directory repository's objects).
 */
export class FileChunkSource implements ChunkSource {
  private files: string[] = []
  private sizes: bigint[] = []
  /** The descriptor of the chunk file being read. */
  private current: number | undefined
  /** Each piece a buffer of its own, reused only once the consumer can no longer hold it (MAX_IN_FLIGHT). */
  private readonly reader: PieceReader

  constructor(
    manifestPath: string,
    pace: Pace = freePace(),
    private readonly locate: (manifest: BasebackupManifest) => Promise<string[]> = (manifest) => checkChunkFiles(manifestPath, manifest),
    private readonly openOptions: OpenOptions = {},
  ) {
    this.reader = new PieceReader({buffers: MAX_IN_FLIGHT + 1, pace})
  }

  async open(manifest: BasebackupManifest): Promise<string[]> {
    this.files = await this.locate(manifest)
    this.sizes = manifest.chunks.map((chunk) => chunk.bytes)
    return this.files
  }

  /** Reads chunk k synchronously, piece by piece (see fs/pace.ts); an empty chunk yields one empty piece, so its CRC is checked. */
  async *pieces(ordinal: number): AsyncGenerator<Uint8Array> {
    const file = this.files[ordinal]
    const size = this.sizes[ordinal]
    await this.close()
    // Opened with synchronous calls, as the pieces are read: the copy never waits on the thread pool for the next chunk.
    const fd = (this.current = openRegularSync(file, this.openOptions).fd)
    const short = (at: bigint) => new FormatError(`ends at byte ${at}, shorter than the manifest says`, file)
    yield* this.reader.pieces(fd, {length: size, file, emptyPiece: true, short})
  }

  async close(): Promise<void> {
    const fd = this.current
    this.current = undefined
    if (fd !== undefined) closeDescriptor(fd)
  }
}

const MAX_IN_FLIGHT = 2
