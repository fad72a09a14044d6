import path from 'node:path'

import {FormatError, RedreplError} from '../../errors.js'
import {finding, isProblem, type Finding, type FindingCode, type Severity} from '../../findings.js'
import type {ArtifactCodec} from '../../format/artifact.js'
import {basebackupManifestCodec, implausibleManifest} from '../../format/basebackup-manifest.js'
import {snapshotOpenProblem} from '../../format/embedded-rdb.js'
import {rebootstrapMarkerCodec} from '../../format/rebootstrap-marker.js'
import {checkRelayManifestConsistency, relayManifestCodec, relaySegmentRefProblems} from '../../format/relay-manifest.js'
import {relaySegmentCodec} from '../../format/relay-segment.js'
import {legacySlotStoreCodec} from '../../format/slot-catalog-legacy.js'
import {slotCatalogCodec} from '../../format/slot-catalog.js'
import {currentTimeline, timelineHistoryCodec} from '../../format/timeline-history.js'
import {MAX_ARTIFACT_BYTES} from '../../format/size-caps.js'
import {WAL_SEGMENT_HEADER_BYTES, walSegmentCodec} from '../../format/wal-segment.js'
import {type Dirent, lstat, realpath, stat, statSync} from '../../fs/metadata.js'
import {isTempNameOf, isTemporaryName} from '../../fs/atomic.js'
import {ioError, isMissing} from '../../fs/io-error.js'
import {readPrefixIfExists, sizeOfRegularSyncIfExists} from '../../fs/open.js'
import {decodeFile, readArtifactBytesIfExists} from '../node/artifact-file.js'
import {createPace, type Pace} from '../../fs/pace.js'
import type {SlotCatalog} from '../../model.js'
import {dataPathArtifacts, Layout, parseTimelineDirName, sameRedDbPath, parseWalSegmentName, RELAY_MANIFEST_FILE, SLOT_CATALOG_FILE} from '../../layout.js'
import {checkChunkFiles, FileChunkSource, streamVerifiedChunks} from '../basebackup/chunks.js'
import {markerPendingPath} from '../basebackup/materialize.js'
import {databaseFindings} from '../node/embedded-findings.js'
import {releaseOfDatabaseFile, streamEmbeddedSnapshot, type OpenedEmbeddedFile} from '../node/embedded-file.js'
import {listDir, listDirEntries, readLegacySlotStore} from '../node/state.js'
import {openLayout} from '../node/open-layout.js'
import {relaySegmentProblems} from '../relay/append.js'
import {behindWalFindings, gapFindings, stallFinding} from '../wal/findings.js'
import {walSegmentState, walStateOf, type WalSegmentState, type WalState} from '../wal/state.js'

export interface VerifyReport {
  /** No finding is an error or a warning (notes, such as RedDB 1.12's own habits, do not count). */
  ok: boolean
  root_path: string
  artifacts_checked: number
  findings: Finding[]
}

export interface VerifyOptions {
  /**
   * Read every WAL segment, base-backup chunk and embedded database in full
   * (the default). Without it, of the WAL only each segment's size and a
   * few headers are read (see readQuickHeaders), chunks are only checked to
   * exist at their size and the databases are not read, so a monitoring run
   * stays quick on multi-GB nodes with 100,000 segments.
   */
  deep?: boolean
  /** Called with the bytes of base-backup chunks read so far, as a deep run reads them. */
  onProgress?: (doneBytes: bigint) => void
  /** Bytes per second read in full at most (`--max-rate`): only a deep run reads much. */
  maxRate?: number
}

/** A finding code an I/O refusal carries (fs/open.ts), else the general one. */
function unreadableCode(error: RedreplError): FindingCode {
  return error.code === 'artifact.not-regular' || error.code === 'artifact.too-large' ? error.code : 'artifact.unreadable'
}

/** An error from a system call (EIO on a read, EACCES on a stat): it carries the syscall's name. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string'
}

/** A message without its leading `<file>: `, since a finding names the file beside it. */
function withoutPath(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message
}

/**
 * A verifier that collects findings instead of stopping at the first: a
 * file that does not decode, cannot be read or is not a regular file
 * becomes a finding about that file, and the walk carries on.
 */
class Verifier {
  readonly findings: Finding[] = []
  checked = 0

  constructor(readonly root: string) {}

