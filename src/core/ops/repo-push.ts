import path from 'node:path'

import {FormatError, interruption} from '../errors.js'
import {basebackupManifestCodec} from '../format/basebackup-manifest.js'
import {timelineHistoryCodec} from '../format/timeline-history.js'
import {resolveContained} from '../fs/contained.js'
import {crashPoint} from '../fs/crash.js'
import {ioError} from '../fs/io-error.js'
import {openRegular} from '../fs/open.js'
import {decodeFile, readArtifactBytesIfExists} from '../fs/read.js'
import {PIECE_BYTES, readFullySync} from '../fs/stream.js'
import {Layout, parseBasebackupName, parseTimelineDirName} from '../layout.js'
import {DEAD_TEMP_GRACE_MS, type RepoBackend, type TempSweep} from '../repo/backend.js'
import {checkedStream, sealedChecksum, type Expected} from '../repo/integrity.js'
import {readInventory, runPool} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'
import {listDir, listWalSegments, readCurrentTimeline} from './node-state.js'

export interface RepoPushOptions {
  node: string
  jobs: number
  /** Also push the highest WAL segment of the current timeline, which RedDB may still be appending to. */
  includeCurrent: boolean
  onProgress?: (bytes: bigint) => void
  /** Stops the transfers at their next piece: no object half-stored, no temp file left, nothing more started. */
  signal?: AbortSignal
  /** Now, which tells a dead writer's temp from a live one's (see RepoBackend.sweepDeadTemps). */
  nowMs: bigint
}

export interface RepoPushReport {
  repository: string
  node: string
  timeline: bigint
  backups_pushed: Array<{key: string; checkpoint_lsn: bigint; timeline: bigint; chunks_uploaded: number}>
  backups_present: number
  wal_segments_pushed: number
  wal_segments_present: number
  history_pushed: boolean
  objects_uploaded: number
  uploaded_bytes: bigint
  /** Local files not pushed, and why (a manifest that does not decode). */
  skipped: Array<{path: string; reason: string}>
  /** Temps of dead writers removed from the node's namespace first. */
  dead_temps: TempSweep
}

/**
 * Reads of open local files: each reads synchronously (see fs/pace.ts)
 * into one buffer, lent piece by piece (see RepoBackend.put) and taken
 * from a pool shared by the transfers in flight, so a push allocates a
 * few buffers, not one per piece.
 */
class FileReads {
  private readonly free: Buffer[] = []

  constructor(private readonly signal?: AbortSignal) {}

  async *of(fd: number, file: string): AsyncGenerator<Uint8Array> {
    const buffer = this.free.pop() ?? Buffer.allocUnsafe(PIECE_BYTES)
    try {
      for (let position = 0; ; ) {
        this.signal?.throwIfAborted()
        let read: number
        try {
          read = readFullySync(fd, buffer, buffer.length, position)
        } catch (error) {
          throw ioError('read', file, error)
        }
        if (read === 0) break
        position += read
        yield buffer.subarray(0, read)
      }
    } finally {
      this.free.push(buffer)
    }
  }
}

/** Reads a checked stream to its end, for its checks alone. */
async function drain(pieces: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of pieces);
}

