import {crc32Combine, hex32} from '../../codec/crc.js'
import {FormatError, RedreplError} from '../../errors.js'
import {finding, type Finding} from '../../findings.js'
import {MAX_SEGMENT_BYTES, MAX_TIMELINE_HISTORY_BYTES} from '../../format/size-caps.js'
import {implausibleManifest} from '../../format/basebackup-manifest.js'
import {snapshotOpenProblem} from '../../format/embedded-rdb.js'
import {decodeWalSegmentHeader, effectiveSegmentBytes, WAL_SEGMENT_HEADER_BYTES} from '../../format/wal-segment.js'
import type {BasebackupManifest} from '../../model.js'
import type {RepoBackend} from '../../repo/backend.js'
import {checkedStream, type Expected} from '../../repo/integrity.js'
import type {EachRepository} from './set.js'
import {readInventory, readRepoManifest, runPool, type RepoInventory} from '../../repo/inventory.js'
import {RepoKeys} from '../../repo/keys.js'
import {backupStorage, pieceObject, readPack, readPiece, type BackupStorage} from '../../repo/pieces.js'
import type {PieceRef} from '../../format/piece-index.js'
import {isObjectDamage} from './list.js'

/** What `repo verify` prints: one repository's report, or every configured one's. */
export type RepoVerifyDocument = RepoVerifyReport | EachRepository<RepoVerifyReport>

export interface RepoVerifyReport {
  repository: string
  node: string
  quick: boolean
  ok: boolean
  backups: number
  wal_segments: number
  objects_read: number
  read_bytes: bigint
  /**
   * repo.object-damaged for each object that is missing, of the wrong size,
   * or fails its check; repo.backup-unusable for a backup whose objects are
   * intact but that would not restore (a manifest no writer makes, a
   * snapshot RedDB would not open) or not catch up (WAL missing from its
   * checkpoint's segment on). data.key: the object's key.
   */
  findings: Finding[]
}

/**
 * `repo verify`: every backup's manifest (CRC, decode, name, sane for its
 * size), its piece index and the size of every piece it names in the
 * listing (or, stored whole by an older push, of every chunk), and the WAL
 * from its checkpoint's segment on archived without a gap; unless `quick`,
 * every piece (once, however many backups share it) checked against its
 * SHA-256 address, and every chunk, WAL segment and the history against its
 * CRC; a damaged piece is one finding naming every backup that needs it;
 * and each snapshot by RedDB's open rules as it streams past (its
 * first bytes kept, never the whole). Collects every problem instead of
 * stopping at the first: an object gone since the listing is a finding on
 * it, not the end of the run. Reads only.
 */
