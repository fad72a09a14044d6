import {stat, type FileHandle} from 'node:fs/promises'
import path from 'node:path'

import {crc32, crc32Combine, hex32} from '../codec/crc.js'
import {FormatError} from '../errors.js'
import {resolveContained} from '../fs/contained.js'
import {crashPoint} from '../fs/crash.js'
import {ioError, isMissing} from '../fs/io-error.js'
import {openRegular} from '../fs/open.js'
import type {BasebackupManifest} from '../model.js'

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
 */
export async function checkChunkFiles(manifestPath: string, manifest: BasebackupManifest): Promise<string[]> {
  const dir = path.dirname(manifestPath)
  const files: string[] = []
  for (const chunk of manifest.chunks) {
    const file = await resolveContained(dir, chunk.relative_path).catch((error) => {
      throw error instanceof FormatError ? error.inFile(manifestPath) : error
    })
    const info = await stat(file).catch((error) => {
      if (isMissing(error)) return undefined
      throw ioError('open', file, error)
    })
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

/** The chunk files of a manifest on disk, each kept inside basebackup/. */
class FileChunkSource implements ChunkSource {
  private reads: ReadAhead | undefined

  constructor(private readonly manifestPath: string) {}

  async open(manifest: BasebackupManifest): Promise<string[]> {
    const files = await checkChunkFiles(this.manifestPath, manifest)
    // Chunk k+1 is read while chunk k is handed on, so reads and writes overlap across chunk files too.
    this.reads = new ReadAhead(files, manifest.chunks.map((chunk) => chunk.bytes))
    return files
  }

  pieces(ordinal: number): AsyncIterable<Uint8Array> {
    return this.reads!.pieces(ordinal)
  }

  async close(): Promise<void> {
    await this.reads?.close()
  }
}

const PIECE_BYTES = 4 * 1024 * 1024
const DEPTH = 3
const MAX_IN_FLIGHT = 2

/**
 * Reads a sequence of files piece by piece, up to DEPTH pieces ahead of the
 * consumer. A piece's buffer is reused only after the consumer has asked
 * for MAX_IN_FLIGHT more pieces, so that many may still be in use (memory:
 * (DEPTH + 1 + MAX_IN_FLIGHT) × PIECE_BYTES, whatever the files' sizes).
 */
class ReadAhead {
  private readonly pool = Array.from({length: DEPTH + 1 + MAX_IN_FLIGHT}, () => Buffer.allocUnsafe(PIECE_BYTES))
  private readonly queue: Array<Promise<{file: number; piece: Uint8Array}>> = []
  private next = 0
  private cursor = {file: 0, offset: 0n}
  private handle: {file: number; fd: Promise<FileHandle>} | undefined

  constructor(
    private readonly files: string[],
    private readonly sizes: bigint[],
  ) {}

  private async readPiece(file: number, offset: bigint, length: number, buffer: Buffer): Promise<{file: number; piece: Uint8Array}> {
    if (this.handle?.file !== file) {
      const previous = this.handle
      this.handle = {file, fd: openRegular(this.files[file]).then((opened) => opened.handle)}
      void previous?.fd.then((fd) => fd.close())
    }
    const fd = await this.handle.fd
    let filled = 0
    while (filled < length) {
      const {bytesRead} = await fd.read(buffer, filled, length - filled, Number(offset) + filled).catch((error) => {
        throw ioError('read', this.files[file], error)
      })
      if (bytesRead === 0) throw new FormatError(`ends at byte ${Number(offset) + filled}, shorter than the manifest says`, this.files[file])
      filled += bytesRead
    }
    return {file, piece: buffer.subarray(0, length)}
  }

  /** Queues reads until DEPTH pieces are in flight or every file is read. */
  private fill(): void {
    while (this.queue.length < DEPTH && this.cursor.file < this.files.length) {
      const {file, offset} = this.cursor
      const remaining = this.sizes[file] - offset
      if (remaining === 0n) {
        // An empty chunk still yields one empty piece, so its CRC is checked.
        if (offset === 0n) this.queue.push(Promise.resolve({file, piece: new Uint8Array(0)}))
        this.cursor = {file: file + 1, offset: 0n}
        continue
      }
      const length = Number(remaining < BigInt(PIECE_BYTES) ? remaining : BigInt(PIECE_BYTES))
      const buffer = this.pool[this.next++ % this.pool.length]
      const read = this.readPiece(file, offset, length, buffer)
      read.catch(() => {})
      this.queue.push(read)
      this.cursor = offset + BigInt(length) === this.sizes[file] ? {file: file + 1, offset: 0n} : {file, offset: offset + BigInt(length)}
    }
  }

  async *pieces(file: number): AsyncGenerator<Uint8Array> {
    for (;;) {
      this.fill()
      const head = this.queue[0]
      if (head === undefined) return
      const {file: owner, piece} = await head
      if (owner !== file) return
      this.queue.shift()
      yield piece
    }
  }

  async close(): Promise<void> {
    const fd = await this.handle?.fd
    await fd?.close()
    this.handle = undefined
  }
}