async function* bytesBody(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/**
 * `repo push`: copies what the repository lacks of a node — every complete
 * base backup (its chunks first, its manifest last, so a listing never
 * shows a partial backup), the timeline history, and the sealed WAL
 * segments. An object already there with the right size is skipped, so a
 * run after a crash or a dropped connection picks up where the last one
 * stopped. Every byte is checked on its way out against the CRC RedDB
 * recorded for it; a file that fails is never uploaded.
 */
export async function pushToRepository(layout: Layout, backend: RepoBackend, options: RepoPushOptions): Promise<RepoPushReport> {
  const {signal} = options
  try {
    return await pushObjects(layout, backend, options)
  } catch (error) {
    // Whatever failed once the signal came (a store may wrap the reason): each transfer in flight stopped before its object took its key.
    if (signal?.aborted) throw interruption(signal, 'stopped the transfers in flight, none left half-stored; a backup is listed only once its manifest, pushed last, is there, and the next push carries on')
    throw error
  }
}

async function pushObjects(layout: Layout, backend: RepoBackend, options: RepoPushOptions): Promise<RepoPushReport> {
  const {signal} = options
  const keys = new RepoKeys(options.node)
  const deadTemps = (await backend.sweepDeadTemps?.(keys.prefix, {nowMs: options.nowMs, graceMs: DEAD_TEMP_GRACE_MS, dryRun: false})) ?? {count: 0, bytes: 0n}
  const inventory = await readInventory(backend, keys)
  const present = (key: string, size: bigint) => inventory.objects.get(key)?.size === size
  const timeline = await readCurrentTimeline(layout)
  const report: RepoPushReport = {
    repository: backend.location,
    node: options.node,
    timeline,
    backups_pushed: [],
    backups_present: 0,
    wal_segments_pushed: 0,
    wal_segments_present: 0,
    history_pushed: false,
    objects_uploaded: 0,
    uploaded_bytes: 0n,
    skipped: [],
    dead_temps: deadTemps,
  }
  const reads = new FileReads(signal)
  const counted = (expected: Expected) => {
    report.objects_uploaded++
    report.uploaded_bytes += expected.size
    options.onProgress?.(report.uploaded_bytes)
  }
  const upload = async (key: string, bytes: Uint8Array, file: string) => {
    signal?.throwIfAborted()
    const expected: Expected = {kind: 'sealed', size: BigInt(bytes.length)}
    await backend.put(key, () => checkedStream(bytesBody(bytes), expected, file), {size: expected.size, checksum: sealedChecksum(bytes)})
    counted(expected)
  }
  // A local file is offered to the store open, so one on this machine can copy it in the kernel; every byte stored is checked either way.
  const uploadFile = async (key: string, file: string, expected: Expected, checksum: number) => {
    signal?.throwIfAborted()
    const {handle, size} = await openRegular(file)
    try {
      // Refused before a byte moves: a store's kernel copy takes the whole file, whatever its size.
      if (BigInt(size) !== expected.size) throw new FormatError(`holds ${size} bytes, expected ${expected.size}`, file)
      const checked = (fd: number) => checkedStream(reads.of(fd, file), expected, file)
      await backend.put(key, () => checked(handle.fd), {size: expected.size, checksum, localSource: {fd: handle.fd, check: (stored) => drain(checked(stored))}})
    } finally {
      await handle.close()
    }
    counted(expected)
  }

  const timelines = (await listDir(layout.root)).map(parseTimelineDirName).filter((t): t is bigint => t !== undefined).sort((a, b) => (a < b ? -1 : 1))
  for (const t of timelines) {
    const dir = layout.basebackupDir(t)
    for (const name of (await listDir(dir)).sort()) {
      const parsed = parseBasebackupName(name)
      if (!parsed) continue
      const file = path.join(dir, name)
      const bytes = await readArtifactBytesIfExists(file, basebackupManifestCodec)
      if (bytes === undefined) continue
      let manifest
      try {
        manifest = decodeFile(file, bytes, basebackupManifestCodec, {nowMs: 0n})
      } catch (error) {
        if (!(error instanceof FormatError)) throw error
        report.skipped.push({path: file, reason: error.problem})
        continue
      }
      if (manifest.timeline !== t || manifest.start_lsn !== parsed.startLsn || manifest.checkpoint_lsn !== parsed.checkpointLsn) {
        report.skipped.push({path: file, reason: 'the manifest disagrees with its name or directory'})
        continue
      }
      const manifestKey = keys.manifest(t, manifest.start_lsn, manifest.checkpoint_lsn)
      if (present(manifestKey, BigInt(bytes.length))) {
        report.backups_present++
        continue
      }
      const tasks: Array<() => Promise<void>> = []
      let chunksUploaded = 0
      for (const chunk of manifest.chunks) {
        const key = keys.chunk(t, chunk.relative_path)
        if (present(key, chunk.bytes)) continue
        const chunkFile = await resolveContained(dir, chunk.relative_path).catch((error) => {
          throw error instanceof FormatError ? error.inFile(file) : error
        })
        tasks.push(async () => {
          await uploadFile(key, chunkFile, {kind: 'chunk', size: chunk.bytes, checksum: chunk.checksum}, chunk.checksum)
          chunksUploaded++
        })
      }
      await runPool(tasks, options.jobs)
      // Last, once every chunk it names is there for good: from this moment the repository lists the backup.
      await backend.flush()
      crashPoint('repo-push:before-manifest')
      await upload(manifestKey, bytes, file)
      report.backups_pushed.push({key: manifestKey, checkpoint_lsn: manifest.checkpoint_lsn, timeline: t, chunks_uploaded: chunksUploaded})
    }
  }

  const walTasks: Array<() => Promise<void>> = []
  for (const t of timelines) {
    const segments = await listWalSegments(layout, t)
    // The highest segment of the current timeline is the one RedDB appends to: not sealed yet.
    const sealed = t === timeline && !options.includeCurrent ? segments.slice(0, -1) : segments
    for (const segment of sealed) {
      const key = keys.wal(t, segment.index)
      if (present(key, segment.bytes)) {
        report.wal_segments_present++
        continue
      }
      walTasks.push(async () => {
        // Read once to learn the trailer CRC RedDB wrote, then stream it out checked against it.
        const checksum = await trailerChecksum(segment.path, segment.bytes)
        await uploadFile(key, segment.path, {kind: 'sealed', size: segment.bytes}, checksum)
        report.wal_segments_pushed++
      })
    }
  }
  await runPool(walTasks, options.jobs)
  await backend.flush()

  // The history last: a restore reads it to know the timelines, whose WAL is then already there.
  const history = await readArtifactBytesIfExists(layout.historyPath, timelineHistoryCodec)
  if (history !== undefined) {
    decodeFile(layout.historyPath, history, timelineHistoryCodec, {nowMs: 0n})
    const key = keys.history
    if (!present(key, BigInt(history.length)) || !(await sameBytes(backend, key, history))) {
      await upload(key, history, layout.historyPath)
      report.history_pushed = true
    }
  }
  await backend.flush()
  return report
}

/** The last 4 bytes of a file (its sealed CRC), read with a bound. */
async function trailerChecksum(file: string, size: bigint): Promise<number> {
  if (size < 4n) return 0
  const {handle} = await openRegular(file)
  try {
    const tail = Buffer.alloc(4)
    await handle.read(tail, 0, 4, Number(size - 4n))
    return tail.readUInt32LE(0)
  } finally {
    await handle.close()
  }
}

/** The history is small and can change in place (a failover appends to it): compare it whole. */
async function sameBytes(backend: RepoBackend, key: string, bytes: Uint8Array): Promise<boolean> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const piece of backend.get(key)) {
    size += piece.length
    if (size > bytes.length) return false
    chunks.push(piece)
  }
  return Buffer.compare(Buffer.concat(chunks), Buffer.from(bytes)) === 0
}
