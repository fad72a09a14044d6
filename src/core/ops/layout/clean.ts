
import {FormatError, RedreplError} from '../../errors.js'
import {basebackupManifestCodec} from '../../format/basebackup-manifest.js'
import {realpath} from '../../fs/metadata.js'
import {isTemporaryName} from '../../fs/atomic.js'
import {HeldDir, linkRefusal, resolveOnce} from '../../fs/held-dir.js'
import {absentAsUndefined, ioError} from '../../fs/io-error.js'
import {isProcessAlive} from '../../fs/processes.js'
import {decodeFile, readArtifactBytesIfExists} from '../node/artifact-file.js'
import {Layout, parseBasebackupName, parseTimelineDirName} from '../../layout.js'

export type LeftoverKind = 'staging-dir' | 'orphan-parts' | 'temp-file'

export interface Leftover {
  kind: LeftoverKind
  path: string
  bytes: bigint
  reason: string
}

export interface LayoutCleanReport {
  root_path: string
  dry_run: boolean
  leftovers: Leftover[]
  /** Entries that look like leftovers but are not what their names claim: never removed. */
  skipped: Array<{path: string; reason: string}>
  removed: number
  freed_bytes: bigint
}

const STAGING = /^(base-\d{20}-\d{20}\.redbase)\.parts\.tmp-(\d+)-\d+$/
const CHUNK = /^\d{20}\.redchunk$/

type DirKind = 'root' | 'timeline' | 'wal' | 'basebackup' | 'relay'

/**
 * The temp names writers give in each directory: RedDB's, the artifact's
 * extension replaced by `.tmp` (format §1), and ours, `<artifact name>.<pid>-<random>.tmp`
 * (fs/atomic.ts). A `*.tmp` of any other name is someone else's file.
 */
const TEMP_STEMS: Record<DirKind, string> = {
  root: 'timeline-history',
  timeline: 'replication-slots',
  wal: '\\d+',
  basebackup: 'base-\\d{20}-\\d{20}',
  relay: 'relay|relay-\\d{20}-\\d{20}',
}
const TEMP_NAMES = Object.fromEntries(
  Object.entries(TEMP_STEMS).map(([kind, stem]) => [kind, new RegExp(`^(?:${stem})(?:\\.red[a-z]+\\.\\d+-[0-9a-f]{16}(?:\\.[0-9a-f]{16})?)?\\.tmp$`)]),
) as Record<DirKind, RegExp>

/** A directory found in the walk: held open, with the tree whose files alone it may lose. */
interface Found {
  dir: HeldDir
  /** The resolved tree it lies in: the layout root, or the target of an operator's wal/ or basebackup/ link. */
  tree: string
}

interface Planned extends Leftover {
  at: Found
  name: string
}

const WHERE = 'the layout'

class Finder {
  readonly leftovers: Planned[] = []
  readonly skipped: LayoutCleanReport['skipped'] = []
  readonly held: HeldDir[] = []

  keep(found: Found): Found {
    this.held.push(found.dir)
    return found
  }

  async tempFiles(at: Found, kind: DirKind): Promise<void> {
    for (const name of (await at.dir.names()).sort()) {
      if (!isTemporaryName(name) || STAGING.test(name)) continue
      const file = at.dir.shown(name)
      if (!TEMP_NAMES[kind].test(name)) {
        this.skipped.push({path: file, reason: 'named like a temporary file, but not one RedDB or redrepl writes here'})
        continue
      }
      const info = await at.dir.entry(name)
      if (info === undefined) continue
      if (info.isFile()) this.leftovers.push({kind: 'temp-file', path: file, bytes: BigInt(info.size), reason: 'temporary file left by an interrupted write', at, name})
      else this.skipped.push({path: file, reason: 'named like a temporary file but not a regular file'})
    }
  }

