import {constants, type Stats} from 'node:fs'
import {lstat, open, readdir, type FileHandle} from 'node:fs/promises'
import path from 'node:path'

import {FormatError, RedreplError, refused} from '../errors.js'
import {canCopyFromDescriptor, copyFileAtomic, mkdirDurable, writeStreamAtomic, type AtomicOptions} from '../fs/atomic.js'
import {HeldDir, linkRefusal, openBelow, resolveOnce} from '../fs/held-dir.js'
import {absentAsUndefined, ioError, type IoAttempt} from '../fs/io-error.js'
import {isProcessAlive, pidSpaceTag} from '../fs/processes.js'
import {writeAllAtSync} from '../fs/stream.js'
import {classified, StoreError, type PutOptions, type RepoBackend, type RepoObject, type StoreCapabilities, type StoreFault, type TempSweep} from './backend.js'
import {checkKey} from './keys.js'

const READ_PIECE_BYTES = 1024 * 1024
/** What a read past an object's size asks for: nothing, unless the file grew since it was opened. */
const END_PROBE_BYTES = 64 * 1024
/** Temp files of our own atomic writes (and RedDB-style `.tmp-` names): never listed as objects. */
const isTemp = (name: string) => name.endsWith('.tmp') || /\.tmp-[0-9a-z-]+$/i.test(name)
/** A temp name fs/atomic.ts gives a repository write: `<object name>.<pid>-<random>[.<pid-space tag>].tmp`. */
const WRITER_TEMP = /^.+\.(\d+)-[0-9a-f]{16}(?:\.([0-9a-f]{16}))?\.tmp$/
/** How a layout root is named (format §1: the data path's extension replaced). */
const LAYOUT_ROOT = /\.primary-replica$/
const WHERE = 'the repository'

/**
 * Refuses a repository directory that is, lies inside or holds a RedDB
 * layout: its deleters would then remove a live node's own WAL and base
 * backups as if they were repository objects.
 */
async function refuseLayoutLocation(root: string): Promise<void> {
  for (let probe = root; ; probe = path.dirname(probe)) {
    if (LAYOUT_ROOT.test(path.basename(probe))) {
      const info = await lstat(probe).catch(absentAsUndefined('stat', probe))
      if (info?.isDirectory()) throw refused(`${root}: lies inside the RedDB layout ${probe}; a repository must be kept apart from every node's files`, {code: 'repo.inside-layout'})
    }
    if (path.dirname(probe) === probe) break
  }
  const names = (await readdir(root).catch(absentAsUndefined('list', root))) ?? []
  const layout = names.find((name) => LAYOUT_ROOT.test(name))
  if (layout !== undefined) throw refused(`${root}: holds the RedDB layout ${path.join(root, layout)}; a repository must be kept apart from every node's files`, {code: 'repo.holds-layout'})
}

/**
 * How the directory store classifies an errno: only ENOENT is an absent
 * object; EACCES and EPERM are the store refusing us; a busy or
 * interrupted call, or a table of descriptors full, may pass. Any other
 * errno (no space, a read-only mount, EIO) is `other`.
 */
const ERRNO_FAULT: Readonly<Record<string, StoreFault>> = {
  ENOENT: 'not-found',
  EACCES: 'permission',
  EPERM: 'permission',
  EAGAIN: 'transient',
  EINTR: 'transient',
  EBUSY: 'transient',
  EMFILE: 'transient',
  ENFILE: 'transient',
  ETIMEDOUT: 'transient',
  ESTALE: 'transient',
}

/** The directory store's reading of a failure: by its errno (Node's, or the `io.<errno>` code a translated error keeps). */
export function directoryFault(error: unknown): StoreFault {
  if (error instanceof StoreError) return error.fault
  if (error instanceof FormatError) return 'corrupt'
  const code = error instanceof RedreplError ? error.code?.replace(/^io\./, '') : (error as NodeJS.ErrnoException | undefined)?.code
  return (code !== undefined && ERRNO_FAULT[code]) || 'other'
}

