import {mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'

import {crc32, crc32Combine} from '../codec/crc.js'
import {interruption, notFound, refused, RedreplError, usageError} from '../errors.js'
import {basebackupManifestCodec, DEFAULT_CHUNK_BYTES, MAX_CHUNKS} from '../format/basebackup-manifest.js'
import {fsyncDir, writeFailure, writeFileAtomic} from '../fs/atomic.js'
import {crashPoint} from '../fs/crash.js'
import {isProcessAlive} from '../fs/processes.js'
import {pumpRange, writeAllAt} from '../fs/stream.js'
import {basebackupChunkRelativePath, basebackupManifestName, basebackupSnapshotName, Layout, pad20} from '../layout.js'
import type {BasebackupChunk, BasebackupManifest} from '../model.js'
import {streamEmbeddedSnapshot} from './embedded-file.js'
import {readCurrentTimeline, readWalHead} from './node-state.js'

export type SnapshotSource = {kind: 'rdb'; path: string} | {kind: 'file'; path: string} | {kind: 'stream'; stream: Readable; name: string}

export interface CreateOptions {
  source: SnapshotSource
  checkpointLsn?: bigint
  startLsn?: bigint
  chunkSize?: bigint
  onProgress?: (doneBytes: bigint, totalBytes: bigint | null) => void
  /** Stops the run at the next piece; the staging dir is removed and nothing else touched. */
  signal?: AbortSignal
}

export interface CreateReport {
  manifest_path: string
  manifest: BasebackupManifest
  parts_dir: string
  reused_parts: boolean
  replaced_parts: boolean
  snapshot_bytes: bigint
  checkpoint_source: 'flag' | 'wal-head'
}

const MAX_FLUSHING = 8

/**
 * Cuts a stream of snapshot bytes into chunk files of exactly `chunkSize`
 * bytes in a directory, with the CRC of each chunk and of the whole.
 */
class ChunkWriter {
  chunks: BasebackupChunk[] = []
  total = 0n
  snapshotCrc = 0
  private handle: FileHandle | undefined
  private readonly flushing: Array<Promise<void>> = []
  /** Writes issued to the open chunk file and not yet known complete. */
  private chunkWrites: Array<Promise<void>> = []
  /** Serialises the cutting of pieces, so they are taken in arrival order. */
  private order: Promise<void> = Promise.resolve()
  private chunkCrc = 0
  private chunkBytes = 0n

  constructor(
    private readonly dir: string,
    private readonly chunkSize: bigint,
    private readonly startLsn: bigint,
    private readonly checkpointLsn: bigint,
  ) {}

  /** The CRC of every byte written so far, the open chunk included. */
  currentSnapshotCrc(): number {
    return this.handle === undefined ? this.snapshotCrc : crc32Combine(this.snapshotCrc, this.chunkCrc, this.chunkBytes)
  }

  /**
   * Takes the next piece of the snapshot. Pieces are cut and CRC'd strictly
   * in the order they arrive, even when the caller does not wait; their
   * writes (positional, so several can be in flight across chunk files)
   * complete when the returned promise does — only then may the caller
   * reuse the piece's buffer.
   */
  write(piece: Uint8Array): Promise<void> {
    const issued = this.order.then(() => this.issue(piece))
    this.order = issued.then(
      () => {},
      () => {},
    )
    return issued.then((writes) => Promise.all(writes)).then(() => {})
  }

  private async issue(piece: Uint8Array): Promise<Array<Promise<void>>> {
    const writes: Array<Promise<void>> = []
    let at = 0
    while (at < piece.length) {
      if (this.handle === undefined || this.chunkBytes === this.chunkSize) {
        await this.closeChunk()
        await this.openChunk()
      }
      const room = Number(this.chunkSize - this.chunkBytes < BigInt(piece.length - at) ? this.chunkSize - this.chunkBytes : BigInt(piece.length - at))
      const slice = piece.subarray(at, at + room)
      const written = writeAllAt(this.handle!, slice, Number(this.chunkBytes))
      written.catch(() => {})
      this.chunkWrites.push(written)
      writes.push(written)
      this.chunkCrc = crc32(slice, this.chunkCrc)
      this.chunkBytes += BigInt(room)
      this.total += BigInt(room)
      at += room
    }
    return writes
  }

  private async openChunk(): Promise<void> {
    const ordinal = this.chunks.length
    if (ordinal >= MAX_CHUNKS) throw usageError(`the snapshot needs more than ${MAX_CHUNKS} chunks of ${this.chunkSize} bytes; use a larger --chunk-size`)
    this.handle = await open(path.join(this.dir, `${pad20(ordinal)}.redchunk`), 'w', 0o644)
    this.chunkCrc = 0
    this.chunkBytes = 0n
  }

  /**
   * Hands the chunk file's fsync to the thread pool and moves on, so the
   * disk flushes chunk k while chunk k+1 is written; finish() waits for all.
   */
  private async closeChunk(): Promise<void> {
    if (this.handle === undefined) return
    const handle = this.handle
    this.handle = undefined
    const writes = this.chunkWrites.splice(0)
    const flushed = Promise.all(writes)
      .then(() => handle.sync())
      .finally(() => handle.close())
    flushed.catch(() => {})
    this.flushing.push(flushed)
    if (this.flushing.length >= MAX_FLUSHING) await this.flushing.shift()
    const ordinal = this.chunks.length
    this.chunks.push({
      ordinal,
      snapshot_offset: BigInt(ordinal) * this.chunkSize,
      bytes: this.chunkBytes,
      checksum: this.chunkCrc,
      relative_path: basebackupChunkRelativePath(this.startLsn, this.checkpointLsn, ordinal),
    })
    this.snapshotCrc = crc32Combine(this.snapshotCrc, this.chunkCrc, this.chunkBytes)
    crashPoint('basebackup-create:after-chunk')
  }

  /** Closes the last chunk and waits until every chunk is on disk; an empty snapshot still gets one empty chunk. */
  async finish(): Promise<void> {
    await this.order
    if (this.handle === undefined && this.chunks.length === 0) await this.openChunk()
    await this.closeChunk()
    while (this.flushing.length > 0) await this.flushing.shift()
  }

  async abort(): Promise<void> {
    await this.order
    await Promise.allSettled(this.chunkWrites.splice(0))
    await this.handle?.close().catch(() => {})
    this.handle = undefined
    await Promise.allSettled(this.flushing.splice(0))
  }
}

/** Whether an existing parts dir holds exactly the chunks just staged (sizes and CRCs). */
async function partsMatch(partsDir: string, chunks: BasebackupChunk[], signal: AbortSignal | undefined): Promise<boolean> {
  const names = (await readdir(partsDir)).filter((name) => name.endsWith('.redchunk')).sort()
  if (names.length !== chunks.length) return false
  for (const chunk of chunks) {
    const file = path.join(partsDir, `${pad20(chunk.ordinal)}.redchunk`)
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile() || BigInt(info.size) !== chunk.bytes) return false
    let crc = 0
    const handle = await open(file, 'r')
    try {
      await pumpRange(handle, 0n, chunk.bytes, (piece) => {
        signal?.throwIfAborted()
        crc = crc32(piece, crc)
      })
    } finally {
      await handle.close()
    }
    if (crc !== chunk.checksum) return false
  }
  return true
}

