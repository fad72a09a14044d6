import path from 'node:path'

import {basebackupManifestCodec} from '../../format/basebackup-manifest.js'
import {legacySlotStoreCodec} from '../../format/slot-catalog-legacy.js'
import {slotCatalogCodec} from '../../format/slot-catalog.js'
import {currentTimeline, timelineHistoryCodec} from '../../format/timeline-history.js'
import {walSegmentCodec, walSegmentHead} from '../../format/wal-segment.js'
import {type Dirent, readdir, stat, statSync} from '../../fs/metadata.js'
import {ioError} from '../../fs/io-error.js'
import {readArtifact, readArtifactIfExists} from './artifact-file.js'
import {dataPathArtifacts, Layout, parseWalSegmentName} from '../../layout.js'
import type {BasebackupManifest, SlotCatalog, TimelineHistory} from '../../model.js'

/** Reads a node's state off disk: what every command starts from. */

export interface WalSegmentFile {
  index: bigint
  path: string
  bytes: bigint
}

export async function readHistory(layout: Layout): Promise<TimelineHistory | null> {
  return (await readArtifactIfExists(layout.historyPath, timelineHistoryCodec, {nowMs: 0n})) ?? null
}

export async function readCurrentTimeline(layout: Layout): Promise<bigint> {
  return currentTimeline(await readHistory(layout))
}

/** Names of a directory, or none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw ioError('list', dir, error)
  }
}

/** A directory's entries with their types as the listing gives them; like listDir otherwise. */
export async function listDirEntries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, {withFileTypes: true})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw ioError('list', dir, error)
  }
}

/** `{decimal}.redwal` files directly in `wal/`, by index; anything else is ignored. */
export async function listWalSegments(layout: Layout, timeline: bigint): Promise<WalSegmentFile[]> {
  const dir = layout.walDir(timeline)
  const found: WalSegmentFile[] = []
  for (const name of await listDir(dir)) {
    const index = parseWalSegmentName(name)
    if (index === undefined) continue
    const file = `${dir}${path.sep}${name}`
    // Synchronous on purpose: one stat per segment, and a WAL dir can hold 100,000 of them.
    const info = statSync(file, {throwIfNoEntry: false})
    if (info?.isFile()) found.push({index, path: file, bytes: BigInt(info.size)})
  }
  return found.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0))
}

/** end_lsn − 1 of the highest non-empty segment; null when there is no record at all. */
export async function readWalHead(layout: Layout, timeline: bigint, segments?: WalSegmentFile[]): Promise<bigint | null> {
  const files = segments ?? (await listWalSegments(layout, timeline))
  for (let i = files.length - 1; i >= 0; i--) {
    const head = walSegmentHead(await readArtifact(files[i].path, walSegmentCodec, {nowMs: 0n}))
    if (head !== null) return head
  }
  return null
}

export async function readSlotCatalog(layout: Layout, timeline: bigint): Promise<SlotCatalog | null> {
  return (await readArtifactIfExists(layout.slotCatalogPath(timeline), slotCatalogCodec, {nowMs: 0n})) ?? null
}

export async function readLegacySlotStore(dataPath: string, nowMs: bigint): Promise<SlotCatalog | null> {
  return (await readArtifactIfExists(dataPathArtifacts(dataPath).legacySlotStore, legacySlotStoreCodec, {nowMs})) ?? null
}

export interface BasebackupFile {
  path: string
  manifest: BasebackupManifest
}

/** Every `*.redbase` in the timeline's `basebackup/`, sorted by (timeline, checkpoint). */
export async function listBasebackups(layout: Layout, timeline: bigint): Promise<BasebackupFile[]> {
  const dir = layout.basebackupDir(timeline)
  const found: BasebackupFile[] = []
  for (const name of await listDir(dir)) {
    if (!name.endsWith('.redbase')) continue
    const file = path.join(dir, name)
    found.push({path: file, manifest: await readArtifact(file, basebackupManifestCodec, {nowMs: 0n})})
  }
  return found.sort((a, b) => compareBig(a.manifest.timeline, b.manifest.timeline) || compareBig(a.manifest.checkpoint_lsn, b.manifest.checkpoint_lsn))
}

/** Replica ids with a relay dir under the timeline. */
export async function listRelayReplicas(layout: Layout, timeline: bigint): Promise<string[]> {
  const root = layout.relayRoot(timeline)
  const ids: string[] = []
  for (const name of await listDir(root)) {
    const dir = path.join(root, name)
    const info = await stat(dir).catch((error) => {
      throw ioError('open', dir, error)
    })
    if (info.isDirectory()) ids.push(name)
  }
  return ids.sort()
}

export function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * The oldest LSN the primary can still serve from WAL on a timeline: the
 * start LSN of its oldest segment, 0 when it has none.
 */
export async function readOldestAvailableLsn(layout: Layout, timeline: bigint, segments?: WalSegmentFile[]): Promise<bigint> {
  const files = segments ?? (await listWalSegments(layout, timeline))
  if (files.length === 0) return 0n
  return (await readArtifact(files[0].path, walSegmentCodec, {nowMs: 0n})).start_lsn
}
