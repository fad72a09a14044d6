import os from 'node:os'
import path from 'node:path'

import {hex32} from '../../codec/crc.js'
import {FormatError, InterruptedError, interruption, RedreplError, refused} from '../../errors.js'
import {basebackupManifestCodec} from '../../format/basebackup-manifest.js'
import type {RepoFacts} from '../../format/repo-facts.js'
import {timelineHistoryCodec} from '../../format/timeline-history.js'
import {resolveContained} from '../../fs/contained.js'
import {crashPoint} from '../../fs/crash.js'
import {openRegular} from '../../fs/open.js'
import {decodeFile, readArtifactBytesIfExists} from '../node/artifact-file.js'
import {BufferStock, PieceReader} from '../../fs/stream.js'
import {Layout, parseBasebackupName, parseTimelineDirName} from '../../layout.js'
import {DEAD_TEMP_GRACE_MS, type RepoBackend, type TempSweep} from '../../repo/backend.js'
import {checkedStream, collect, sealedChecksum, type Expected} from '../../repo/integrity.js'
import {readInventory, runPool, type RepoInventory} from '../../repo/inventory.js'
import {listPacks, PieceLookup, pieceKey, readPieceIndex, storePieces} from '../../repo/pieces.js'
import type {EachRepository} from './set.js'
import {encodePieceIndex} from '../../format/piece-index.js'
import {RepoKeys} from '../../repo/keys.js'
import {readRepoFacts, readRepoStatus, writeRepoFacts, writeRepoStatus} from '../../repo/facts-store.js'
import type {RepoPushStatus} from '../../format/repo-status.js'
import {storedChecksum, type StoredKind} from '../../repo/stored-crc.js'
import {mergeRepoFacts, writerOf, type NodeFacts} from '../../plan/repo-facts.js'
import type {BasebackupManifest, RedDBRelease, TimelineEntry} from '../../model.js'
import {releaseOfDatabaseFile} from '../node/embedded-file.js'
import {listDir, listWalSegments, readCurrentTimeline, readHistory, type WalSegmentFile} from '../node/state.js'
import {readWalState, requireSoundWal} from '../wal/state.js'

export interface RepoPushOptions {
  node: string
  /** The node's data path as configured: its database shows the RedDB release (facts), and messages name it. */
  dataPath: string
  /** Now: the push's recorded outcome is dated by it, and it tells a dead writer's temp from a live one's (RepoBackend.sweepDeadTemps). */
  nowMs: bigint
  jobs: number
  /** Also push the highest WAL segment of the current timeline, which RedDB may still be appending to. */
  includeCurrent: boolean
  onProgress?: (bytes: bigint) => void
  /** Stops the transfers at their next piece: no object half-stored, no temp file left, nothing more started. */
  signal?: AbortSignal
}

export interface RepoPushReport {
  repository: string
  node: string
  timeline: bigint
  /** chunks_uploaded: 0 since backups are stored as pieces (kept for scripts); pieces: how many the index names, pieces_uploaded: those not stored before. */
  backups_pushed: Array<{key: string; checkpoint_lsn: bigint; timeline: bigint; chunks_uploaded: number; pieces: number; pieces_uploaded: number}>
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
  /** What the repository records for the replica set after this push (docs/repository.md "Facts"). */
  facts: {segment_bytes: bigint | null; rdb_release: RedDBRelease | null; current_timeline: bigint}
}

/**
 * Reads of open local files: each reads synchronously (see fs/pace.ts)
 * into one buffer, lent piece by piece (see RepoBackend.put) and taken
 * from a pool shared by the transfers in flight, so a push allocates a
 * few buffers, not one per piece.
 */
class FileReads {
  private readonly stock = new BufferStock()

  constructor(private readonly signal?: AbortSignal) {}