  /** The parts dirs a manifest here names (its chunks' first path component), or undefined when a manifest does not decode. */
  async referencedParts(at: Found, names: string[]): Promise<Set<string> | undefined> {
    const referenced = new Set<string>()
    for (const name of names) {
      if (parseBasebackupName(name) === undefined) continue
      try {
        const bytes = await readArtifactBytesIfExists(at.dir.at(name), basebackupManifestCodec)
        if (bytes === undefined) continue
        const manifest = decodeFile(at.dir.shown(name), bytes, basebackupManifestCodec, {nowMs: 0n})
        for (const chunk of manifest.chunks) referenced.add(chunk.relative_path.split('/')[0])
      } catch (error) {
        if (!(error instanceof RedreplError)) throw error
        return undefined
      }
    }
    return referenced
  }

  async basebackupDir(at: Found): Promise<void> {
    const names = (await at.dir.names()).sort()
    const referenced = await this.referencedParts(at, names)
    for (const name of names) {
      const file = at.dir.shown(name)
      const staging = STAGING.exec(name)
      const orphan = name.endsWith('.redbase.parts') && parseBasebackupName(name.slice(0, -'.parts'.length)) !== undefined && !names.includes(name.slice(0, -'.parts'.length))
      if (!staging && !orphan) continue
      const info = await at.dir.entry(name)
      if (info === undefined) continue
      if (!info.isDirectory()) {
        this.skipped.push({path: file, reason: info.isSymbolicLink() ? 'a symbolic link, never followed' : 'named like a chunk directory but not a directory'})
        continue
      }
      // A RedDB process still alive may be writing this staging dir right now.
      if (staging && isProcessAlive(Number(staging[2]))) {
        this.skipped.push({path: file, reason: `process ${staging[2]} that writes it is still running`})
        continue
      }
      if (orphan && referenced === undefined) {
        this.skipped.push({path: file, reason: 'a manifest in this directory does not decode, so which chunk directories it names is unknown'})
        continue
      }
      if (orphan && referenced!.has(name)) {
        this.skipped.push({path: file, reason: 'a manifest here names chunks in it'})
        continue
      }
      const size = await chunkDirSize(at.dir, name)
      if ('not' in size) this.skipped.push({path: file, reason: size.not})
      else if (staging) this.leftovers.push({kind: 'staging-dir', path: file, bytes: size.bytes, reason: 'staging dir of an interrupted base backup', at, name})
      else this.leftovers.push({kind: 'orphan-parts', path: file, bytes: size.bytes, reason: 'chunk directory without a manifest', at, name})
    }
    await this.tempFiles(at, 'basebackup')
  }
}

/** A directory holding only regular chunk files (or nothing): the total size, or why it is not one. */
async function chunkDirSize(parent: HeldDir, name: string): Promise<{bytes: bigint} | {not: string}> {
  const dir = await parent.child(name)
  if (dir === undefined) return {bytes: 0n}
  try {
    let bytes = 0n
    for (const entry of await dir.names()) {
      const info = await dir.entry(entry)
      if (!CHUNK.test(entry) || !info?.isFile()) return {not: `holds ${JSON.stringify(entry)}, which is not a chunk file`}
      bytes += BigInt(info.size)
    }
    return {bytes}
  } finally {
    await dir.close()
  }
}

/**
 * A directory of the layout, opened without following a link, except
 * wal/ and basebackup/, which an operator may link to another disk: those
 * are opened where they lead, and that place becomes their tree.
 */
async function enter(parent: Found, name: string, linkable: boolean): Promise<Found | undefined> {
  const info = await parent.dir.entry(name)
  if (info === undefined) return undefined
  if (!info.isSymbolicLink()) {
    const dir = await parent.dir.child(name)
    return dir && {dir, tree: parent.tree}
  }
  if (!linkable) throw linkRefusal(parent.dir.shown(name), WHERE)
  const target = await realpath(parent.dir.at(name)).catch(absentAsUndefined('resolve', parent.dir.shown(name)))
  if (target === undefined) return undefined
  const dir = await HeldDir.open(target, WHERE)
  return dir && {dir, tree: target}
}

