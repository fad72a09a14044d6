import path from 'node:path'
import type {Readable} from 'node:stream'

import {crc32, crc32Combine} from '../../codec/crc.js'
import {FormatError, interruption, refused, usageError} from '../../errors.js'
import {basebackupManifestCodec, DEFAULT_CHUNK_BYTES, MAX_CHUNKS} from '../../format/basebackup-manifest.js'
import {snapshotOpenProblem} from '../../format/embedded-rdb.js'
import {fsyncDir, mkdirDurable, openNewFileSync, writeFailure, writeFileAtomic} from '../../fs/atomic.js'
import {readArtifactIfExists} from '../node/artifact-file.js'
import {crashPoint} from '../../fs/crash.js'
import {FLUSH_BEHIND_BYTES} from '../../fs/flush-behind.js'
import {openInLayout, removeDirOf} from '../../fs/held-dir.js'
import {openRegular} from '../../fs/open.js'
import {isProcessAlive} from '../../fs/processes.js'
import {readArtifactBytesIfExists} from '../node/artifact-file.js'
import {createPace, type Pace} from '../../fs/pace.js'
import {absentAsUndefined} from '../../fs/io-error.js'
import {readdir, stat} from '../../fs/metadata.js'
import {closeDescriptor, fsyncDescriptor, pumpRange, writeAllAtSync} from '../../fs/stream.js'
import {moveEntry, removeTree} from '../../fs/tree.js'
import {basebackupChunkRelativePath, basebackupManifestName, basebackupSnapshotName, Layout, pad20} from '../../layout.js'
import type {BasebackupChunk, BasebackupManifest, TimelineHistory} from '../../model.js'
import {currentTimeline} from '../../format/timeline-history.js'
import {streamEmbeddedSnapshot} from '../node/embedded-file.js'
import {listBasebackups, readHistory, readWalHead} from '../node/state.js'

/**
 * Where the snapshot comes from. A stream carries the byte count announced
 * for it: a pipe cut short ends like a complete one, and only the count
 * tells them apart.
 */
export type SnapshotSource = {kind: 'rdb'; path: string} | {kind: 'file'; path: string} | {kind: 'stream'; stream: Readable; name: string; bytes: bigint}

export interface CreateOptions {
  source: SnapshotSource
  checkpointLsn?: bigint
  startLsn?: bigint
  chunkSize?: bigint
  onProgress?: (doneBytes: bigint, totalBytes: bigint | null) => void
  /** Stops the run at the next piece; the staging dir is removed and nothing else touched. */
  signal?: AbortSignal
  /** Bytes per second read from the source at most (`--max-rate`); absent: as fast as the disk goes. */
  maxRate?: number
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

/** Bytes of complete chunks whose fsyncs start together (the flush-behind distance of fs/flush-behind.ts). */
const FLUSH_BATCH_BYTES = BigInt(FLUSH_BEHIND_BYTES)
/**
 * Complete chunk files held open for one batch at most, whatever their
 * size: with small chunks (--chunk-size 1KiB) a batch of FLUSH_BATCH_BYTES
 * held thousands of descriptors and ran into the process's limit (EMFILE).
 */
const FLUSH_BATCH_FILES = 256

/**
 * Cuts a stream of snapshot bytes into chunk files of exactly `chunkSize`
 * bytes in a directory, with the CRC of each chunk and of the whole.
 * Writes are synchronous (see fs/pace.ts); complete chunks are fsynced in
 * batches in the thread pool while the next ones are copied, and finish()
 * waits until every chunk is on disk.
 */
class ChunkWriter {
  chunks: BasebackupChunk[] = []
  total = 0n
  snapshotCrc = 0
  /** The chunk file being written. */
  private fd: number | undefined
  /** Complete chunk files not yet handed to a flush. */
  private unflushed: number[] = []
  private unflushedBytes = 0n
  /** The batch of fsyncs in flight, if any. */
  private flushing: Promise<void> | undefined
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
    return this.fd === undefined ? this.snapshotCrc : crc32Combine(this.snapshotCrc, this.chunkCrc, this.chunkBytes)
  }

  /**
   * Takes the next piece of the snapshot. Pieces are cut, CRC'd and written
   * strictly in the order they arrive, even when the caller does not wait;
   * the piece's bytes are in the chunk files (not yet on disk) when the
   * returned promise resolves, and only then may the caller reuse its buffer.
   */
  write(piece: Uint8Array): Promise<void> {
    const issued = this.order.then(() => this.issue(piece))
    this.order = issued.then(
      () => {},
      () => {},
    )
    return issued
  }

  private async issue(piece: Uint8Array): Promise<void> {
    let at = 0
    while (at < piece.length) {
      if (this.fd === undefined || this.chunkBytes === this.chunkSize) {
        await this.closeChunk()
        this.openChunk()
      }
      const room = Number(this.chunkSize - this.chunkBytes < BigInt(piece.length - at) ? this.chunkSize - this.chunkBytes : BigInt(piece.length - at))
      const slice = piece.subarray(at, at + room)
      this.chunkCrc = crc32(slice, this.chunkCrc)
      writeAllAtSync(this.fd!, slice, Number(this.chunkBytes))
      this.chunkBytes += BigInt(room)
      this.total += BigInt(room)
      at += room
    }
  }

