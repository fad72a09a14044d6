import {readdir, rename, rm, stat, type FileHandle} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'

import {crc32, crc32Combine} from '../codec/crc.js'
import {interruption, refused, usageError} from '../errors.js'
import {basebackupManifestCodec, DEFAULT_CHUNK_BYTES, MAX_CHUNKS} from '../format/basebackup-manifest.js'
import {fsyncDir, mkdirDurable, openNewFile, writeFailure, writeFileAtomic} from '../fs/atomic.js'
import {readArtifactIfExists} from '../fs/read.js'
import {crashPoint} from '../fs/crash.js'
import {openRegular} from '../fs/open.js'
import {isProcessAlive} from '../fs/processes.js'
import {readArtifactBytesIfExists} from '../fs/read.js'
import {pumpRange, writeAllAt} from '../fs/stream.js'
import {basebackupChunkRelativePath, basebackupManifestName, basebackupSnapshotName, Layout, pad20} from '../layout.js'
import type {BasebackupChunk, BasebackupManifest, TimelineHistory} from '../model.js'
import {currentTimeline} from '../format/timeline-history.js'
import {streamEmbeddedSnapshot} from './embedded-file.js'
import {readHistory, readWalHead} from './node-state.js'

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
  parts_dir_path: string
  reused_parts: boolean
  replaced_parts: boolean
  /** A backup at this checkpoint already held exactly these snapshot bytes: it was kept as it is and nothing was written. */
  already_existed: boolean
  snapshot_bytes: bigint
  checkpoint_source: 'flag' | 'wal-head' | 'fork-lsn'
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
    // A fresh name in a staging dir of our own: anything already there is a plant, never to be written through.
    this.handle = await openNewFile(path.join(this.dir, `${pad20(ordinal)}.redchunk`))
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
    const {handle} = await openRegular(file)
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

/**
 * A backup already stands at this start and checkpoint. Same snapshot bytes
 * (size and CRC) and intact parts: it is the backup asked for, kept as it is
 * (whatever its chunk size). Different bytes: two snapshots claim the same
 * checkpoint, and which one is right is not ours to guess — refuse, saying
 * what differs, and leave the existing backup alone.
 */