/** An errno met where the store does its own I/O: worded as every reader words it, classified for its callers. */
function storeIoError(attempt: IoAttempt, file: string, error: unknown): RedreplError {
  if (error instanceof RedreplError) return error
  const said = ioError(attempt, file, error)
  return new StoreError(said.kind, said.message, directoryFault(error), {...(said.code === undefined ? {} : {code: said.code}), ...(said.hint === undefined ? {} : {hint: said.hint})})
}

/** What a temp sweep is told: the time, and how long a temp of a writer on another host is left alone. */
export interface SweepOptions {
  nowMs: bigint
  graceMs: bigint
  /** Count only; remove nothing. */
  dryRun: boolean
}

/**
 * A repository in a local directory (a second disk, an NFS mount). Each
 * object is a file under the root, written through fs/atomic so it appears
 * whole or not at all. The root the operator typed is resolved once; below
 * it, every directory is opened from its parent without following links
 * (fs/held-dir.ts), so a link planted anywhere in the tree is refused
 * (exit 4) by listings, reads, writes and deletes alike, never followed.
 */
export class LocalBackend implements RepoBackend {
  readonly defaultJobs = 8
  /** Objects are plain files kept as they are; no CRC is kept beside them; a temp outlives a killed writer; names wait for flush; the kernel copies where descriptors have names (/proc). */
  readonly capabilities: StoreCapabilities = {localFile: true, storedChecksum: false, deadTempSweep: true, durableFlush: true, kernelCopy: canCopyFromDescriptor()}
  /** Directories (as key parts) whose new names wait for flush: one fsync each, however many objects landed there. */
  private readonly unsynced = new Map<string, string[]>()

  constructor(
    /** Resolved: see LocalBackend.open. */
    readonly root: string,
    readonly location: string,
  ) {}

  /** The repository at `dir`, resolved once, refused when it is, lies inside or holds a RedDB layout. */
  static async open(dir: string, location: string): Promise<LocalBackend> {
    const root = await resolveOnce(dir)
    await refuseLayoutLocation(root)
    return new LocalBackend(root, location)
  }

  describe(key: string): string {
    return path.join(this.root, checkKey(key))
  }

  /** A node namespace named like a layout root would make the repository look like it holds one (see refuseLayoutLocation). */
  private checkNamespace(key: string): void {
    const top = key.split('/')[0]
    if (LAYOUT_ROOT.test(top)) throw refused(`${path.join(this.root, top)}: a node namespace named like a RedDB layout root; a repository must be kept apart from every node's files`, {code: 'repo.holds-layout'})
  }

  private async openRoot(create: boolean): Promise<HeldDir | undefined> {
    if (create) await mkdirDurable(this.root)
    return HeldDir.open(this.root, WHERE)
  }

  /** The directory holding `key` and the key's last name, opened without links; undefined when a directory on the way is missing. */
  private async parentOf(key: string, create = false): Promise<{dir: HeldDir; name: string} | undefined> {
    const parts = checkKey(key).split('/')
    this.checkNamespace(key)
    const name = parts.pop()!
    const root = await this.openRoot(create)
    if (root === undefined) return undefined
    try {
      const dir = await openBelow(root, parts, {create})
      return dir === undefined ? undefined : {dir, name}
    } finally {
      if (parts.length > 0) await root.close()
    }
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    const found = await this.parentOf(key)
    if (found === undefined) return null
    try {
      const info = await found.dir.entry(found.name)
      if (info?.isSymbolicLink()) throw linkRefusal(found.dir.shown(found.name), WHERE)
      return info?.isFile() ? {size: BigInt(info.size)} : null
    } finally {
      await found.dir.close()
    }
  }

  async *list(prefix: string): AsyncIterable<RepoObject> {
    // Walk from the deepest directory the prefix names; filter the rest by name.
    const slash = prefix.lastIndexOf('/')
    const start = slash < 0 ? '' : prefix.slice(0, slash)
    const found: RepoObject[] = []
    await this.walk(start, prefix, async (_dir, name, key, info) => {
      if (info.isFile() && !isTemp(name)) found.push({key, size: BigInt(info.size), modified_unix_ms: BigInt(Math.trunc(info.mtimeMs))})
    })
    yield* found
  }