  private openChunk(): void {
    const ordinal = this.chunks.length
    if (ordinal >= MAX_CHUNKS) throw usageError(`the snapshot needs more than ${MAX_CHUNKS} chunks of ${this.chunkSize} bytes; use a larger --chunk-size`)
    // A fresh name in a staging dir of our own: anything already there is a plant, never to be written through.
    this.fd = openNewFileSync(path.join(this.dir, `${pad20(ordinal)}.redchunk`))
    this.chunkCrc = 0
    this.chunkBytes = 0n
  }

  /**
   * Sets the finished chunk file aside for the next batch of flushes. A batch
   * starts once FLUSH_BATCH_BYTES (or FLUSH_BATCH_FILES files) are waiting and the previous batch is done:
   * an fsync per 4 MiB chunk, each with its own journal commit, kept the
   * disk busy with commits rather than data.
   */
  private async closeChunk(): Promise<void> {
    if (this.fd === undefined) return
    this.unflushed.push(this.fd)
    this.unflushedBytes += this.chunkBytes
    this.fd = undefined
    if (this.unflushedBytes >= FLUSH_BATCH_BYTES || this.unflushed.length >= FLUSH_BATCH_FILES) await this.startBatch()
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

  /** Waits for the batch in flight, then fsyncs (and closes) every chunk file set aside, in the thread pool. */
  private async startBatch(): Promise<void> {
    await this.flushing
    const batch = this.unflushed.splice(0)
    this.unflushedBytes = 0n
    const flushed = Promise.all(batch.map((fd) => fsyncDescriptor(fd).finally(() => closeDescriptor(fd)))).then(() => {})
    flushed.catch(() => {})
    this.flushing = flushed
  }

  /** Closes the last chunk and waits until every chunk is on disk; an empty snapshot still gets one empty chunk. */
  async finish(): Promise<void> {
    await this.order
    if (this.fd === undefined && this.chunks.length === 0) this.openChunk()
    await this.closeChunk()
    await this.startBatch()
    await this.flushing
  }

  async abort(): Promise<void> {
    await this.order
    if (this.fd !== undefined) closeDescriptor(this.fd)
    this.fd = undefined
    await Promise.allSettled([this.flushing])
    for (const fd of this.unflushed.splice(0)) closeDescriptor(fd)
  }
}

/** Whether an existing parts dir holds exactly the chunks just staged (sizes and CRCs). */
async function partsMatch(partsDir: string, chunks: BasebackupChunk[], signal: AbortSignal | undefined): Promise<boolean> {
  const names = (await readdir(partsDir)).filter((name) => name.endsWith('.redchunk')).sort()
  if (names.length !== chunks.length) return false
  for (const chunk of chunks) {
    const file = path.join(partsDir, `${pad20(chunk.ordinal)}.redchunk`)
    const info = await stat(file).catch(absentAsUndefined('stat', file))
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
  if ((await stat(partsDir).catch(absentAsUndefined('stat', partsDir))) === undefined || !(await partsMatch(partsDir, existing.chunks, signal))) {
    throw refused(`${manifestPath}: already holds this snapshot but its parts in ${partsDir} do not match it; nothing was changed`, {
      code: 'basebackup.parts-damaged',
      hint: 'run basebackup verify on it, remove the damaged backup, then take it again',
    })
  }
}

/**
 * Staging dirs left by runs that died (`….parts.tmp-<pid>-<nanos>` of a pid
 * no longer alive): their chunk files and then the dir, through the
 * basebackup directory reached without links (fs/held-dir.ts). A staging
 * name that is a link, or a dir holding anything but chunk files, is left
 * for `layout clean` to report.
 */
async function removeAbandonedStaging(dir: string, partsName: string): Promise<void> {
  const timelineDir = path.dirname(dir)
  const held = await openInLayout(path.dirname(timelineDir), [path.basename(timelineDir), path.basename(dir)], {linkableLast: true})
  if (held === undefined) return
  try {
    for (const name of await held.names()) {
      const match = new RegExp(`^${partsName.replaceAll('.', '\\.')}\\.tmp-(\\d+)-\\d+$`).exec(name)
      if (!match || isProcessAlive(Number(match[1])) || !(await held.entry(name))?.isDirectory()) continue
      await removeDirOf(held, name, (entry) => /^\d{20}\.redchunk$/.test(entry))
    }
  } finally {
    await held.close()
  }
}

async function feedSource(
  source: SnapshotSource,
  writer: () => ChunkWriter,
  restart: () => Promise<void>,
  progress: (done: bigint, total: bigint | null) => void,
  signal: AbortSignal | undefined,
  pace: Pace,
): Promise<void> {
  // The first bytes of raw snapshot bytes, for RedDB's open rules; a database's own snapshot is checked by them as it is opened.
  const head = new Uint8Array(4)
  let seen = 0
  const take = (piece: Uint8Array, total: bigint | null) => {
    signal?.throwIfAborted()
    if (seen < 4) {
      const part = piece.subarray(0, 4 - seen)
      head.set(part, seen)
      seen += part.length
    }
    return writer()
      .write(piece)
      .then(() => progress(writer().total, total))
  }
  if (source.kind === 'rdb') {
    await streamEmbeddedSnapshot(source.path, take, restart, () => writer().currentSnapshotCrc(), undefined, pace)
    return
  }
  if (source.kind === 'file') {
    const {handle, size: length} = await openRegular(source.path)
    try {
      const size = BigInt(length)
      await pumpRange(handle, 0n, size, (piece) => take(piece, size), {pace})
    } finally {
      await handle.close()
    }
    refuseUnopenable(head.subarray(0, seen), writer().total, source.path)
    return
  }
  // A stream may wait for input indefinitely: the abort ends the wait.
  const stop = () => source.stream.destroy(signal!.reason as Error)
  signal?.addEventListener('abort', stop, {once: true})
  let received = 0n
  try {
    for await (const piece of source.stream) {
      received += BigInt((piece as Uint8Array).length)
      // Refused at the first byte too many: nothing past the announced size is read or written.
      if (received > source.bytes) throw new FormatError(`holds more than the ${source.bytes} bytes announced for the snapshot; no base backup was written`, source.name)
      await take(piece as Uint8Array, source.bytes)
      await pace.pass((piece as Uint8Array).length)
    }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
  if (received < source.bytes) throw new FormatError(`ended after ${received} of the ${source.bytes} bytes announced for the snapshot (a pipe cut short?); no base backup was written`, source.name)
  refuseUnopenable(head.subarray(0, seen), received, source.name)
}

/** A snapshot RedDB would not open (§9.1: RDST) makes no backup: materialize would refuse it on the day it is needed. */
function refuseUnopenable(head: Uint8Array, bytes: bigint, name: string): void {
  const problem = snapshotOpenProblem(head, bytes)
  if (problem !== null) throw new FormatError(`${problem}; no base backup was written`, name)
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
    await removeTree(staging)
    await mkdirDurable(staging)
    writer = new ChunkWriter(staging, chunkSize, startLsn, checkpointLsn)
  }
  try {
    await feedSource(options.source, () => writer, restart, options.onProgress ?? (() => {}), options.signal, createPace({maxRate: options.maxRate, signal: options.signal}))
    await writer.finish()
    await fsyncDir(staging)
    // The last point of return: from here on the run only renames and writes the manifest.
    options.signal?.throwIfAborted()

    const existing = await readArtifactIfExists(manifestPath, basebackupManifestCodec, {nowMs: 0n})
    if (existing !== undefined) {
      await keepExistingBackup(manifestPath, partsDir, existing, {timeline, bytes: writer.total, checksum: writer.snapshotCrc}, options.signal)
      await removeTree(staging)
      return {manifest_path: manifestPath, manifest: existing, parts_dir_path: partsDir, reused_parts: false, replaced_parts: false, already_existed: true, snapshot_bytes: existing.snapshot_bytes, checkpoint_source: defaulted?.source ?? 'flag'}
    }

    let reused = false
    let replaced = false
    // Only an absent parts dir or manifest reads as absent: parts are removed below, so a manifest that cannot be looked at must not pass for none.
    const partsExist = (await stat(partsDir).catch(absentAsUndefined('stat', partsDir))) !== undefined
    if (partsExist && (await partsMatch(partsDir, writer.chunks, options.signal))) {
      reused = true
      await removeTree(staging)
    } else {
      if (partsExist) {
        if ((await stat(manifestPath).catch(absentAsUndefined('stat', manifestPath))) !== undefined) {
          throw refused(`${partsDir} does not match this snapshot but ${manifestPath} refers to it; remove that base backup first`)
        }
        // A manifest of another name may name chunks in it too (a reused parts dir): that backup would lose them.
        const namer = (await listBasebackups(layout, timeline)).find((backup) => backup.manifest.chunks.some((chunk) => chunk.relative_path.startsWith(`${partsName}/`)))
        if (namer !== undefined) throw refused(`${partsDir} does not match this snapshot but ${namer.path} refers to it; remove that base backup first`)
        await removeTree(partsDir)
        replaced = true
      }
      await moveEntry(staging, partsDir)
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
    const removed = await removeTree(staging).then(() => true, () => false)
    if (options.signal?.aborted && error === options.signal.reason) {
      throw interruption(options.signal, removed ? `removed the unfinished staging directory ${staging}; no base backup was written` : `could not remove the unfinished staging directory ${staging} (RedDB ignores it; a re-run removes it); no base backup was written`)
    }
    throw writeFailure(dir, error)
  }
}