async function keepExistingBackup(manifestPath: string, partsDir: string, existing: BasebackupManifest, fresh: {timeline: bigint; bytes: bigint; checksum: number}, signal: AbortSignal | undefined): Promise<void> {
  if (existing.timeline !== fresh.timeline || existing.snapshot_bytes !== fresh.bytes || existing.snapshot_checksum !== fresh.checksum) {
    const hex = (crc: number) => `0x${crc.toString(16).padStart(8, '0')}`
    throw refused(
      `${manifestPath}: a base backup at checkpoint ${existing.checkpoint_lsn} already exists with other snapshot bytes (it holds ${existing.snapshot_bytes} bytes, CRC ${hex(existing.snapshot_checksum)}, timeline ${existing.timeline}; this snapshot is ${fresh.bytes} bytes, CRC ${hex(fresh.checksum)}, timeline ${fresh.timeline}); nothing was changed`,
      {code: 'basebackup.checkpoint-taken', hint: 'the database moved on since that backup: give this snapshot its own checkpoint with --checkpoint-lsn (the WAL head when it was taken)'},
    )
  }
  if (!(await stat(partsDir).then(() => true, () => false)) || !(await partsMatch(partsDir, existing.chunks, signal))) {
    throw refused(`${manifestPath}: already holds this snapshot but its parts in ${partsDir} do not match it; nothing was changed`, {
      code: 'basebackup.parts-damaged',
      hint: 'run basebackup verify on it, remove the damaged backup, then take it again',
    })
  }
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
    const {handle, size: length} = await openRegular(source.path)
    try {
      const size = BigInt(length)
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
 * The checkpoint a backup taken now belongs to: the WAL head of the current
 * timeline; on a timeline without a WAL record yet (just promoted), the fork
 * LSN it began at, since 0 would place the backup before the fork.
 */
async function defaultCheckpoint(layout: Layout, timeline: bigint, history: TimelineHistory | null): Promise<{lsn: bigint; source: CreateReport['checkpoint_source']}> {
  const head = await readWalHead(layout, timeline)
  if (head !== null) return {lsn: head, source: 'wal-head'}
  const entry = history?.entries.at(-1)
  if (entry !== undefined && entry.parent_timeline !== null) return {lsn: entry.fork_lsn, source: 'fork-lsn'}
  return {lsn: 0n, source: 'wal-head'}
}

/**
 * Writes a chunked base backup of a snapshot into the current timeline's
 * basebackup/ dir (§6), streaming: chunks go into a staging dir that is
 * renamed into place, then the manifest is written — a crash leaves either
 * no backup or a complete one. Re-running with the same inputs reuses the
 * parts already there.
 */
export async function createBasebackup(layout: Layout, options: CreateOptions): Promise<CreateReport> {
  const history = await readHistory(layout)
  const timeline = currentTimeline(history)
  const startLsn = options.startLsn ?? 0n
  const defaulted = options.checkpointLsn === undefined ? await defaultCheckpoint(layout, timeline, history) : undefined
  const checkpointLsn = options.checkpointLsn ?? defaulted!.lsn
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_BYTES
  if (chunkSize < 1n) throw usageError('--chunk-size must be at least 1')
  if (checkpointLsn < startLsn) throw usageError(`checkpoint LSN ${checkpointLsn} is before start LSN ${startLsn}`)

  const dir = layout.basebackupDir(timeline)
  await mkdirDurable(dir)
  const manifestName = basebackupManifestName(startLsn, checkpointLsn)
  const manifestPath = path.join(dir, manifestName)
  const partsName = `${manifestName}.parts`
  const partsDir = path.join(dir, partsName)
  await removeAbandonedStaging(dir, partsName)
  const staging = path.join(dir, `${partsName}.tmp-${process.pid}-${process.hrtime.bigint()}`)
  await mkdirDurable(staging)

  let writer = new ChunkWriter(staging, chunkSize, startLsn, checkpointLsn)
  const restart = async () => {
    await writer.abort()
    await rm(staging, {recursive: true, force: true})
    await mkdirDurable(staging)
    writer = new ChunkWriter(staging, chunkSize, startLsn, checkpointLsn)
  }
  try {
    await feedSource(options.source, () => writer, restart, options.onProgress ?? (() => {}), options.signal)
    await writer.finish()
    await fsyncDir(staging)
    // The last point of return: from here on the run only renames and writes the manifest.
    options.signal?.throwIfAborted()

    const existing = await readArtifactIfExists(manifestPath, basebackupManifestCodec, {nowMs: 0n})
    if (existing !== undefined) {
      await keepExistingBackup(manifestPath, partsDir, existing, {timeline, bytes: writer.total, checksum: writer.snapshotCrc}, options.signal)
      await rm(staging, {recursive: true, force: true})
      return {manifest_path: manifestPath, manifest: existing, parts_dir_path: partsDir, reused_parts: false, replaced_parts: false, already_existed: true, snapshot_bytes: existing.snapshot_bytes, checkpoint_source: defaulted?.source ?? 'flag'}
    }

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
    const current = await readArtifactBytesIfExists(manifestPath, basebackupManifestCodec)
    if (current === undefined || Buffer.compare(current, bytes) !== 0) await writeFileAtomic(manifestPath, bytes, {label: 'basebackup-manifest', clearLeftovers: true})
    return {manifest_path: manifestPath, manifest, parts_dir_path: partsDir, reused_parts: reused, replaced_parts: replaced, already_existed: false, snapshot_bytes: writer.total, checkpoint_source: defaulted?.source ?? 'flag'}
  } catch (error) {
    await writer.abort()
    const removed = await rm(staging, {recursive: true, force: true}).then(() => true, () => false)
    if (options.signal?.aborted && error === options.signal.reason) {
      throw interruption(options.signal, removed ? `removed the unfinished staging directory ${staging}; no base backup was written` : `could not remove the unfinished staging directory ${staging} (RedDB ignores it; a re-run removes it); no base backup was written`)
    }
    throw writeFailure(dir, error)
  }
}

