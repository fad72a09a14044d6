import {stat} from 'node:fs/promises'
import path from 'node:path'

import {FormatError} from '../errors.js'
import {finding, isProblem, type Finding, type FindingCode, type Severity} from '../findings.js'
import type {ArtifactCodec} from '../format/artifact.js'
import {basebackupManifestCodec} from '../format/basebackup-manifest.js'
import {rebootstrapMarkerCodec} from '../format/rebootstrap-marker.js'
import {checkRelayManifestConsistency, relayManifestCodec} from '../format/relay-manifest.js'
import {relaySegmentCodec} from '../format/relay-segment.js'
import {legacySlotStoreCodec} from '../format/slot-catalog-legacy.js'
import {slotCatalogCodec} from '../format/slot-catalog.js'
import {timelineHistoryCodec} from '../format/timeline-history.js'
import {walSegmentCodec} from '../format/wal-segment.js'
import {resolveContained} from '../fs/contained.js'
import {decodeFile, readFileIfExists} from '../fs/read.js'
import {dataPathArtifacts, parseTimelineDirName, parseWalSegmentName, RELAY_MANIFEST_FILE, SLOT_CATALOG_FILE} from '../layout.js'
import {streamVerifiedChunks} from './basebackup-chunks.js'
import {streamEmbeddedSnapshot} from './embedded-file.js'
import {listDir} from './node-state.js'
import {openLayout} from './open-layout.js'

export interface VerifyReport {
  /** No finding is an error or a warning (notes, such as RedDB 1.12's own habits, do not count). */
  ok: boolean
  root: string
  checked: number
  findings: Finding[]
}

/** A verifier that collects findings instead of stopping at the first. */
class Verifier {
  readonly findings: Finding[] = []
  checked = 0

  constructor(readonly root: string) {}

  report(file: string, code: FindingCode, message: string, severity?: Severity, data?: Finding['data']): void {
    this.findings.push(finding(code, path.relative(this.root, file) || file, message, data, severity))
  }

  /** Decodes a file; a broken rule becomes a problem and undefined. */
  async decode<M>(file: string, codec: ArtifactCodec<M>, nowMs: bigint): Promise<{model: M; bytes: Uint8Array} | undefined> {
    const bytes = await readFileIfExists(file)
    if (bytes === undefined) return undefined
    this.checked++
    try {
      return {model: decodeFile(file, bytes, codec, {nowMs}), bytes}
    } catch (error) {
      if (!(error instanceof FormatError)) throw error
      this.report(file, 'artifact.corrupt', error.problem, undefined, {kind: codec.kind})
      return undefined
    }
  }
}

/** A temp file of an interrupted atomic write (RedDB's `X.tmp`, or a `.tmp-<pid>-<nanos>` staging name). */
export const isTemporary = (name: string) => name.endsWith('.tmp') || /\.tmp-\d+-\d+$/.test(name)

async function verifyWal(verifier: Verifier, dir: string, timeline: bigint): Promise<void> {
  for (const name of (await listDir(dir)).sort()) {
    const file = path.join(dir, name)
    if (isTemporary(name)) {
      verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
      continue
    }
    const index = parseWalSegmentName(name)
    if (index === undefined) continue
    const decoded = await verifier.decode(file, walSegmentCodec, 0n)
    if (!decoded) continue
    const segment = decoded.model
    if (segment.segment_index !== index) verifier.report(file, 'wal.name-mismatch', `file name says segment ${index}, header says ${segment.segment_index}`)
    if (segment.timeline !== timeline) verifier.report(file, 'wal.name-mismatch', `header says timeline ${segment.timeline}, directory is timeline ${timeline}`)
  }
}

async function verifyBasebackups(verifier: Verifier, dir: string, timeline: bigint, nowMs: bigint): Promise<void> {
  const names = (await listDir(dir)).sort()
  for (const name of names) {
    const file = path.join(dir, name)
    if (isTemporary(name)) {
      verifier.report(file, 'leftover.staging', 'staging or temporary file left by an interrupted base backup')
      continue
    }
    if (name.endsWith('.redbase.parts') && !names.includes(name.slice(0, -'.parts'.length))) {
      verifier.report(file, 'leftover.orphan-parts', 'chunk directory without a manifest')
      continue
    }
    if (!name.endsWith('.redbase')) continue
    const decoded = await verifier.decode(file, basebackupManifestCodec, nowMs)
    if (!decoded) continue
    if (decoded.model.timeline !== timeline) verifier.report(file, 'artifact.timeline-mismatch', `manifest says timeline ${decoded.model.timeline}, directory is timeline ${timeline}`)
    try {
      await streamVerifiedChunks(file, decoded.model)
    } catch (error) {
      if (!(error instanceof FormatError)) throw error
      verifier.report(error.file ?? file, 'basebackup.chunk', error.problem)
    }
  }
}