  report(file: string, code: FindingCode, message: string, severity?: Severity, data?: Finding['data']): void {
    this.findings.push(finding(code, path.relative(this.root, file) || file, message, data, severity))
  }

  /**
   * Runs one artifact's check; a redrepl error or a system call's error it
   * throws becomes a finding about `file`. Anything else is a bug and stops
   * the run.
   */
  async attempt<T>(file: string, check: () => Promise<T>, kind?: string): Promise<T | undefined> {
    try {
      return await check()
    } catch (thrown) {
      this.caught(file, thrown, kind)
      return undefined
    }
  }

  /** attempt for a synchronous check: no promise per file where a run makes 100,000 of them. */
  attemptSync<T>(file: string, check: () => T, kind?: string): T | undefined {
    try {
      return check()
    } catch (thrown) {
      this.caught(file, thrown, kind)
      return undefined
    }
  }

  private caught(file: string, thrown: unknown, kind: string | undefined): void {
    const error = isSystemError(thrown) ? ioError('read', file, thrown) : thrown
    if (!(error instanceof RedreplError)) throw error
    const data = kind === undefined ? undefined : {kind}
    if (error instanceof FormatError) this.report(error.file ?? file, 'artifact.corrupt', error.problem, undefined, data)
    else this.report(file, unreadableCode(error), withoutPath(error.message, file), undefined, data)
  }

  /** Decodes a file; a broken rule or a refused read becomes a finding and undefined. */
  async decode<M>(file: string, codec: ArtifactCodec<M>, nowMs: bigint): Promise<{model: M; bytes: Uint8Array} | undefined> {
    const {model, bytes} = await this.read(file, codec, nowMs)
    return model === undefined ? undefined : {model, bytes: bytes!}
  }

  /** decode, also giving the bytes of a file that was read but does not decode. */
  async read<M>(file: string, codec: ArtifactCodec<M>, nowMs: bigint): Promise<{model?: M; bytes?: Uint8Array}> {
    let bytes: Uint8Array | undefined
    const model = await this.attempt(
      file,
      async () => {
        bytes = await readArtifactBytesIfExists(file, codec)
        if (bytes === undefined) return undefined
        this.checked++
        return decodeFile(file, bytes, codec, {nowMs})
      },
      codec.kind,
    )
    return {model, bytes}
  }

  /** A directory's names; one that cannot be listed is a finding and no names. */
  async list(dir: string): Promise<string[]> {
    return (await this.attempt(dir, () => listDir(dir))) ?? []
  }

  /** list, with each entry's type as the listing gives it. */
  async listEntries(dir: string): Promise<Dirent[]> {
    return (await this.attempt(dir, () => listDirEntries(dir))) ?? []
  }
}


/**
 * Reads the WAL segments of a timeline, reports what is wrong with each,
 * and returns what their headers say for the checks of the WAL as a whole.
 * Deep, every segment is decoded in full (every record and the file's
 * CRC). Quick, every segment's type and size come from one stat, and only
 * the headers that the checks of the whole stand on are read (see
 * readQuickHeaders): a node with 100,000 segments is checked in about the
 * time it takes to list them. A header of any other segment that lies
 * about its place is left to a deep run.
 */
async function verifyWal(verifier: Verifier, layout: Layout, dir: string, timeline: bigint, deep: boolean): Promise<WalState> {
  const segments: WalSegmentState[] = []
  const header = new Uint8Array(WAL_SEGMENT_HEADER_BYTES)
  const firstFinding = verifier.findings.length
  const entries = await verifier.listEntries(dir)
  // Read in name order when every segment is read; quick, only the findings are put in order below.
  if (deep) entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const prefix = `${path.normalize(dir)}${path.sep}`
  for (const entry of entries) {
    const file = prefix + entry.name
    if (isTemporaryName(entry.name)) {
      verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
      continue
    }
    const index = parseWalSegmentName(entry.name)
    if (index === undefined) continue
    // A name listed as anything but a regular file is opened, so that what it is (a link, a FIFO) becomes its finding.
    const segment = deep ? await decodeWalSegment(verifier, file, index, timeline) : entry.isFile() ? statWalSegment(verifier, file, index) : readWalHeader(verifier, file, index, timeline, header, false)
    if (segment) segments.push(segment)
  }
  // Names may differ in width (RedDB pads to 20 digits, a stray file may not): index order, not name order.
  segments.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0))
  if (!deep) {
    readQuickHeaders(verifier, segments, timeline, header)
    // Findings in file order, in whatever order the files were listed and passes found them.
    verifier.findings.push(...verifier.findings.splice(firstFinding).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
  }
  return walStateOf(layout, timeline, segments)
}