  /**
   * Visits every entry under `startKey` whose key matches `prefix`, in name
   * order, with the open directory that holds it. A link, file or
   * directory, ends the walk with a refusal naming it; so does a directory
   * named like a layout root, which no repository holds.
   */
  private async walk(startKey: string, prefix: string, visit: (dir: HeldDir, name: string, key: string, info: Stats) => Promise<void>): Promise<void> {
    if (startKey !== '') this.checkNamespace(startKey)
    const root = await this.openRoot(false)
    if (root === undefined) return
    let start: HeldDir | undefined
    try {
      start = startKey === '' ? root : await openBelow(root, startKey.split('/'))
    } catch (error) {
      if (startKey !== '') await root.close()
      // A name on the way that is a file, not a directory: nothing is listed under it.
      if (error instanceof RedreplError && error.code !== 'path.symlink' && /is not a directory$/.test(error.message)) return
      throw error
    }
    if (startKey !== '') await root.close()
    if (start === undefined) return
    await this.walkDir(start, startKey, prefix, visit)
  }

  private async walkDir(dir: HeldDir, dirKey: string, prefix: string, visit: (dir: HeldDir, name: string, key: string, info: Stats) => Promise<void>): Promise<void> {
    try {
      for (const name of (await dir.names()).sort()) {
        const key = dirKey === '' ? name : `${dirKey}/${name}`
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue
        const info = await dir.entry(name)
        if (info === undefined) continue
        if (info.isSymbolicLink()) throw linkRefusal(dir.shown(name), WHERE)
        if (info.isDirectory()) {
          if (LAYOUT_ROOT.test(name)) throw refused(`${dir.shown(name)}: is named like a RedDB layout root; a repository must be kept apart from every node's files`, {code: 'repo.holds-layout'})
          const child = await dir.child(name)
          if (child !== undefined) await this.walkDir(child, key, prefix, visit)
        } else await visit(dir, name, key, info)
      }
    } finally {
      await dir.close()
    }
  }

  get(key: string): AsyncIterable<Uint8Array> {
    return this.read(key)
  }

  /** A range read where it lies (a pread): a piece out of a pack without the rest of the pack. */
  getRange(key: string, offset: bigint, length: bigint): AsyncIterable<Uint8Array> {
    return this.read(key, {start: Number(offset), end: Number(offset + length) - 1})
  }

  private async *read(key: string, range?: {start: number; end: number}): AsyncIterable<Uint8Array> {
    const file = this.describe(key)
    const found = await this.parentOf(key)
    let handle: FileHandle | undefined
    try {
      if (found !== undefined) {
        handle = await open(found.dir.at(found.name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined
          if (error.code === 'ELOOP') throw linkRefusal(file, WHERE)
          throw storeIoError('open', file, error)
        })
      }
    } finally {
      await found?.dir.close()
    }
    const info = handle === undefined ? undefined : await handle.stat()
    if (handle === undefined || info === undefined || !info.isFile()) {
      await handle?.close()
      throw new StoreError('not-found', `${file}: no such object in the repository`, 'not-found')
    }
    try {
      if (range !== undefined && range.end < range.start) return
      // Each buffer is given to the reader to keep, so each is new; sized to what is left of the object (or of the
      // range), and the end of a whole object found by a small read, every byte allocated is a byte read (a read
      // stream allocates 1 MiB for each read, the last empty one too, and the external memory that churns brought a
      // full collection every few MiB).
      const stop = range === undefined ? undefined : range.end + 1
      for (let position = range?.start ?? 0; stop === undefined || position < stop; ) {
        const left = (stop ?? info.size) - position
        const want = left > 0 ? Math.min(READ_PIECE_BYTES, left) : END_PROBE_BYTES
        const buffer = Buffer.allocUnsafe(want)
        const {bytesRead} = await handle.read(buffer, 0, want, position)
        if (bytesRead === 0) break
        position += bytesRead
        yield bytesRead === want ? buffer : buffer.subarray(0, bytesRead)
      }
    } catch (error) {
      throw storeIoError('read', file, error)
    } finally {
      await handle.close().catch(() => {})
    }
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const file = this.describe(key)
    const {dir, name} = (await this.parentOf(key, true))!
    try {
      // Written through the directory's descriptor: a link swapped in on the way meanwhile cannot take the write elsewhere.
      const target = dir.at(name)
      const atomic: AtomicOptions = {label: 'repo-local-put', deferDirSync: true, tempTag: pidSpaceTag() ?? undefined}
      const source = options.localSource
      try {
        if (source !== undefined && this.capabilities.kernelCopy) {
          // Stored as it is: the kernel copies the bytes, and the check reads the copy back from the page cache.
          await copyFileAtomic(target, source.fd, (handle) => source.check(handle.fd), atomic)
        } else await this.write(target, body, atomic)
      } catch (error) {
        throw classified(shownAs(error, target, file), directoryFault(error))
      }
      const dirKey = path.posix.dirname(key)
      this.unsynced.set(dirKey, dirKey === '.' ? [] : dirKey.split('/'))
    } finally {
      await dir.close()
    }
  }