export async function verifyRepository(backend: RepoBackend, options: {node: string; quick: boolean; jobs: number; segmentBytes?: bigint}): Promise<RepoVerifyReport> {
  const keys = new RepoKeys(options.node)
  const inventory = await readInventory(backend, keys)
  const report: RepoVerifyReport = {
    repository: backend.location,
    node: options.node,
    quick: options.quick === true,
    ok: true,
    backups: inventory.manifests.length,
    wal_segments: inventory.wal.length,
    objects_read: 0,
    read_bytes: 0n,
    findings: [],
  }
  const problem = (key: string, text: string) => report.findings.push(finding('repo.object-damaged', backend.describe(key), text, {key}))
  const unusable = (key: string, text: string) => report.findings.push(finding('repo.backup-unusable', backend.describe(key), text, {key}))
  const tasks: Array<() => Promise<void>> = []
  /** Reads one object against what is expected of it; false when it is damaged (and reported). */
  const check = async (key: string, expected: Expected, onPiece?: (piece: Uint8Array) => void): Promise<boolean> => {
    try {
      for await (const piece of checkedStream(backend.get(key), expected, backend.describe(key))) {
        onPiece?.(piece)
        report.read_bytes += BigInt(piece.length)
      }
      report.objects_read++
      return true
    } catch (error) {
      if (!(error instanceof RedreplError) || error.kind === 'failure' || error.kind === 'refused') throw error
      problem(key, error instanceof FormatError ? error.problem : error.message)
      return false
    }
  }
  const read = (key: string, expected: Expected) => tasks.push(async () => void (await check(key, expected)))
  type Snapshot = {key: string; manifest: BasebackupManifest; head: Uint8Array; intact: boolean}
  const snapshots: Snapshot[] = []
  /** The namespace's pieces the indexes name: what is wrong with each (null: nothing found), who needs it, and the snapshot heads it starts. */
  const pieces = new Map<string, {problem: string | null; needed_by: Snapshot[]; heads: Uint8Array[]; read: number}>()
  /** Each pack the indexes name: what is wrong with it (null: nothing found), who needs it, and the pieces they name in it (with the snapshot head a piece starts). */
  const packs = new Map<string, {problem: string | null; needed_by: Snapshot[]; refs: Map<number, {ref: PieceRef; heads: Uint8Array[]}>}>()
  for (const entry of inventory.manifests) {
    let manifest
    try {
      manifest = await readRepoManifest(backend, entry)
      report.objects_read++
    } catch (error) {
      // Vanished since the listing, or damaged: a finding on that backup, and the run goes on.
      if (!isObjectDamage(error)) throw error
      problem(entry.key, error instanceof FormatError ? error.problem : error.message)
      continue
    }
    const implausible = implausibleManifest(manifest)
    if (implausible !== null) {
      unusable(entry.key, implausible)
      continue
    }
    let combined = 0
    for (const chunk of manifest.chunks) combined = crc32Combine(combined, chunk.checksum, chunk.bytes)
    if (combined !== manifest.snapshot_checksum) unusable(entry.key, `its chunks' CRCs combine to ${hex32(combined)}, not the snapshot CRC ${hex32(manifest.snapshot_checksum)} it records`)
    const snapshot = {key: entry.key, manifest, head: new Uint8Array(Number(manifest.snapshot_bytes < 4n ? manifest.snapshot_bytes : 4n)), intact: true}
    snapshots.push(snapshot)
    let storage: BackupStorage
    try {
      storage = await backupStorage(backend, keys, inventory.objects, entry.key)
    } catch (error) {
      if (!isObjectDamage(error)) throw error
      problem(keys.pieceIndex(entry.key), error instanceof FormatError ? error.problem : error.message)
      snapshot.intact = false
      continue
    }
    if (storage.kind === 'pieces') {
      report.objects_read++
      if (storage.index.snapshot_bytes !== manifest.snapshot_bytes) {
        problem(storage.key, `names ${storage.index.snapshot_bytes} bytes of pieces, the manifest's snapshot holds ${manifest.snapshot_bytes}`)
        snapshot.intact = false
        continue
      }
      for (const [i, ref] of storage.index.pieces.entries()) {
        if (ref.pack !== undefined) {
          const {key, end} = pieceObject(keys, ref)
          let pack = packs.get(key)
          if (pack === undefined) {
            const listed = inventory.objects.get(key)
            pack = {problem: listed === undefined ? 'pack is missing' : null, needed_by: [], refs: new Map()}
            packs.set(key, pack)
            const checked = pack
            const sha256 = ref.pack.sha256
            if (listed !== undefined && !options.quick) {
              // Each pack read once, however many backups name its pieces: its name, CRC and every piece's digest, then what the indexes say of it.
              tasks.push(async () => {
                if (checked.problem !== null) return
                try {
                  const {bytes, entries} = await readPack(backend, keys, sha256, listed.size)
                  report.read_bytes += BigInt(bytes.length)
                  report.objects_read++
                  const at = new Map(entries.map((e) => [e.offset, e]))
                  for (const {ref: named, heads} of checked.refs.values()) {
                    const entry = at.get(named.pack!.offset)
                    if (entry === undefined || entry.bytes !== named.bytes || entry.sha256 !== named.sha256) {
                      checked.problem = `holds no piece ${named.sha256} of ${named.bytes} bytes at offset ${named.pack!.offset}`
                      return
                    }
                    for (const head of heads) head.set(bytes.subarray(entry.offset, entry.offset + head.length))
                  }
                } catch (error) {
                  if (!(error instanceof RedreplError) || error.kind === 'failure' || error.kind === 'refused') throw error
                  checked.problem = error instanceof FormatError ? error.problem : error.message
                }
              })
            }
          }
          const listed = inventory.objects.get(key)
          if (pack.problem === null && listed !== undefined && listed.size < end) pack.problem = `holds ${listed.size} bytes, an index places a piece at ${ref.pack.offset}..${end}`
          const named = pack.refs.get(ref.pack.offset) ?? {ref, heads: []}
          pack.refs.set(ref.pack.offset, named)
          if (i === 0 && snapshot.head.length > 0) named.heads.push(snapshot.head)
          if (pack.needed_by.at(-1) !== snapshot) pack.needed_by.push(snapshot)
          continue
        }
        const key = keys.piece(ref.sha256)
        let piece = pieces.get(key)
        if (piece === undefined) {
          const listed = inventory.objects.get(key)
          piece = {problem: listed === undefined ? 'missing' : listed.size !== BigInt(ref.bytes) ? `holds ${listed.size} bytes, the piece it is named for ${ref.bytes}` : null, needed_by: [], heads: [], read: 0}
          pieces.set(key, piece)
          const checked = piece
          if (checked.problem === null && !options.quick) {
            // Each piece read once, however many backups name it; the snapshot heads it starts are kept as it passes.
            tasks.push(async () => {
              try {
                for await (const bytes of readPiece(backend, keys, ref)) {
                  if (checked.heads.length > 0 && checked.read < 4) for (const head of checked.heads) head.set(bytes.subarray(0, head.length - checked.read), checked.read)
                  checked.read += bytes.length
                  report.read_bytes += BigInt(bytes.length)
                }
                report.objects_read++
              } catch (error) {
                if (!(error instanceof RedreplError) || error.kind === 'failure' || error.kind === 'refused') throw error
                checked.problem = error instanceof FormatError ? error.problem : error.message
              }
            })
          }
        }
        piece.needed_by.push(snapshot)
        if (i === 0 && snapshot.head.length > 0) piece.heads.push(snapshot.head)
      }
      continue
    }
    for (const chunk of manifest.chunks) {
      const key = keys.chunk(entry.timeline, chunk.relative_path)
      const listed = inventory.objects.get(key)
      snapshot.intact &&= listed?.size === chunk.bytes
      if (listed === undefined) problem(key, `chunk ${chunk.ordinal} of ${entry.key} is missing`)
      else if (listed.size !== chunk.bytes) problem(key, `chunk ${chunk.ordinal} holds ${listed.size} bytes, the manifest says ${chunk.bytes}`)
      else if (!options.quick) {
        // (Whole chunk objects, as older pushes stored them.) The snapshot's first bytes, for RedDB's open rules, kept as the chunks that hold them stream past.
        let at = chunk.snapshot_offset
        const keepHead = (piece: Uint8Array) => {
          if (at < BigInt(snapshot.head.length)) snapshot.head.set(piece.subarray(0, snapshot.head.length - Number(at)), Number(at))
          at += BigInt(piece.length)
        }
        tasks.push(async () => {
          if (!(await check(key, {kind: 'chunk', size: chunk.bytes, checksum: chunk.checksum}, chunk.snapshot_offset < 4n ? keepHead : undefined))) snapshot.intact = false
        })
      }
    }
  }
  // A size past what the kind can hold is damage the listing shows, found without a download (and never downloaded).
  const sealed = (key: string, size: bigint, limit: number, kind: string) => {
    if (size > BigInt(limit)) problem(key, `listed at ${size} bytes, more than any ${kind} can hold (${limit})`)
    else if (!options.quick) read(key, {kind: 'sealed', size})
  }
  for (const segment of inventory.wal) sealed(segment.key, segment.object.size, MAX_SEGMENT_BYTES, 'WAL segment')
  if (inventory.history) sealed(keys.history, inventory.history.size, MAX_TIMELINE_HISTORY_BYTES, 'timeline history')
  await runPool(tasks, options.jobs)
  for (const [key, pack] of packs) {
    if (pack.problem === null) continue
    // One finding per pack, naming every backup that cannot be restored without it.
    problem(key, `${pack.problem}; needed by ${[...new Set(pack.needed_by.map((s) => s.key))].join(', ')}`)
    for (const snapshot of pack.needed_by) snapshot.intact = false
  }
  for (const [key, piece] of pieces) {
    if (piece.problem === null) continue
    // One finding per piece, naming every backup that cannot be restored without it.
    const needers = [...new Set(piece.needed_by.map((s) => s.key))]
    problem(key, `${piece.problem === 'missing' ? 'piece is missing' : piece.problem}; needed by ${needers.join(', ')}`)
    for (const snapshot of piece.needed_by) snapshot.intact = false
  }
  const segmentBytes = effectiveSegmentBytes((await statedSegmentBytes(backend, inventory)) ?? options.segmentBytes ?? 0n)
  for (const {key, manifest} of snapshots) {
    const needed = manifest.checkpoint_lsn / segmentBytes
    const missing = firstMissingAfter(inventory.wal.filter((w) => w.timeline === manifest.timeline).map((w) => w.index), needed)
    if (missing !== null) {
      unusable(key, `segment ${missing} of timeline ${manifest.timeline} is not archived, though later ones are: the WAL from its checkpoint ${manifest.checkpoint_lsn} (segment ${needed} of ${segmentBytes} bytes) has a gap, so a node restored from it could not catch up`)
    }
  }
  if (!options.quick) {
    for (const {key, manifest, head, intact} of snapshots) {
      const refusal = intact ? snapshotOpenProblem(head, manifest.snapshot_bytes) : null
      if (refusal !== null) unusable(key, refusal)
    }
  }
  report.findings.sort((a, b) => (a.data.key! < b.data.key! ? -1 : a.data.key! > b.data.key! ? 1 : 0))
  report.ok = report.findings.length === 0
  return report
}