/**
 * `layout clean`: finds what interrupted runs left (RedDB's or ours) and,
 * when `confirm`, removes it. Only entries that are what their names claim
 * go: a staging or orphan parts dir must hold nothing but regular chunk
 * files and be named by no manifest, a temp file must be a regular file
 * with a temp name a writer of its directory gives; anything else is
 * listed as skipped. No link is followed but an operator's wal/ or
 * basebackup/ link (and the root's own), whose target is then the only
 * tree removals there may touch; any other link is refused (exit 4).
 * Run under the layout lock, so no redrepl writer is mid-way.
 */
export async function cleanLayout(layout: Layout, options: {confirm: boolean}): Promise<LayoutCleanReport> {
  const finder = new Finder()
  const tree = await resolveOnce(layout.root)
  const rootDir = await HeldDir.open(tree, WHERE)
  try {
    if (rootDir !== undefined) await walk(finder, finder.keep({dir: rootDir, tree}))
    let removed = 0
    let freed = 0n
    if (options.confirm) {
      for (const leftover of finder.leftovers) {
        await remove(leftover)
        removed++
        freed += leftover.bytes
      }
    }
    const leftovers = finder.leftovers.map(({at: _at, name: _name, ...leftover}) => leftover)
    return {root_path: layout.root, dry_run: !options.confirm, leftovers, skipped: finder.skipped, removed, freed_bytes: freed}
  } finally {
    for (const dir of finder.held) await dir.close()
  }
}

async function walk(finder: Finder, root: Found): Promise<void> {
  await finder.tempFiles(root, 'root')
  for (const name of (await root.dir.names()).sort()) {
    if (parseTimelineDirName(name) === undefined) continue
    const info = await root.dir.entry(name)
    if (info?.isSymbolicLink()) throw linkRefusal(root.dir.shown(name), WHERE)
    if (!info?.isDirectory()) continue
    const timeline = finder.keep((await enter(root, name, false))!)
    await finder.tempFiles(timeline, 'timeline')
    const wal = await enter(timeline, 'wal', true)
    if (wal) await finder.tempFiles(finder.keep(wal), 'wal')
    const basebackup = await enter(timeline, 'basebackup', true)
    if (basebackup) await finder.basebackupDir(finder.keep(basebackup))
    const relay = await enter(timeline, 'relay', false)
    if (relay === undefined) continue
    finder.keep(relay)
    for (const replica of (await relay.dir.names()).sort()) {
      const entry = await relay.dir.entry(replica)
      if (entry?.isSymbolicLink()) throw linkRefusal(relay.dir.shown(replica), WHERE)
      if (!entry?.isDirectory()) continue
      const replicaDir = await enter(relay, replica, false)
      if (replicaDir) await finder.tempFiles(finder.keep(replicaDir), 'relay')
    }
  }
}

/** Removes one leftover through the directory it was found in, once that directory is seen still inside its tree. */
async function remove(leftover: Planned): Promise<void> {
  const {dir, tree} = leftover.at
  if (!(await dir.inside(tree))) throw new RedreplError('refused', `${leftover.path}: its directory no longer lies inside ${tree}; nothing more was removed`, {code: 'path.moved'})
  try {
    if (leftover.kind === 'temp-file') {
      const info = await dir.entry(leftover.name)
      if (info?.isFile()) await dir.unlink(leftover.name)
    } else {
      const parts = await dir.child(leftover.name)
      if (parts !== undefined) {
        try {
          for (const name of await parts.names()) if (CHUNK.test(name) && (await parts.entry(name))?.isFile()) await parts.unlink(name)
        } finally {
          await parts.close()
        }
        await dir.removeDir(leftover.name)
      }
    }
    await dir.sync()
  } catch (error) {
    // A name the directory walk refuses is a failure to remove this leftover, not damage to an artifact.
    if (error instanceof FormatError) throw new RedreplError('failure', `${leftover.path}: cannot remove: ${error.message}`)
    throw ioError('remove', leftover.path, error)
  }
}