/** Staging dirs left by runs that died (`….parts.tmp-<pid>-<nanos>` of a pid no longer alive). */
async function removeAbandonedStaging(dir: string, partsName: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const match = new RegExp(`^${partsName.replaceAll('.', '\\.')}\\.tmp-(\\d+)-\\d+$`).exec(name)
    if (match && !isProcessAlive(Number(match[1]))) await rm(path.join(dir, name), {recursive: true, force: true})
  }
}

async function feedSource(
  source: SnapshotSource,
  writer: () => ChunkWriter,
  restart: () => Promise<void>,
  progress: (done: bigint, total: bigint | null) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const take = (piece: Uint8Array, total: bigint | null) => {
    signal?.throwIfAborted()
    return writer()
      .write(piece)
      .then(() => progress(writer().total, total))
  }
  if (source.kind === 'rdb') {
    await streamEmbeddedSnapshot(source.path, (piece) => take(piece, null), restart, () => writer().currentSnapshotCrc())
    return
  }
  if (source.kind === 'file') {
    let handle: FileHandle
    try {
      handle = await open(source.path, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${source.path}: no such file`)
      throw new RedreplError('failure', `${source.path}: ${(error as Error).message}`)
    }
    try {
      const size = BigInt((await handle.stat()).size)
      await pumpRange(handle, 0n, size, (piece) => take(piece, size))
    } finally {
      await handle.close()
    }
    return
  }
  // A stream may wait for input indefinitely: the abort ends the wait.
  const stop = () => source.stream.destroy(signal!.reason as Error)
  signal?.addEventListener('abort', stop, {once: true})
  try {
    for await (const piece of source.stream) await take(piece as Uint8Array, null)
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}

/**
 * Writes a chunked base backup of a snapshot into the current timeline's
 * basebackup/ dir (§6), streaming: chunks go into a staging dir that is
 * renamed into place, then the manifest is written — a crash leaves either
 * no backup or a complete one. Re-running with the same inputs reuses the
 * parts already there.
 */
export async function createBasebackup(layout: Layout, options: CreateOptions): Promise<CreateReport> {
  const timeline = await readCurrentTimeline(layout)
  const startLsn = options.startLsn ?? 0n
  const checkpointLsn = options.checkpointLsn ?? (await readWalHead(layout, timeline)) ?? 0n
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_BYTES
  if (chunkSize < 1n) throw usageError('--chunk-size must be at least 1')
  if (checkpointLsn < startLsn) throw usageError(`checkpoint LSN ${checkpointLsn} is before start LSN ${startLsn}`)

  const dir = layout.basebackupDir(timeline)
  await mkdir(dir, {recursive: true}).catch((error) => {
    throw writeFailure(dir, error)
  })
  const manifestName = basebackupManifestName(startLsn, checkpointLsn)
  const manifestPath = path.join(dir, manifestName)
  const partsName = `${manifestName}.parts`
  const partsDir = path.join(dir, partsName)
  await removeAbandonedStaging(dir, partsName)
  const staging = path.join(dir, `${partsName}.tmp-${process.pid}-${process.hrtime.bigint()}`)
  await mkdir(staging).catch((error) => {
    throw writeFailure(dir, error)
  })

  let writer = new ChunkWriter(staging, chunkSize, startLsn, checkpointLsn)
  const restart = async () => {
    await writer.abort()
    await rm(staging, {recursive: true, force: true})
    await mkdir(staging)
    writer = new ChunkWriter(staging, chunkSize, startLsn, checkpointLsn)
  }
  try {
    await feedSource(options.source, () => writer, restart, options.onProgress ?? (() => {}), options.signal)
    await writer.finish()
    await fsyncDir(staging)
    // The last point of return: from here on the run only renames and writes the manifest.
    options.signal?.throwIfAborted()

    let reused = false
    let replaced = false
    const partsExist = await stat(partsDir).then(() => true, () => false)
    if (partsExist && (await partsMatch(partsDir, writer.chunks, options.signal))) {
      reused = true
      await rm(staging, {recursive: true, force: true})
    } else {
      if (partsExist) {
        if (await stat(manifestPath).then(() => true, () => false)) {
          throw refused(`${partsDir} does not match this snapshot but ${manifestPath} refers to it; remove that base backup first`)
        }
        await rm(partsDir, {recursive: true, force: true})
        replaced = true
      }
      await rename(staging, partsDir)
      crashPoint('basebackup-create:after-parts-rename')
    }
    await fsyncDir(dir)

    const manifest: BasebackupManifest = {
      timeline,
      start_lsn: startLsn,
      checkpoint_lsn: checkpointLsn,
      snapshot_relative_path: basebackupSnapshotName(startLsn, checkpointLsn),
      snapshot_bytes: writer.total,
      snapshot_checksum: writer.snapshotCrc,
      chunks: writer.chunks,
    }
    const bytes = basebackupManifestCodec.encode(manifest, {nowMs: 0n})
    const current = await readFile(manifestPath).catch(() => undefined)
    if (current === undefined || Buffer.compare(current, bytes) !== 0) await writeFileAtomic(manifestPath, bytes, {label: 'basebackup-manifest'})
    return {manifest_path: manifestPath, manifest, parts_dir: partsDir, reused_parts: reused, replaced_parts: replaced, snapshot_bytes: writer.total, checkpoint_source: options.checkpointLsn === undefined ? 'wal-head' : 'flag'}
  } catch (error) {
    await writer.abort()
    const removed = await rm(staging, {recursive: true, force: true}).then(() => true, () => false)
    if (options.signal?.aborted && error === options.signal.reason) {
      throw interruption(options.signal, removed ? `removed the unfinished staging directory ${staging}; no base backup was written` : `could not remove the unfinished staging directory ${staging} (RedDB ignores it; a re-run removes it); no base backup was written`)
    }
    throw writeFailure(dir, error)
  }
}