/**
 * The first segment missing between the one holding a checkpoint and the
 * newest archived, or null: a node restored from the backup replays the
 * archived WAL from that segment on, so a hole there loses writes. No
 * archived segment at or past it (the backup is newer than the archive)
 * loses nothing.
 */
export function firstMissingAfter(indexes: bigint[], needed: bigint): bigint | null {
  const after = indexes.filter((index) => index >= needed).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  let expected = needed
  for (const index of after) {
    if (index !== expected) return expected
    expected++
  }
  return null
}

/**
 * The segment size S the archived WAL states (segment i starts at LSN
 * i × S, §5): from the header of the newest archived segment past 0, of
 * which only the first bytes are downloaded. Undefined when no segment
 * past 0 is archived, or its header does not say.
 */
async function statedSegmentBytes(backend: RepoBackend, inventory: RepoInventory): Promise<bigint | undefined> {
  const segment = [...inventory.wal].reverse().find((w) => w.index > 0n)
  if (segment === undefined) return undefined
  let head = new Uint8Array(0)
  try {
    for await (const piece of backend.get(segment.key)) {
      head = Buffer.concat([head, piece.subarray(0, WAL_SEGMENT_HEADER_BYTES - head.length)])
      if (head.length >= WAL_SEGMENT_HEADER_BYTES) break
    }
    const header = decodeWalSegmentHeader(head)
    return header.segment_index === segment.index && header.start_lsn % segment.index === 0n ? header.start_lsn / segment.index : undefined
  } catch (error) {
    // Gone or damaged: the full read reports it; the flag's size stands meanwhile.
    if (isObjectDamage(error)) return undefined
    throw error
  }
}