/**
 * The segments whose headers a quick run reads: the oldest (where the WAL
 * on disk starts, which slots are checked against), the lowest above 0
 * (it states the segment size, which places every gap), and the newest
 * ones down to the first holding a record (what a stalled retention holds
 * below the head).
 */
function readQuickHeaders(verifier: Verifier, segments: WalSegmentState[], timeline: bigint, header: Uint8Array): void {
  const read = (i: number) => {
    const segment = segments[i]
    if (segment.header !== null || segment.error !== null) return segment
    const state = readWalHeader(verifier, segment.path, segment.index, timeline, header, true, true)
    // Undefined: the file went between its stat and this read; its finding, if it was refused, is reported.
    segments[i] = state ?? {...segment, error: new FormatError('was gone when its header was read', segment.path)}
    return segments[i]
  }
  if (segments.length === 0) return
  read(0)
  const aboveZero = segments.findIndex((s) => s.index > 0n)
  if (aboveZero >= 0) read(aboveZero)
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = read(i)
    if (segment.header !== null && segment.header.record_count > 0n) break
  }
}

/** A segment's type and size from one stat (see readQuickHeaders for which headers are read). */
function statWalSegment(verifier: Verifier, file: string, index: bigint): WalSegmentState | undefined {
  const size = verifier.attemptSync(file, () => sizeOfRegularSyncIfExists(file, MAX_ARTIFACT_BYTES['wal-segment'], walSegmentCodec.label), walSegmentCodec.kind)
  if (size === undefined) return quietWalSegmentState(file, index)
  verifier.checked++
  return {index, path: file, bytes: BigInt(size), header: null, header_crc32: null, error: null}
}

/** A segment decoded in full: any broken rule in its records or CRC is a finding. */
async function decodeWalSegment(verifier: Verifier, file: string, index: bigint, timeline: bigint): Promise<WalSegmentState | undefined> {
  const decoded = await verifier.decode(file, walSegmentCodec, 0n)
  if (!decoded) return quietWalSegmentState(file, index)
  reportMisplaced(verifier, file, index, timeline, decoded.model)
  return walSegmentState({index, path: file, bytes: BigInt(decoded.bytes.length)}, decoded.bytes)
}

/**
 * A segment's header and size only, read into `into` and under the same
 * refusals as a full read (not a regular file, past the size cap);
 * `counted` when its stat was already counted as a check.
 */
function readWalHeader(verifier: Verifier, file: string, index: bigint, timeline: bigint, into: Uint8Array, listedRegular: boolean, counted = false): WalSegmentState | undefined {
  const read = verifier.attemptSync(file, () => readPrefixIfExists(file, into, MAX_ARTIFACT_BYTES['wal-segment'], walSegmentCodec.label, listedRegular), walSegmentCodec.kind)
  if (!read) return quietWalSegmentState(file, index)
  if (!counted) verifier.checked++
  const segment = walSegmentState({index, path: file, bytes: BigInt(read.size)}, into.subarray(0, read.length))
  if (segment.header) reportMisplaced(verifier, file, index, timeline, segment.header)
  else if (segment.error) verifier.report(file, 'artifact.corrupt', segment.error.problem, undefined, {kind: walSegmentCodec.kind})
  return segment
}

/**
 * The header of a segment whose read was refused (a finding says why), as
 * every other command sees it: a regular file too large to decode still
 * places its segment, so it is no gap; anything else is no segment.
 */
function quietWalSegmentState(file: string, index: bigint): WalSegmentState | undefined {
  try {
    const info = statSync(file, {throwIfNoEntry: false})
    if (!info?.isFile()) return undefined
    const header = new Uint8Array(WAL_SEGMENT_HEADER_BYTES)
    const read = readPrefixIfExists(file, header, Number.MAX_SAFE_INTEGER, 'WAL segment')
    return read === undefined ? undefined : walSegmentState({index, path: file, bytes: BigInt(info.size)}, header.subarray(0, read.length))
  } catch {
    return undefined
  }
}