  async flush(): Promise<void> {
    for (const [dirKey, parts] of this.unsynced) {
      const root = await this.openRoot(false)
      const dir = root && (await openBelow(root, parts))
      if (root !== undefined && parts.length > 0) await root.close()
      if (dir === undefined) throw new RedreplError('failure', `${path.join(this.root, dirKey)}: vanished before it was synced: objects written there may not survive a crash`)
      try {
        await dir.sync()
      } finally {
        await dir.close()
      }
      this.unsynced.delete(dirKey)
    }
  }

  private async write(file: string, body: () => AsyncIterable<Uint8Array>, atomic: AtomicOptions): Promise<void> {
    await writeStreamAtomic(
      file,
      async (handle) => {
        // Each lent piece is written before the next is asked for (see RepoBackend.put), synchronously (see fs/pace.ts).
        let position = 0
        for await (const piece of body()) {
          writeAllAtSync(handle.fd, piece, position)
          position += piece.length
        }
      },
      atomic,
    )
  }

  localFile(key: string): string {
    return this.describe(key)
  }

  /** A directory keeps no CRC beside an object (see storedChecksum: a sealed object's trailer is read from its file). */
  async checksum(): Promise<null> {
    return null
  }

  /** Removes the object's own entry, reached without links (a link there is removed, never its target). */
  async delete(key: string): Promise<void> {
    const found = await this.parentOf(key)
    if (found === undefined) return
    try {
      if (await found.dir.unlink(found.name)) await found.dir.sync()
    } finally {
      await found.dir.close()
    }
  }

  /**
   * Removes the temps of dead writers under `prefix` (or counts them, dry):
   * a temp whose name carries this host's pid-space tag and a pid that is
   * not running here; a temp of another host (or from before tags) once
   * untouched for `graceMs`, since a live writer writes its temp as it
   * grows and so keeps its mtime fresh. A temp of a live pid here stays,
   * however old.
   */
  async sweepDeadTemps(prefix: string, options: SweepOptions): Promise<TempSweep> {
    const here = pidSpaceTag()
    const sweep: TempSweep = {count: 0, bytes: 0n}
    const slash = prefix.lastIndexOf('/')
    await this.walk(slash < 0 ? '' : prefix.slice(0, slash), prefix, async (dir, name, _key, info) => {
      const match = WRITER_TEMP.exec(name)
      if (match === null || !info.isFile()) return
      // On this host the pid decides, and a live one (even a reused pid) keeps its temp; elsewhere only the age can.
      const dead = here !== null && match[2] === here ? !isProcessAlive(Number(match[1])) : options.nowMs - BigInt(Math.trunc(info.mtimeMs)) >= options.graceMs
      if (!dead) return
      if (!options.dryRun) {
        if (!(await dir.unlink(name))) return
        await dir.sync()
      }
      sweep.count++
      sweep.bytes += BigInt(info.size)
    })
    return sweep
  }

  async close(): Promise<void> {}
}

/** An error that names a path through a directory's descriptor, told by its path instead. */
function shownAs(error: unknown, address: string, shown: string): unknown {
  if (!(error instanceof RedreplError) || !error.message.includes(address)) return error
  const message = error.message.split(address).join(shown)
  if (error instanceof StoreError) return error.withMessage(message)
  return new RedreplError(error.kind, message, {code: error.code, hint: error.hint})
}
