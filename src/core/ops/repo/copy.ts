/**
 * `repo copy`: one namespace from one repository to another (a directory
 * to S3, one region to another) with push's guarantees. Every object is
 * checked against its CRC as it streams out of the source, and the copy
 * is stored only if it passes; what the target already holds is decided by
 * its bytes (size and CRC, a piece's SHA-256), never by its name alone. The
 * order is push's: each backup's pieces (or, stored by an older push, its
 * chunks), then its piece index, then its manifest, then the WAL, then the
 * history, then the facts, so a copy cut short leaves the target as a push
 * cut short would, and the next run copies only what is missing.
 */
import {crc32, hex32} from '../../codec/crc.js'
import {FormatError, interruption, refused} from '../../errors.js'
import type {RepoFacts} from '../../format/repo-facts.js'
import {timelineHistoryCodec} from '../../format/timeline-history.js'
import type {BasebackupManifest} from '../../model.js'
import {mergeRepoFacts, writerOf, type NodeFacts} from '../../plan/repo-facts.js'
import {DEAD_TEMP_GRACE_MS, type RepoBackend, type RepoObject, type TempSweep} from '../../repo/backend.js'
import {readRepoFacts, writeRepoFacts} from '../../repo/facts-store.js'
import {checkedStream, collect, sealedChecksum, type Expected} from '../../repo/integrity.js'
import {readInventory, readRepoManifestBytes, runPool, type RepoInventory} from '../../repo/inventory.js'
import {RepoKeys} from '../../repo/keys.js'
import {PACKS_IN_FLIGHT, pieceIndexDamage, pieceKey, readPack, readPiece, readPieceIndexBytes, storedPackMatches, storedPieceMatches} from '../../repo/pieces.js'
import type {PieceRef} from '../../format/piece-index.js'
import {storedChecksum, type StoredKind} from '../../repo/stored-crc.js'
import {drillRecordKey} from './drill.js'
import {factsOfOlderRepository} from './push.js'

export interface RepoCopyOptions {
  node: string
  /** Decide and report only: nothing is written to the target. */
  dryRun: boolean
  jobs: number
  nowMs: bigint
  onProgress?: (bytes: bigint) => void
  /** Stops the transfers at their next piece: no object half-stored, nothing more started. */
  signal?: AbortSignal
}

export interface RepoCopyReport {
  from: string
  to: string
  node: string
  dry_run: boolean
  /**
   * Backups whose manifest was copied (or, dry, would be), with what went with them: the chunks of one an
   * older push stored whole; for one stored as pieces, how many its index names and how many were not in the target yet.
   */
  backups_copied: Array<{key: string; timeline: bigint; checkpoint_lsn: bigint; chunks_copied: number; pieces: number; pieces_copied: number}>
  backups_present: number
  wal_segments_copied: number
  wal_segments_present: number
  history_copied: boolean
  /** Whether the target's facts object was written (the last write of a copy). */
  facts_written: boolean
  objects_copied: number
  copied_bytes: bigint
  /** Source objects not copied, and why: a push's or drill's own record of that repository, chunks or pieces no backup names. */
  skipped: Array<{key: string; reason: string}>
  /** Temps of dead writers removed from the target's namespace first. */
  dead_temps: TempSweep
}

const LARGEST_HISTORY_BYTES = 16n * 1024n * 1024n

/** What one source key is, for the copy: what it holds and how its bytes are checked. */
type Planned =
  | {kind: 'chunk'; key: string; size: bigint; checksum: number}
  | {kind: 'sealed'; key: string; size: bigint; checksum: number; bytes?: Uint8Array}

/** A backup's piece index as first read from the source: what it must still be when copied. */
interface IndexSeen {
  key: string
  object: RepoObject
  checksum: number
  pieces: number
}

export async function copyRepository(from: RepoBackend, to: RepoBackend, options: RepoCopyOptions): Promise<RepoCopyReport> {
  try {
    return await copyOnce(from, to, options)
  } catch (error) {
    if (options.signal?.aborted) throw interruption(options.signal, 'stopped the transfers in flight, none left half-stored; a backup is listed only once its manifest, copied last, is there, and the next copy carries on')
    throw error
  }
}