function reportMisplaced(verifier: Verifier, file: string, index: bigint, timeline: bigint, header: {segment_index: bigint; timeline: bigint}): void {
  if (header.segment_index !== index) verifier.report(file, 'wal.name-mismatch', `file name says segment ${index}, header says ${header.segment_index}`)
  if (header.timeline !== timeline) verifier.report(file, 'wal.name-mismatch', `header says timeline ${header.timeline}, directory is timeline ${timeline}`)
}

async function verifyBasebackups(verifier: Verifier, dir: string, timeline: bigint, nowMs: bigint, deep: Pace | undefined, onRead: (bytes: number) => void): Promise<void> {
  const names = (await verifier.list(dir)).sort()
  // A parts dir without a manifest of its name may still be named by another manifest (a reused parts dir): no leftover then.
  const orphans = new Map<string, Finding>()
  const named = new Set<string>()
  for (const name of names) {
    const file = path.join(dir, name)
    if (isTemporaryName(name)) {
      verifier.report(file, 'leftover.staging', 'staging or temporary file left by an interrupted base backup')
      continue
    }
    if (name.endsWith('.redbase.parts') && !names.includes(name.slice(0, -'.parts'.length))) {
      verifier.report(file, 'leftover.orphan-parts', 'chunk directory without a manifest')
      orphans.set(name, verifier.findings.at(-1)!)
      continue
    }
    if (!name.endsWith('.redbase')) continue
    const decoded = await verifier.decode(file, basebackupManifestCodec, nowMs)
    if (!decoded) continue
    for (const chunk of decoded.model.chunks) named.add(chunk.relative_path.split('/')[0])
    if (decoded.model.timeline !== timeline) verifier.report(file, 'artifact.timeline-mismatch', `manifest says timeline ${decoded.model.timeline}, directory is timeline ${timeline}`)
    // A manifest no writer makes (a size no database file holds): its chunks are not even looked at.
    const implausible = implausibleManifest(decoded.model)
    if (implausible !== null) {
      verifier.report(file, 'basebackup.unrestorable', implausible)
      continue
    }
    try {
      if (deep) {
        const head = await streamVerifiedChunks(file, decoded.model, (piece) => onRead(piece.length), new FileChunkSource(file, deep))
        const refusal = snapshotOpenProblem(head, decoded.model.snapshot_bytes)
        if (refusal !== null) verifier.report(file, 'basebackup.unrestorable', refusal)
      } else await checkChunkFiles(file, decoded.model)
    } catch (error) {
      if (!(error instanceof RedreplError)) throw error
      if (error instanceof FormatError) verifier.report(error.file ?? file, 'basebackup.chunk', error.problem)
      else verifier.report(file, 'basebackup.chunk', withoutPath(error.message, file))
    }
  }
  for (const [name, orphan] of orphans) if (named.has(name)) verifier.findings.splice(verifier.findings.indexOf(orphan), 1)
}

/** Whether `file` is a symbolic link itself (a missing or unreadable one is not). */
async function isLink(file: string): Promise<boolean> {
  return lstat(file).then((info) => info.isSymbolicLink(), () => false)
}

/**
 * Notes the links an operator may make (a timeline's wal/ or basebackup/
 * moved to another disk), which deleters enter and stay inside, and warns
 * of a link where the layout holds a real directory, which they refuse.
 */
async function noteLinks(verifier: Verifier, timelineDir: string): Promise<void> {
  if (await isLink(timelineDir)) verifier.report(timelineDir, 'layout.symlink', 'a timeline directory that is a symbolic link: every command that writes or removes files in the layout refuses it')
  for (const name of ['wal', 'basebackup']) {
    const dir = path.join(timelineDir, name)
    if (await isLink(dir)) verifier.report(dir, 'layout.linked-dir', `a symbolic link to ${await realpath(dir).catch(() => 'nowhere')}; removals in it stay there`)
  }
  const relay = path.join(timelineDir, 'relay')
  if (await isLink(relay)) verifier.report(relay, 'layout.symlink', 'relay/ is a symbolic link: every command that writes or removes files in the layout refuses it')
  else for (const replica of await listDir(relay)) if (await isLink(path.join(relay, replica))) verifier.report(path.join(relay, replica), 'layout.symlink', 'a relay directory that is a symbolic link: every command that writes or removes files in the layout refuses it')
}