async function verifyRelays(verifier: Verifier, dir: string, timeline: bigint): Promise<void> {
  for (const replica of (await listDir(dir)).sort()) {
    const relayDir = path.join(dir, replica)
    if (!(await stat(relayDir)).isDirectory()) continue
    const segments = new Map<string, Uint8Array>()
    for (const name of (await listDir(relayDir)).sort()) {
      const file = path.join(relayDir, name)
      if (isTemporary(name)) verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
      else if (name.endsWith('.redwal')) {
        const decoded = await verifier.decode(file, relaySegmentCodec, 0n)
        if (decoded) segments.set(name, decoded.bytes)
      }
    }
    const manifestPath = path.join(relayDir, RELAY_MANIFEST_FILE)
    const decoded = await verifier.decode(manifestPath, relayManifestCodec, 0n)
    if (!decoded) continue
    const manifest = decoded.model
    if (manifest.replica_id !== replica) verifier.report(manifestPath, 'relay.replica-mismatch', `manifest is for replica ${JSON.stringify(manifest.replica_id)}, directory is ${JSON.stringify(replica)}`)
    if (manifest.timeline !== timeline) {
      if (manifest.timeline === 1n) verifier.report(manifestPath, 'relay.catalog-timeline', `relays on timeline 1 under timeline ${timeline}, as RedDB 1.12 does after a failover`)
      else verifier.report(manifestPath, 'artifact.timeline-mismatch', `manifest says timeline ${manifest.timeline}, directory is timeline ${timeline}`)
    }
    const readers = new Map<string, Uint8Array | undefined>()
    for (const ref of manifest.segments) {
      const file = await resolveContained(relayDir, ref.relative_path).catch(() => undefined)
      readers.set(ref.relative_path, file === undefined ? undefined : await readFileIfExists(file))
    }
    for (const problem of checkRelayManifestConsistency(manifest, (relative) => readers.get(relative))) verifier.report(manifestPath, 'relay.inconsistent', problem)
    manifest.segments.forEach((ref, i) => {
      const previous = manifest.segments[i - 1]
      if (previous && ref.start_lsn < previous.end_lsn) {
        verifier.report(manifestPath, 'relay.overlap', `segment ${ref.relative_path} (${ref.start_lsn}..${ref.end_lsn}) overlaps or runs back from ${previous.relative_path} (..${previous.end_lsn})`)
      }
    })
  }
}

/**
 * Decodes every artifact of a node's layout and cross-checks them (base
 * backups against their chunks, relay manifests against their segments,
 * names against headers, the history against the timeline dirs), reporting
 * leftovers of interrupted writes. Reads only.
 */
export async function verifyLayout(dataPath: string, nowMs: bigint): Promise<VerifyReport> {
  const layout = await openLayout(dataPath)
  const verifier = new Verifier(path.dirname(layout.root))
  const history = await verifier.decode(layout.historyPath, timelineHistoryCodec, nowMs)
  const known = new Set((history?.model.entries ?? [{timeline: 1n}]).map((entry) => entry.timeline))

  for (const name of (await listDir(layout.root)).sort()) {
    const file = path.join(layout.root, name)
    if (isTemporary(name)) verifier.report(file, 'leftover.temp-file', 'temporary file left by an interrupted write')
    const timeline = parseTimelineDirName(name)
    if (timeline === undefined) continue
    if (!known.has(timeline) && (history || timeline !== 1n)) verifier.report(file, 'layout.unknown-timeline', `timeline ${timeline} is not in the timeline history`, history ? 'error' : 'warning')
    await verifyWal(verifier, path.join(file, 'wal'), timeline)
    const catalogPath = path.join(file, SLOT_CATALOG_FILE)
    const catalog = await verifier.decode(catalogPath, slotCatalogCodec, nowMs)
    if (catalog && catalog.model.timeline !== timeline) {
      if (catalog.model.timeline === 1n) verifier.report(catalogPath, 'slot.catalog-timeline', `written with timeline 1 under timeline ${timeline}, as RedDB 1.12 does after a failover (its retention then never prunes)`)
      else verifier.report(catalogPath, 'artifact.timeline-mismatch', `catalog says timeline ${catalog.model.timeline}, directory is timeline ${timeline}`)
    }
    for (const entry of await listDir(file)) if (isTemporary(entry)) verifier.report(path.join(file, entry), 'leftover.temp-file', 'temporary file left by an interrupted write')
    await verifyBasebackups(verifier, path.join(file, 'basebackup'), timeline, nowMs)
    await verifyRelays(verifier, path.join(file, 'relay'), timeline)
  }

  const paths = dataPathArtifacts(dataPath)
  await verifier.decode(paths.legacySlotStore, legacySlotStoreCodec, nowMs)
  const marker = await verifier.decode(paths.rebootstrapReady, rebootstrapMarkerCodec, nowMs)
  if (marker && marker.model.pending_path !== paths.rebootstrapPending) {
    verifier.report(paths.rebootstrapReady, 'rebootstrap.pending-path', `pending_path ${JSON.stringify(marker.model.pending_path)} is not ${JSON.stringify(paths.rebootstrapPending)}, the path RedDB derives from the data path`)
  }
  for (const [file, required] of [[dataPath, false], [paths.rebootstrapPending, marker !== undefined]] as const) {
    const exists = await stat(file).then(() => true, () => false)
    if (!exists) {
      if (required) verifier.report(file, 'rebootstrap.pending-missing', 'the ready marker names this pending database, but it does not exist')
      continue
    }
    verifier.checked++
    try {
      await streamEmbeddedSnapshot(file, () => {}, () => {})
    } catch (error) {
      if (!(error instanceof FormatError)) throw error
      verifier.report(file, 'artifact.corrupt', error.problem, undefined, {kind: 'embedded-rdb'})
    }
  }
  for (const name of await listDir(path.dirname(dataPath))) {
    if (name === path.basename(paths.rebootstrapStaging)) verifier.report(paths.rebootstrapStaging, 'leftover.staging', 'rebootstrap staging dir left behind')
  }
  return {ok: !verifier.findings.some(isProblem), root: layout.root, checked: verifier.checked, findings: verifier.findings}
}