  async *of(fd: number, file: string): AsyncGenerator<Uint8Array> {
    // One buffer per file read, taken from the stock and given back once its last piece is consumed.
    const reader = new PieceReader({stock: this.stock, buffers: 1, signal: this.signal})
    try {
      yield* reader.pieces(fd, {file})
    } finally {
      reader.release()
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

/** `repo push`'s document: the push to the repository named, or one outcome per configured repository. */
export type RepoPushDocument = RepoPushReport | EachRepository<RepoPushReport>

/**
 * `repo push`: copies what the repository lacks of a node — every complete
 * base backup (its chunks first, its manifest last, so a listing never
 * shows a partial backup), the timeline history, and the sealed WAL
 * segments — then the replica set's facts and the push's outcome. First it
 * checks that the node belongs to the namespace's replica set
 * (plan/repo-facts.ts) and that every object already stored under a name
 * it would write holds its bytes; a contradiction refuses the push before
 * anything is uploaded. An object already there with the node's bytes is
 * skipped, so a run after a crash or a dropped connection picks up where
 * the last one stopped. Every byte is checked on its way out against the
 * CRC RedDB recorded for it; a file that fails is never uploaded.
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
  const keys = new RepoKeys(options.node)
  const outcome = {unix_ms: options.nowMs, host: os.hostname(), data_path: options.dataPath}
  let report: RepoPushReport
  try {
    report = await pushOnce(layout, backend, options)
  } catch (error) {
    if (!(error instanceof InterruptedError) && !options.signal?.aborted) {
      const reason = error instanceof Error ? error.message : String(error)
      // Best effort, so any error is dropped: the repository may be what failed, and the push's own error, already in hand, is the one reported.
      await recordOutcome(backend, keys, (status) => ({...status, last_failure: {...outcome, reason}, failing: true})).catch(() => undefined)
    }
    throw error
  }
  await recordOutcome(backend, keys, (status) => ({...status, last_success: {...outcome, timeline: report.timeline, objects_uploaded: BigInt(report.objects_uploaded)}, failing: false}))
  return report
}

/** Rewrites the namespace's push status (format/repo-status.ts) with one outcome changed, the other kept. */
async function recordOutcome(backend: RepoBackend, keys: RepoKeys, change: (status: RepoPushStatus) => RepoPushStatus): Promise<void> {
  const status = (await readRepoStatus(backend, keys).catch((error) => {
    // A damaged status is replaced: it only ever describes past pushes.
    if (error instanceof FormatError) return null
    throw error
  })) ?? {last_success: null, last_failure: null, failing: false}
  await writeRepoStatus(backend, keys, change(status))
}

async function pushOnce(layout: Layout, backend: RepoBackend, options: RepoPushOptions): Promise<RepoPushReport> {
  const {signal} = options
  const keys = new RepoKeys(options.node)
  const deadTemps = backend.capabilities.deadTempSweep ? await backend.sweepDeadTemps(keys.prefix, {nowMs: options.nowMs, graceMs: DEAD_TEMP_GRACE_MS, dryRun: false}) : {count: 0, bytes: 0n}
  const inventory = await readInventory(backend, keys)
  const timeline = await readCurrentTimeline(layout)
  const timelines = (await listDir(layout.root)).map(parseTimelineDirName).filter((t): t is bigint => t !== undefined).sort((a, b) => (a < b ? -1 : 1))
  // Everything that could refuse is decided before the first byte moves.
  const existing = (await readRepoFacts(backend, inventory)) ?? (await factsOfOlderRepository(backend, inventory, options.node))
  const nodeFacts = await readNodeFacts(layout, timelines, timeline, options)
  let facts = mergeRepoFacts(existing, nodeFacts, options.node, backend.describe(keys.facts))
  const conflict = (key: string, what: string) =>
    refused(`${backend.describe(key)}: ${what}; ${existing ? `the repository's copy is the replica set's (${writerOf(existing)})` : 'the repository holds another copy'}: two nodes write this namespace; nothing was pushed`, {
      code: 'repo.content-conflict',
      hint: 'push each replica set to its own namespace (--cluster NAME), and only the current primary of a set',
    })
  /**
   * Whether the repository holds exactly these bytes under `key`: same size
   * and same CRC. Listed with the same size but another CRC is a conflict;
   * another size is absent (for a chunk of a backup not yet listed) or a
   * conflict (`strict`).
   */
  const present = async (key: string, size: bigint, checksum: number, kind: StoredKind, strict: boolean): Promise<boolean> => {
    const listed = inventory.objects.get(key)
    if (listed === undefined) return false
    const stored = listed.size === size ? await storedChecksum(backend, key, listed.size, kind) : null
    if (stored === checksum) return true
    // A copy that fails its own CRC is damage, not another node's data: it is stored again.
    if (!strict || !(await storedIntact(backend, key, listed.size))) return false
    throw conflict(key, stored === null ? `holds ${listed.size} bytes, this node's ${size}` : `holds CRC ${hex32(stored)}, this node's copy ${hex32(checksum)}`)
  }
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
    facts: {segment_bytes: null, rdb_release: null, current_timeline: timeline},
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
  // A local file is offered open to a store that can copy it in the kernel; every byte stored is checked either way.
  const uploadFile = async (key: string, file: string, expected: Expected, checksum: number) => {
    signal?.throwIfAborted()
    const {handle, size} = await openRegular(file)
    try {
      // Refused before a byte moves: a store's kernel copy takes the whole file, whatever its size.
      if (BigInt(size) !== expected.size) throw new FormatError(`holds ${size} bytes, expected ${expected.size}`, file)
      const checked = (fd: number) => checkedStream(reads.of(fd, file), expected, file)
      const localSource = backend.capabilities.kernelCopy ? {fd: handle.fd, check: (stored: number) => drain(checked(stored))} : undefined
      await backend.put(key, () => checked(handle.fd), {size: expected.size, checksum, localSource})
    } finally {
      await handle.close()
    }
    counted(expected)
  }

  // First every check, in parallel and before anything is uploaded: a conflict refuses the whole push.
  const backupsToPush: Array<{t: bigint; dir: string; file: string; bytes: Uint8Array; manifest: BasebackupManifest; manifestKey: string}> = []
  const manifestChecks: Array<() => Promise<void>> = []
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
      const backup = {t, dir, file, bytes, manifest, manifestKey}
      manifestChecks.push(async () => {
        // A backup of the same name with other bytes is another node's: refused, never overwritten.
        if (await present(manifestKey, BigInt(bytes.length), sealedChecksum(bytes), 'sealed', true)) report.backups_present++
        else backupsToPush.push(backup)
      })
    }
  }

  type WalDecision = {t: bigint; segment: WalSegmentFile; key: string; checksum: number; same: boolean; current: boolean}
  const walDecisions: WalDecision[] = []
  const walChecks: Array<() => Promise<void>> = []
  for (const t of timelines) {
    const segments = await listWalSegments(layout, t)
    // The highest segment of the current timeline is the one RedDB appends to: not sealed yet.
    const current = t === timeline ? segments.at(-1) : undefined
    const sealed = current !== undefined && !options.includeCurrent ? segments.slice(0, -1) : segments
    for (const segment of sealed) {
      walChecks.push(async () => {
        const key = keys.wal(t, segment.index)
        // The trailer CRC RedDB wrote: what the stored copy must hold, and what the upload is checked against.
        const checksum = await trailerChecksum(segment.path, segment.bytes)
        const early = facts.live_segment
        // Only the copy of the live segment this namespace recorded pushing early may give way to its grown self.
        const earlyCopy = early !== null && early.timeline === t && early.index === segment.index && inventory.objects.get(key)?.size === early.bytes && (await storedChecksum(backend, key, early.bytes, 'sealed')) === early.checksum
        const same = earlyCopy ? early.bytes === segment.bytes && early.checksum === checksum : await present(key, segment.bytes, checksum, 'sealed', true)
        walDecisions.push({t, segment, key, checksum, same, current: segment === current})
      })
    }
  }
  await runPool([...manifestChecks, ...walChecks], options.jobs)

  /**
   * The pieces already stored in packs, to name instead of storing again: those of every backup listed (its
   * manifest and index read). An index that cannot be read only shares less.
   */
  let lookup: PieceLookup | undefined
  /** The packs listed: those of the inventory, then of each listing again before an index is written. */
  let listed: ReadonlyMap<string, bigint> = new Map([...inventory.objects].filter(([key]) => key.startsWith(keys.packsPrefix)).map(([key, object]) => [key, object.size]))
  const storedPieces = async () => {
    const found = new PieceLookup()
    for (const entry of inventory.manifests) {
      const key = keys.pieceIndex(entry.key)
      const listedIndex = inventory.objects.get(key)
      if (listedIndex === undefined) continue
      try {
        found.add(await readPieceIndex(backend, key, listedIndex))
      } catch (error) {
        if (!(error instanceof FormatError) && !(error instanceof RedreplError && error.kind === 'not-found')) throw error
      }
    }
    return found
  }
  for (const {t, dir, file, bytes, manifest, manifestKey} of backupsToPush.sort((a, b) => (a.file < b.file ? -1 : 1))) {
    // Every chunk's path is checked before a byte moves: one outside basebackup/ refuses the backup.
    const chunkFiles: string[] = []
    for (const chunk of manifest.chunks) {
      chunkFiles.push(
        await resolveContained(dir, chunk.relative_path).catch((error) => {
          throw error instanceof FormatError ? error.inFile(file) : error
        }),
      )
    }
    const snapshot = async function* () {
      for (const [k, chunk] of manifest.chunks.entries()) {
        const {handle, size} = await openRegular(chunkFiles[k])
        try {
          if (BigInt(size) !== chunk.bytes) throw new FormatError(`holds ${size} bytes, expected ${chunk.bytes}`, chunkFiles[k])
          yield* checkedStream(reads.of(handle.fd, chunkFiles[k]), {kind: 'chunk', size: chunk.bytes, checksum: chunk.checksum}, chunkFiles[k])
        } finally {
          await handle.close()
        }
      }
    }
    lookup ??= await storedPieces()
    let piecesUploaded = 0
    const storeOnce = async () => {
      const stored = await storePieces(backend, keys, snapshot(), {
        jobs: options.jobs,
        signal,
        lookup: lookup!,
        packListed: (key) => listed.get(key),
        onStored: (_, size) => {
          report.objects_uploaded++
          report.uploaded_bytes += BigInt(size)
          options.onProgress?.(report.uploaded_bytes)
        },
      })
      piecesUploaded += stored.pieces_uploaded
      return stored.index
    }
    let index = await storeOnce()
    await backend.flush()
    // A pack this push found already stored may have been collected since (an expire that saw it named by no index):
    // listed again just before the index names it, and its pieces stored again when gone.
    for (let attempt = 0; ; attempt++) {
      listed = await listPacks(backend, keys)
      const gone = index.pieces.filter((ref) => !listed.has(pieceKey(keys, ref)))
      if (gone.length === 0) break
      if (attempt === 2) throw new RedreplError('failure', `${backend.describe(pieceKey(keys, gone[0]))}: pack of ${manifestKey} vanished from the repository again after it was stored; nothing names it yet, and the next push stores it again`)
      index = await storeOnce()
      await backend.flush()
    }
    crashPoint('repo-push:before-index')
    await upload(keys.pieceIndex(manifestKey), encodePieceIndex(index), file)
    // Last, once every piece and the index are there for good: from this moment the repository lists the backup.
    await backend.flush()
    crashPoint('repo-push:before-manifest')
    await upload(manifestKey, bytes, file)
    report.backups_pushed.push({key: manifestKey, checkpoint_lsn: manifest.checkpoint_lsn, timeline: t, chunks_uploaded: 0, pieces: index.pieces.length, pieces_uploaded: piecesUploaded})
    // The next backup of this run shares this one's pieces as it would the stored ones'.
    lookup.add(index)
  }

  const walTasks: Array<() => Promise<void>> = []
  let live: RepoFacts['live_segment'] = null
  for (const {t, segment, key, checksum, same, current} of walDecisions) {
    if (current) live = {timeline: t, index: segment.index, bytes: segment.bytes, checksum}
    if (same) {
      report.wal_segments_present++
      continue
    }
    walTasks.push(async () => {
      await uploadFile(key, segment.path, {kind: 'sealed', size: segment.bytes}, checksum)
      report.wal_segments_pushed++
    })
  }
  if (live !== null && (facts.live_segment?.timeline !== live.timeline || facts.live_segment.index !== live.index || facts.live_segment.checksum !== live.checksum)) {
    // Recorded before the copy is stored, so a push cut short still knows that copy may be replaced by the grown segment.
    facts = {...facts, live_segment: live}
    await writeRepoFacts(backend, keys, facts)
  }
  await runPool(walTasks, options.jobs)
  await backend.flush()

  // The history last: a restore reads it to know the timelines, whose WAL is then already there.
  const history = await readArtifactBytesIfExists(layout.historyPath, timelineHistoryCodec)
  if (history !== undefined) {
    decodeFile(layout.historyPath, history, timelineHistoryCodec, {nowMs: 0n})
    const key = keys.history
    const listed = inventory.objects.get(key)
    // The merged facts hold the longer history; the node's is written only when it is that one.
    const nodeIsLonger = nodeFacts.history.length >= facts.history.length
    if (nodeIsLonger && (listed?.size !== BigInt(history.length) || !(await sameBytes(backend, key, history)))) {
      await upload(key, history, layout.historyPath)
      report.history_pushed = true
    }
  }
  await backend.flush()
  // Last: the facts describe objects that are all there now.
  facts = {...facts, live_segment: live}
  await writeRepoFacts(backend, keys, facts)
  report.facts = {segment_bytes: facts.segment_bytes, rdb_release: facts.rdb_release, current_timeline: facts.history.at(-1)?.timeline ?? 1n}
  return report
}

/**
 * What the node's files pin (plan/repo-facts.ts): the segment size from
 * its WAL headers (every timeline's, which must agree), the release its
 * database shows, and its timeline history. Headers that disagree with
 * their names or each other are refused: a size taken from them would be a
 * guess.
 */
async function readNodeFacts(layout: Layout, timelines: bigint[], timeline: bigint, options: RepoPushOptions): Promise<NodeFacts> {
  let size: {bytes: bigint; from: {timeline: bigint; index: bigint}} | null = null
  for (const t of timelines) {
    const state = await readWalState(layout, t)
    requireSoundWal(state)
    const s = state.geometry.segment_bytes
    if (s === null) continue
    const from = {timeline: t, index: state.geometry.segment_bytes_from_index!}
    if (size !== null && size.bytes !== s) {
      throw new RedreplError('corrupt', `${state.dir}: its WAL headers say segments of ${s} bytes (segment ${from.index}), timeline ${size.from.timeline}'s say ${size.bytes} (segment ${size.from.index})`, {code: 'wal.segment-size'})
    }
    size ??= {bytes: s, from}
  }
  const history = await readHistory(layout)
  return {
    segment_bytes: size?.bytes ?? null,
    segment_bytes_from: size?.from ?? null,
    rdb_release: (await releaseOfDatabaseFile(options.dataPath)) ?? null,
    history: history?.entries ?? [],
    writer: {host: os.hostname(), data_path: options.dataPath, timeline, unix_ms: options.nowMs},
  }
}

/**
 * A namespace an older redrepl pushed to has no facts object, but its
 * timeline history pins the replica set all the same: it stands in for
 * the facts, so a node of another set is refused there too.
 */
export async function factsOfOlderRepository(backend: RepoBackend, inventory: RepoInventory, namespace: string): Promise<RepoFacts | null> {
  if (inventory.history === null) return null
  const name = backend.describe(inventory.keys.history)
  const bytes = await collect(checkedStream(backend.get(inventory.keys.history), {kind: 'sealed', size: inventory.history.size}, name), 16n * 1024n * 1024n, name)
  const entries: TimelineEntry[] = decodeFile(name, bytes, timelineHistoryCodec, {nowMs: 0n}).entries
  return {
    namespace,
    segment_bytes: null,
    segment_bytes_from: null,
    rdb_release: null,
    history: entries,
    created_unix_ms: 0n,
    updated_unix_ms: 0n,
    last_writer: {host: 'unknown (an older redrepl)', data_path: 'unknown', timeline: entries.at(-1)?.timeline ?? 1n, unix_ms: 0n},
    live_segment: null,
  }
}

/** Whether a sealed object in the repository holds the CRC of its own bytes (read through once). */
async function storedIntact(backend: RepoBackend, key: string, size: bigint): Promise<boolean> {
  try {
    await drain(checkedStream(backend.get(key), {kind: 'sealed', size}, backend.describe(key)))
    return true
  } catch (error) {
    if (error instanceof FormatError) return false
    throw error
  }
}

/** The last 4 bytes of a file (its sealed CRC), read with a bound. */
export async function trailerChecksum(file: string, size: bigint): Promise<number> {
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