async function verifyRelays(verifier: Verifier, dir: string, timeline: bigint): Promise<void> {
  for (const replica of (await verifier.list(dir)).sort()) {
    const relayDir = path.join(dir, replica)
    const info = await verifier.attempt(relayDir, () =>
      stat(relayDir).catch((error) => {
        throw ioError('open', relayDir, error)
      }),
    )
    if (!info?.isDirectory()) continue
    // The manifest first, so that each segment is read once for both its own check and the manifest's; its findings keep their place after the segments'.
    const manifestPath = path.join(relayDir, RELAY_MANIFEST_FILE)
    const beforeManifest = verifier.findings.length
    const decoded = await verifier.decode(manifestPath, relayManifestCodec, 0n)
    const manifestFindings = verifier.findings.splice(beforeManifest)
    // A path the manifest names more than once is left to the manifest's own check below.
    const named = (decoded?.model.segments ?? []).map((ref) => ref.relative_path)
    const refs = new Map((decoded?.model.segments ?? []).filter((ref) => named.indexOf(ref.relative_path) === named.lastIndexOf(ref.relative_path)).map((ref) => [ref.relative_path, ref]))
    const problemsOf = new Map<string, string[]>()
    for (const name of (await verifier.list(relayDir)).sort()) {
      const file = path.join(relayDir, name)
      if (isTemporaryName(name)) verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
      else if (name.endsWith('.redwal')) {
        // Decoded one at a time and let go: a relay dir may hold many large segments.
        const {model, bytes} = await verifier.read(file, relaySegmentCodec, 0n)
        const ref = refs.get(name)
        // Decoded once: a segment that did not decode is checked by the manifest's rule, which words why.
        if (decoded && ref && bytes) {
          problemsOf.set(name, model ? relaySegmentRefProblems(decoded.model.timeline, ref, model, bytes) : checkRelayManifestConsistency({...decoded.model, segments: [ref]}, () => bytes))
        }
      }
    }
    verifier.findings.push(...manifestFindings)
    if (!decoded) continue
    const manifest = decoded.model
    if (manifest.replica_id !== replica) verifier.report(manifestPath, 'relay.replica-mismatch', `manifest is for replica ${JSON.stringify(manifest.replica_id)}, directory is ${JSON.stringify(replica)}`)
    if (manifest.timeline !== timeline) {
      if (manifest.timeline === 1n) verifier.report(manifestPath, 'relay.catalog-timeline', `relays on timeline 1 under timeline ${timeline}, as RedDB 1.12 does after a failover`)
      else verifier.report(manifestPath, 'artifact.timeline-mismatch', `manifest says timeline ${manifest.timeline}, directory is timeline ${timeline}`)
    }
    for (const ref of manifest.segments) {
      // A segment not read above (missing, refused, or named with a directory) is read by the manifest's own check, which says why.
      const problems = problemsOf.get(ref.relative_path) ?? (await relaySegmentProblems(relayDir, {...manifest, segments: [ref]}))
      for (const problem of problems) verifier.report(manifestPath, 'relay.inconsistent', problem)
    }
    manifest.segments.forEach((ref, i) => {
      const previous = manifest.segments[i - 1]
      if (previous && ref.start_lsn < previous.end_lsn) {
        verifier.report(manifestPath, 'relay.overlap', `segment ${ref.relative_path} (${ref.start_lsn}..${ref.end_lsn}) overlaps or runs back from ${previous.relative_path} (..${previous.end_lsn})`)
      }
    })
  }
}

/**
 * What the WAL of a timeline says as a whole: headers that disagree on the
 * segment size, holes; and on the current timeline a retention that can
 * never prune and active slots the WAL no longer serves. Damaged files are
 * reported where they are decoded, not here.
 */