async function copyOnce(from: RepoBackend, to: RepoBackend, options: RepoCopyOptions): Promise<RepoCopyReport> {
  const {signal} = options
  const keys = new RepoKeys(options.node)
  // Temps a killed copy or push left in the target's namespace go first, as at push.
  const deadTemps = options.dryRun ? {count: 0, bytes: 0n} : to.capabilities.deadTempSweep ? await to.sweepDeadTemps(keys.prefix, {nowMs: options.nowMs, graceMs: DEAD_TEMP_GRACE_MS, dryRun: false}) : {count: 0, bytes: 0n}
  const source = await readInventory(from, keys)
  const target = await readInventory(to, keys)
  const report: RepoCopyReport = {
    from: from.location,
    to: to.location,
    node: options.node,
    dry_run: options.dryRun,
    backups_copied: [],
    backups_present: 0,
    wal_segments_copied: 0,
    wal_segments_present: 0,
    history_copied: false,
    facts_written: false,
    objects_copied: 0,
    copied_bytes: 0n,
    skipped: [],
    dead_temps: deadTemps,
  }

  // Everything that could refuse is decided before the first byte moves: the manifests (read whole, CRC checked), what every key is, the facts.
  const manifests: Array<{entry: RepoInventory['manifests'][number]; bytes: Uint8Array; manifest: BasebackupManifest; index: IndexSeen | null}> = []
  const referenced = new Set<string>()
  for (const entry of source.manifests) {
    const {bytes, manifest} = await readRepoManifestBytes(from, entry)
    // Stored as pieces exactly when its index is listed beside it: the index is read (CRC, format) and held against the listing now,
    // and only its size and CRC are kept, so memory does not grow with the backups; it is read again, and must be the same, when copied.
    const indexKey = keys.pieceIndex(entry.key)
    const listedIndex = source.objects.get(indexKey)
    let index: IndexSeen | null = null
    if (listedIndex === undefined) {
      for (const chunk of manifest.chunks) referenced.add(keys.chunk(manifest.timeline, chunk.relative_path))
    } else {
      const read = await readPieceIndexBytes(from, indexKey, listedIndex)
      const damage = pieceIndexDamage(from, keys, source.objects, indexKey, read.index, manifest)
      if (damage !== null) throw damage
      referenced.add(indexKey)
      for (const ref of read.index.pieces) referenced.add(pieceKey(keys, ref))
      index = {key: indexKey, object: listedIndex, checksum: sealedChecksum(read.bytes), pieces: read.index.pieces.length}
    }
    manifests.push({entry, bytes, manifest, index})
  }
  const unknown: string[] = []
  for (const key of source.objects.keys()) {
    const kind = keys.classify(key).kind
    if (kind !== 'other' || key === keys.facts || referenced.has(key)) continue
    if (key === keys.status || key === drillRecordKey(options.node)) report.skipped.push({key, reason: 'the record of that repository\'s own pushes and drills'})
    else if (inBasebackupArea(keys, key)) report.skipped.push({key, reason: 'no manifest names it (a push or copy cut short)'})
    else if (keys.isPiece(key) || keys.packOf(key) !== undefined) report.skipped.push({key, reason: 'no listed backup\'s piece index names it (a push or copy cut short, or left for expire)'})
    else unknown.push(key)
  }
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).map((key) => from.describe(key)).join(', ')
    throw refused(`${shown}${unknown.length > 3 ? ` and ${unknown.length - 3} more` : ''}: not an object this redrepl knows (a newer storage shape?); nothing was copied`, {
      code: 'repo.unknown-object',
      hint: 'copy with the redrepl release that wrote the source repository',
    })
  }

  const sourceFacts = (await readRepoFacts(from, source)) ?? (await factsOfOlderRepository(from, source, options.node))
  const targetFacts = (await readRepoFacts(to, target)) ?? (await factsOfOlderRepository(to, target, options.node))
  let facts: RepoFacts | null = null
  if (sourceFacts !== null) {
    const asNode: NodeFacts = {
      segment_bytes: sourceFacts.segment_bytes,
      segment_bytes_from: sourceFacts.segment_bytes_from,
      rdb_release: sourceFacts.rdb_release,
      history: sourceFacts.history,
      writer: sourceFacts.last_writer,
    }
    // The source's facts meet the target's as a pushing node's would: another replica set, or a history left behind, is refused.
    facts = {...mergeRepoFacts(targetFacts, asNode, options.node, to.describe(keys.facts)), live_segment: sourceFacts.live_segment}
  }
  const conflict = (key: string, what: string) =>
    refused(`${to.describe(key)}: ${what}; ${targetFacts ? `the target's copy is the replica set's (${writerOf(targetFacts)})` : 'the target holds another copy'}: the two repositories hold different data under one namespace; nothing more was copied`, {
      code: 'repo.content-conflict',
      hint: 'copy into another namespace or another repository',
    })

  /** As push decides: the target holds these bytes (size and CRC); other bytes are a conflict where `strict`, unless the target's copy fails its own CRC. */
  const present = async (key: string, size: bigint, checksum: number, kind: StoredKind, strict: boolean): Promise<boolean> => {
    const listed = target.objects.get(key)
    if (listed === undefined) return false
    const stored = listed.size === size ? await storedChecksum(to, key, listed.size, kind) : null
    if (stored === checksum) return true
    // Only the copy of the live segment the target recorded as pushed early gives way, and only to a longer one, as at push.
    const live = targetFacts?.live_segment
    if (live != null && key === keys.wal(live.timeline, live.index) && listed.size === live.bytes && size > live.bytes && (await storedChecksum(to, key, listed.size, kind)) === live.checksum) return false
    if (!strict || !(await sealedIntact(to, key, listed.size))) return false
    throw conflict(key, stored === null ? `holds ${listed.size} bytes, the source's ${size}` : `holds CRC ${hex32(stored)}, the source's copy ${hex32(checksum)}`)
  }

  const counted = (size: bigint) => {
    report.objects_copied++
    report.copied_bytes += size
    options.onProgress?.(report.copied_bytes)
  }
  const transfer = async (object: Planned) => {
    signal?.throwIfAborted()
    if (options.dryRun) return counted(object.size)
    const expected: Expected = object.kind === 'chunk' ? {kind: 'chunk', size: object.size, checksum: object.checksum} : {kind: 'sealed', size: object.size}
    const name = from.describe(object.key)
    const held = object.kind === 'sealed' ? object.bytes : undefined
    await to.put(object.key, () => checkedStream(held !== undefined ? once(held) : stopping(from.get(object.key), signal), expected, name), {size: object.size, checksum: object.checksum})
    // The target's own word on what it now holds: the CRC it keeps, or the stored object's trailer.
    const stored = await storedChecksum(to, object.key, object.size, object.kind)
    if (stored !== object.checksum) throw new FormatError(`stored with CRC ${hex32(stored)}, not the source's ${hex32(object.checksum)}`, to.describe(object.key))
    counted(object.size)
  }

  /** A piece copied or found whole in the target by this run: it is not looked at again for the next backup that names it. */
  const settled = new Set<string>()
  /** A piece's bytes, checked against its address as they come out of the source, stored, then read back from the target and checked again. */
  const transferPiece = async (ref: PieceRef) => {
    signal?.throwIfAborted()
    const key = keys.piece(ref.sha256)
    if (options.dryRun) return counted(BigInt(ref.bytes))
    // Whole in memory (4 MiB at most, per transfer in flight): readPiece hands no byte on before the SHA-256 of all of them matches.
    const bytes = await collect(stopping(readPiece(from, keys, ref), signal), BigInt(ref.bytes), from.describe(key))
    const checksum = crc32(bytes)
    await to.put(key, () => checkedStream(once(bytes), {kind: 'chunk', size: BigInt(bytes.length), checksum}, from.describe(key)), {size: BigInt(bytes.length), checksum})
    if (!(await storedPieceMatches(to, keys, ref))) throw new FormatError(`stored copy does not hold the piece named by its address (${ref.bytes} bytes, SHA-256 ${ref.sha256})`, to.describe(key))
    counted(BigInt(ref.bytes))
  }

  /** A pack, read whole and checked (its name, its CRC, every piece's digest), stored, then read back from the target and checked again. */
  const transferPack = async (sha256: string, size: bigint) => {
    signal?.throwIfAborted()
    const key = keys.pack(sha256)
    if (options.dryRun) return counted(size)
    const {bytes} = await readPack(from, keys, sha256, size)
    const checksum = crc32(bytes)
    await to.put(key, () => checkedStream(once(bytes), {kind: 'chunk', size, checksum}, from.describe(key)), {size, checksum})
    if (!(await storedPackMatches(to, keys, sha256, size))) throw new FormatError(`stored copy does not hold the pack named by its SHA-256 (${size} bytes)`, to.describe(key))
    counted(size)
  }

  // Backups: pieces or chunks first, in parallel; then a piece index; the manifest once they are all there for good.
  for (const {entry, bytes, manifest, index} of manifests) {
    if (await present(entry.key, BigInt(bytes.length), sealedChecksum(bytes), 'sealed', true)) {
      report.backups_present++
      continue
    }
    const tasks: Array<() => Promise<void>> = []
    /** Pack transfers, each holding a pack (16 MiB of pieces) while it is checked: two at most in flight, whatever --jobs. */
    const packTasks: Array<() => Promise<void>> = []
    let chunksCopied = 0
    let piecesCopied = 0
    let indexBytes: Uint8Array | null = null
    if (index !== null) {
      const read = await readPieceIndexBytes(from, index.key, index.object)
      if (sealedChecksum(read.bytes) !== index.checksum) throw new FormatError(`changed while the copy ran (CRC ${hex32(sealedChecksum(read.bytes))}, ${hex32(index.checksum)} when first read); nothing of this backup was copied`, from.describe(index.key))
      indexBytes = read.bytes
      for (const ref of read.index.pieces) {
        const key = pieceKey(keys, ref)
        if (settled.has(key)) continue
        settled.add(key)
        if (ref.pack !== undefined) {
          const sha256 = ref.pack.sha256
          packTasks.push(async () => {
            // A pack is copied whole: its name is the SHA-256 of its bytes, so a copy under it that hashes otherwise is damage, stored again.
            const size = source.objects.get(key)!.size
            if (target.objects.get(key)?.size === size && (await storedPackMatches(to, keys, sha256, size))) return
            await transferPack(sha256, size)
            piecesCopied++
          })
          continue
        }
        tasks.push(async () => {
          // Present only with the piece's own bytes: a name is an address, and a copy under it that hashes otherwise is damage, stored again.
          if (target.objects.get(key)?.size === BigInt(ref.bytes) && (await storedPieceMatches(to, keys, ref))) return
          await transferPiece(ref)
          piecesCopied++
        })
      }
    }
    for (const chunk of index === null ? manifest.chunks : []) {
      const key = keys.chunk(manifest.timeline, chunk.relative_path)
      const listed = source.objects.get(key)
      // A manifest whose chunk is gone from the source is a damaged backup: refused, never copied as if whole.
      if (listed === undefined || listed.size !== chunk.bytes) throw new FormatError(`names chunk ${chunk.relative_path} of ${chunk.bytes} bytes, which the source ${listed === undefined ? 'does not hold' : `holds with ${listed.size} bytes`}`, from.describe(entry.key))
      if (await present(key, chunk.bytes, chunk.checksum, 'chunk', false)) continue
      tasks.push(async () => {
        await transfer({kind: 'chunk', key, size: chunk.bytes, checksum: chunk.checksum})
        chunksCopied++
      })
    }
    await Promise.all([runPool(tasks, options.jobs), runPool(packTasks, Math.min(options.jobs, PACKS_IN_FLIGHT))])
    if (!options.dryRun) await to.flush()
    if (index !== null && indexBytes !== null && !(await present(index.key, index.object.size, index.checksum, 'sealed', false))) {
      // The index after every piece it names, as at push: no index in the target names a piece it lacks.
      await transfer({kind: 'sealed', key: index.key, size: index.object.size, checksum: index.checksum, bytes: indexBytes})
      if (!options.dryRun) await to.flush()
    }
    signal?.throwIfAborted()
    if (!options.dryRun) await to.put(entry.key, () => checkedStream(once(bytes), {kind: 'sealed', size: BigInt(bytes.length)}, from.describe(entry.key)), {size: BigInt(bytes.length), checksum: sealedChecksum(bytes)})
    counted(BigInt(bytes.length))
    report.backups_copied.push({key: entry.key, timeline: entry.timeline, checkpoint_lsn: entry.checkpoint_lsn, chunks_copied: chunksCopied, pieces: index?.pieces ?? 0, pieces_copied: piecesCopied})
  }

  // The WAL: the source's CRC as cheaply as its store tells it, then each copy checked in full on its way.
  const walTasks: Array<() => Promise<void>> = []
  const walChecks: Array<() => Promise<void>> = []
  for (const segment of source.wal) {
    walChecks.push(async () => {
      const checksum = await storedChecksum(from, segment.key, segment.object.size, 'sealed')
      if (await present(segment.key, segment.object.size, checksum, 'sealed', true)) {
        report.wal_segments_present++
        return
      }
      walTasks.push(async () => {
        await transfer({kind: 'sealed', key: segment.key, size: segment.object.size, checksum})
        report.wal_segments_copied++
      })
    })
  }
  await runPool(walChecks, options.jobs)
  await runPool(walTasks, options.jobs)
  if (!options.dryRun) await to.flush()

  // The history after the WAL it describes, only when the source's is the one the merged facts hold.
  if (source.history !== null) {
    const name = from.describe(keys.history)
    const bytes = await collect(checkedStream(from.get(keys.history), {kind: 'sealed', size: source.history.size}, name), LARGEST_HISTORY_BYTES, name)
    try {
      timelineHistoryCodec.decode(bytes, {nowMs: 0n})
    } catch (error) {
      throw error instanceof FormatError ? error.inFile(name) : error
    }
    const sourceIsLonger = (sourceFacts?.history.length ?? 0) >= (facts?.history.length ?? 0)
    const listed = target.objects.get(keys.history)
    const same = listed !== undefined && listed.size === BigInt(bytes.length) && (await storedChecksum(to, keys.history, listed.size, 'sealed')) === sealedChecksum(bytes)
    if (sourceIsLonger && !same) {
      signal?.throwIfAborted()
      if (!options.dryRun) {
        await to.put(keys.history, () => checkedStream(once(bytes), {kind: 'sealed', size: BigInt(bytes.length)}, name), {size: BigInt(bytes.length), checksum: sealedChecksum(bytes)})
        await to.flush()
      }
      counted(BigInt(bytes.length))
      report.history_copied = true
    }
  }

  // Last: the facts describe objects that are all there now.
  if (facts !== null && !options.dryRun) {
    signal?.throwIfAborted()
    await writeRepoFacts(to, keys, facts)
    report.facts_written = true
  }
  return report
}

/** Chunks live under a timeline's basebackup/ area, beside the manifests that name them. */
function inBasebackupArea(keys: RepoKeys, key: string): boolean {
  const rest = key.slice(keys.prefix.length).split('/')
  return key.startsWith(keys.prefix) && rest.length >= 3 && /^timeline-[0-9]{20}$/.test(rest[0]) && rest[1] === 'basebackup'
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** The source's pieces, stopping at the next one once the signal comes. */
async function* stopping(pieces: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) {
    signal?.throwIfAborted()
    yield piece
  }
}

/** Whether a sealed object holds the CRC of its own bytes (read through once). */
async function sealedIntact(backend: RepoBackend, key: string, size: bigint): Promise<boolean> {
  try {
    for await (const _ of checkedStream(backend.get(key), {kind: 'sealed', size}, backend.describe(key)));
    return true
  } catch (error) {
    if (error instanceof FormatError) return false
    throw error
  }
}