async function verifyWalShape(verifier: Verifier, layout: Layout, state: WalState, current: boolean, catalog: SlotCatalog | null, dataPath: string, nowMs: bigint): Promise<void> {
  const timeline = state.timeline
  for (const problem of state.geometry.problems) {
    if (problem.code === 'wal.segment-size') verifier.report(state.segments.find((s) => s.index === problem.index)!.path, 'wal.segment-size', problem.message)
  }
  verifier.findings.push(...gapFindings(layout, state))
  if (!current) return
  // A catalog that exists but does not decode is reported as corrupt, not as missing.
  const exists = (file: string) => stat(file).then(() => true, () => false)
  const damagedCatalog = catalog === null && (await exists(layout.slotCatalogPath(timeline)))
  const legacyPath = dataPathArtifacts(dataPath).legacySlotStore
  const noReplicaYet = catalog === null && !damagedCatalog && !(await exists(legacyPath)) && !(await replicationSeen(layout))
  const stall = damagedCatalog ? null : stallFinding(layout, state, catalog, {keepUntilReplicasAck: true, noReplicaYet})
  if (stall) verifier.findings.push(stall)
  // A damaged or unreadable legacy store is reported where it is decoded.
  const legacy = await readLegacySlotStore(dataPath, nowMs).catch((error: unknown) => {
    if (error instanceof RedreplError) return null
    throw error
  })
  const slots = [
    ...(catalog?.slots ?? []).map((slot) => ({slot, file: layout.slotCatalogPath(timeline)})),
    ...(legacy?.slots ?? []).map((slot) => ({slot, file: legacyPath})),
  ]
  verifier.findings.push(...behindWalFindings(layout, state, slots))
}

/**
 * Whether replication ever ran on this layout: a slot catalog or a relay
 * directory on any timeline. A node restored from a repository has
 * neither until its first replica registers.
 */
async function replicationSeen(layout: Layout): Promise<boolean> {
  for (const name of await listDir(layout.root)) {
    const timeline = parseTimelineDirName(name)
    if (timeline === undefined) continue
    for (const file of [layout.slotCatalogPath(timeline), layout.relayRoot(timeline)]) if (await stat(file).then(() => true, () => false)) return true
  }
  return false
}

/**
 * Decodes every artifact of a node's layout and cross-checks them (base
 * backups against their chunks, relay manifests against their segments,
 * names against headers, the history against the timeline dirs), reporting
 * leftovers of interrupted writes. Reads only; see VerifyOptions for what
 * a quick run leaves out.
 */
export async function verifyLayout(dataPath: string, nowMs: bigint, options: VerifyOptions = {}): Promise<VerifyReport> {
  return (await verifyLayoutAndWal(dataPath, nowMs, options)).report
}

/**
 * verifyLayout, with the WAL state of the current timeline it read on the
 * way (null without that timeline's directory), so that a caller measuring
 * the WAL reads no segment a second time.
 */
export async function verifyLayoutAndWal(dataPath: string, nowMs: bigint, options: VerifyOptions = {}): Promise<{report: VerifyReport; wal: WalState | null}> {
  const deep = options.deep ?? true
  let chunkBytesRead = 0n
  const onRead = (bytes: number) => {
    chunkBytesRead += BigInt(bytes)
    options.onProgress?.(chunkBytesRead)
  }
  // One pace for the whole run: the limit holds across every file read.
  const pace = deep ? createPace({maxRate: options.maxRate}) : undefined
  const layout = await openLayout(dataPath)
  const verifier = new Verifier(path.dirname(layout.root))
  if (await isLink(layout.root)) verifier.report(layout.root, 'layout.linked-dir', `the layout root is a symbolic link to ${await realpath(layout.root).catch(() => 'nowhere')}`)
  const history = await verifier.decode(layout.historyPath, timelineHistoryCodec, nowMs)
  const known = new Set((history?.model.entries ?? [{timeline: 1n}]).map((entry) => entry.timeline))
  let currentWal: WalState | null = null

  for (const name of (await verifier.list(layout.root)).sort()) {
    const file = path.join(layout.root, name)
    if (isTemporaryName(name)) verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
    const timeline = parseTimelineDirName(name)
    if (timeline === undefined) continue
    if (!known.has(timeline) && (history || timeline !== 1n)) verifier.report(file, 'layout.unknown-timeline', `timeline ${timeline} is not in the timeline history`, history ? 'error' : 'warning')
    const wal = await verifyWal(verifier, layout, path.join(file, 'wal'), timeline, deep)
    const catalogPath = path.join(file, SLOT_CATALOG_FILE)
    const catalog = await verifier.decode(catalogPath, slotCatalogCodec, nowMs)
    if (catalog && catalog.model.timeline !== timeline) {
      if (catalog.model.timeline === 1n) verifier.report(catalogPath, 'slot.catalog-timeline', `written with timeline 1 under timeline ${timeline}, as RedDB 1.12 does after a failover (its retention then never prunes)`)
      else verifier.report(catalogPath, 'artifact.timeline-mismatch', `catalog says timeline ${catalog.model.timeline}, directory is timeline ${timeline}`)
    }
    for (const entry of await verifier.list(file)) if (isTemporaryName(entry)) verifier.report(path.join(file, entry), 'leftover.temp-file', 'temporary file left by an interrupted write')
    const current = timeline === currentTimeline(history?.model ?? null)
    if (current) currentWal = wal
    await verifyWalShape(verifier, layout, wal, current, catalog?.model ?? null, dataPath, nowMs)
    await verifyBasebackups(verifier, path.join(file, 'basebackup'), timeline, nowMs, pace, onRead)
    await verifyRelays(verifier, path.join(file, 'relay'), timeline)
    await noteLinks(verifier, file)
  }

  const paths = dataPathArtifacts(dataPath)
  await verifier.decode(paths.legacySlotStore, legacySlotStoreCodec, nowMs)
  const marker = await verifier.decode(paths.rebootstrapReady, rebootstrapMarkerCodec, nowMs)
  if (marker) {
    const named = marker.model.pending_path
    // The node runs with an absolute data path, from which it derives the path it accepts (format §8); the path as typed here only counts made absolute.
    const expected = [markerPendingPath(dataPath), path.resolve(paths.rebootstrapPending)]
    if (!path.isAbsolute(named)) {
      verifier.report(paths.rebootstrapReady, 'rebootstrap.pending-path', `pending_path ${JSON.stringify(named)} is relative: a node configured with an absolute data path refuses it ("invalid rebootstrap pending_path"); it derives ${JSON.stringify(expected[0])}`)
    } else if (!expected.some((candidate) => sameRedDbPath(named, candidate))) {
      verifier.report(paths.rebootstrapReady, 'rebootstrap.pending-path', `pending_path ${JSON.stringify(named)} is not ${JSON.stringify(expected[0])}, the path RedDB derives from the data path`)
    }
  }
  // The node's RedDB is 1.23 when either of its databases shows it (a superblock in layout 2); both are then read by 1.23's rules.
  // Otherwise nothing on disk tells 1.23 from 1.12, so 1.12's rules apply and a database only they open is flagged (rdb.refused-by-1-23).
  const databases = [dataPath, paths.rebootstrapPending]
  const shown = await Promise.all(databases.map(releaseOfDatabaseFile))
  const release = shown.includes('reddb-1.23') ? 'reddb-1.23' : 'reddb-1.12'
  const opened: Array<OpenedEmbeddedFile | undefined> = []
  for (const [file, required] of [[dataPath, false], [paths.rebootstrapPending, marker !== undefined]] as const) {
    const exists = await stat(file).then(() => true, (error) => !isMissing(error))
    if (!exists) {
      if (required) verifier.report(file, 'rebootstrap.pending-missing', 'the ready marker names this pending database, but it does not exist')
      opened.push(undefined)
      continue
    }
    if (!deep) {
      opened.push(undefined)
      continue
    }
    verifier.checked++
    const database = await verifier.attempt(file, () => streamEmbeddedSnapshot(file, () => {}, () => {}, undefined, release, pace), 'embedded-rdb')
    opened.push(database)
    if (database) verifier.findings.push(...databaseFindings(database, path.relative(verifier.root, file) || file))
  }
  const [data, pending] = opened
  if (data && pending && data.format !== pending.format) {
    verifier.report(
      paths.rebootstrapPending,
      'rdb.versions-differ',
      `the pending database is format ${pending.format}, the data file format ${data.format}: after the swap the node runs on a format-${pending.format} database`,
      undefined,
      {pending_rdb_format: pending.format, data_rdb_format: data.format},
    )
  }
  for (const name of await verifier.list(path.dirname(dataPath))) {
    if (name === path.basename(paths.rebootstrapStaging)) verifier.report(paths.rebootstrapStaging, 'leftover.staging', 'rebootstrap staging dir left behind')
    // Only the rebootstrap files' own temps: D's directory may hold anyone's files.
    if (isTempNameOf(name, paths.rebootstrapPending) || isTempNameOf(name, paths.rebootstrapReady)) {
      verifier.report(path.join(path.dirname(dataPath), name), 'leftover.temp-file', 'temporary file left by an interrupted write')
    }
  }
  return {report: {ok: !verifier.findings.some(isProblem), root_path: layout.root, artifacts_checked: verifier.checked, findings: verifier.findings}, wal: currentWal}
}

