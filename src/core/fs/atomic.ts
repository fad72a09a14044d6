import {randomBytes} from 'node:crypto'
import {constants, existsSync, openSync, unlinkSync} from 'node:fs'
import {copyFile, link, mkdir, open, readdir, rename, stat, unlink, type FileHandle} from 'node:fs/promises'
import path from 'node:path'

import {RedreplError, refused} from '../errors.js'
import {crashPoint} from './crash.js'
import {ioError, ioReason} from './io-error.js'
import {isProcessAlive} from './processes.js'

/**
 * Durable writes: file replacement (temp file in the target's directory,
 * written and fsynced, renamed over the target, directory fsynced) and
 * directory creation (each new directory's parent fsynced).
 *
 * Temp files get names nobody can guess, `<target name>.<pid>-<random>.tmp`,
 * created with O_CREAT|O_EXCL|O_NOFOLLOW: a link planted at a temp name is
 * never written through, and a neighbour that happens to be called `x.tmp`
 * is never touched. RedDB names its own temps by replacing the extension
 * (`relay.redmanifest` → `relay.tmp`, format §1); sharing that name would
 * let our write and a live node's (wal prune, relay append and basebackup
 * create run next to one) truncate or rename each other's file. Ours end in
 * `.tmp` too, which RedDB's readers never look at. A leftover of a killed
 * run is removed by the next write of the same target made under the layout
 * lock, which excludes every other redrepl writer of that directory.
 */

export interface AtomicOptions {
  /** Names the crash points of this write: `<label>:after-temp-write`, `:after-temp-fsync`, `:after-rename`. */
  label?: string
  /** Never replace an existing target: the file is hard-linked into place, which fails if the name exists, even if it appeared meanwhile. */
  ifAbsent?: boolean
  /**
   * Remove this target's temps left by killed runs: all of them when the
   * caller holds the layout lock that every redrepl writer of the directory
   * takes (`true`); outside a layout (`'dead-writers'`), only those whose
   * writer's pid is gone, since an overlapping run may be writing its own.
   */
  clearLeftovers?: boolean | 'dead-writers'
  /** Told each leftover temp that clearLeftovers removed. */
  onLeftoverRemoved?: (temp: string) => void
  /** Runs once the new content is durable in the temp file, just before it takes the target's name. */
  beforeReplace?: () => Promise<void>
  /**
   * Leave the directory's fsync to the caller, who makes the new name
   * durable later with one fsync for many files (fsyncDir). The content is
   * durable before the rename either way, so the name never outlives a crash
   * pointing at anything but the whole new file.
   */
  deferDirSync?: boolean
  /**
   * Tells where the writer runs, in the temp name
   * (`<target name>.<pid>-<random>.<tag>.tmp`): a directory several hosts
   * share judges a temp's pid only on the host whose tag it carries.
   */
  tempTag?: string
}

/** What `tempPathFor` puts after `<target name>.`. */
const TEMP_TAIL = /^\d+-[0-9a-f]{16}\.tmp$/
/**
 * The temp files this process has made and not yet renamed into place or
 * removed: what an interrupted run still has to remove on its way out.
 */
const unfinishedTemps = new Set<string>()

/** Longest target name kept in a temp name, so the temp name stays within NAME_MAX (255 bytes). */
const MAX_NAME_IN_TEMP_BYTES = 128

function tempPrefix(target: string): string {
  const name = path.basename(target)
  return Buffer.byteLength(name) <= MAX_NAME_IN_TEMP_BYTES ? name : 'redrepl'
}

/** A fresh temp path beside `target`: its name plus this process's pid and 64 random bits (and `tag`, see AtomicOptions.tempTag). */
export function tempPathFor(target: string, tag?: string): string {
  const tail = tag === undefined ? 'tmp' : `${tag}.tmp`
  return path.join(path.dirname(target), `${tempPrefix(target)}.${process.pid}-${randomBytes(8).toString('hex')}.${tail}`)
}

/**
 * Names of temporary files and dirs that interrupted writes leave: ours
 * (`x.redmanifest.<pid>-<random>.tmp`), RedDB's (`relay.tmp`) and base
 * backup staging dirs (`….parts.tmp-<pid>-<nanos>`, format §6).
 */
export function isTemporaryName(name: string): boolean {
  return name.endsWith('.tmp') || /\.tmp-\d+-\d+$/.test(name)
}

/** An I/O failure while writing `target`, as one line; redrepl's own errors pass through. */
export function writeFailure(target: string, error: unknown): RedreplError {
  return ioError('write', target, error)
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Creates `dir` and its missing parents, fsyncing each new directory's
 * parent, so a file reported as written inside never vanishes with its
 * directory in a crash. Existing directories, and links to directories an
 * operator made, are used as they are.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const missing: string[] = []
  for (let current = dir; ; current = path.dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      // ENOTDIR: a parent is in the way, which the walk up then names.
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
      throw ioError('create the directory', current, error)
    })
    if (info?.isDirectory()) break
    if (info !== undefined) throw new RedreplError('failure', `${current}: exists and is not a directory`)
    missing.push(current)
    if (path.dirname(current) === current) break
  }
  for (const each of missing.reverse()) {
    try {
      await mkdir(each)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create the directory', each, error)
      // Made by another run meanwhile; a dangling link there is not a directory.
      if (!(await stat(each).then((info) => info.isDirectory(), () => false))) throw new RedreplError('failure', `${each}: exists and is not a directory`)
    }
    await fsyncDir(path.dirname(each)).catch((error) => {
      throw ioError('sync the directory', path.dirname(each), error)
    })
  }
}

const NEW_FILE_MODE = 0o644

/** Creates a file that must not exist yet: whatever is at the name, a link included, makes it fail (EEXIST) untouched. */
export async function openNewFile(file: string): Promise<FileHandle> {
  return open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, NEW_FILE_MODE)
}

/**
 * openNewFile without the thread pool, for a writer that opens many files
 * while fsyncs occupy the pool's threads: queued behind them, each open
 * would stall the copy until a flush finished.
 */
export function openNewFileSync(file: string): number {
  return openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, NEW_FILE_MODE)
}

/** Draws temp names beside `target` until `create` makes a file at one that was free; what it made, and where. */
async function atFreshTempName<T>(target: string, create: (temp: string) => Promise<T>, tag?: string): Promise<{temp: string; made: T}> {
  for (let attempt = 0; ; attempt++) {
    const temp = tempPathFor(target, tag)
    // Known before it exists: a kernel copy creates the file in the thread pool, and an interrupted run removes it (removeUnfinishedTempsSync).
    unfinishedTemps.add(temp)
    try {
      return {temp, made: await create(temp)}
    } catch (error) {
      unfinishedTemps.delete(temp)
      // 64 random bits: a taken name is someone's plant, and a new draw avoids it.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error
    }
  }
}

async function createTemp(target: string, tag?: string): Promise<{temp: string; handle: FileHandle}> {
  const {temp, made} = await atFreshTempName(target, openNewFile, tag)
  return {temp, handle: made}
}

/**
 * A temp beside `target` holding a copy, made inside the kernel
 * (copy_file_range), of the file open at `sourceFd`. The copy is created as
 * createTemp's files are: a name taken, a link there included, fails with
 * EEXIST untouched (libuv opens it O_CREAT|O_EXCL and removes it itself if
 * the copy fails half-way).
 */
async function copyToTemp(target: string, sourceFd: number, tag?: string): Promise<{temp: string; handle: FileHandle}> {
  // The descriptor's /proc name reopens the very file already opened and checked, not whatever its path names now.
  const {temp} = await atFreshTempName(target, (name) => copyFile(`/proc/self/fd/${sourceFd}`, name, constants.COPYFILE_EXCL), tag)
  let handle: FileHandle | undefined
  try {
    handle = await open(temp, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    if (!(await handle.stat()).isFile()) throw new Error('the temp file was replaced by something else')
    // libuv gives the copy its source's mode; it gets the one openNewFile gives every other file.
    await handle.chmod(NEW_FILE_MODE & ~process.umask())
    return {temp, handle}
  } catch (error) {
    await handle?.close().catch(() => {})
    await unlink(temp).catch(() => {})
    throw error
  }
}

let descriptorNames: boolean | undefined

/** Whether an open file can be named by its descriptor (`/proc/self/fd`), which copyFileAtomic needs. */
export function canCopyFromDescriptor(): boolean {
  descriptorNames ??= process.platform === 'linux' && existsSync('/proc/self/fd')
  return descriptorNames
}

/** Whether `name` is a temp file that `tempPathFor(target)` could have made. */
export function isTempNameOf(name: string, target: string): boolean {
  const prefix = `${tempPrefix(target)}.`
  return name.startsWith(prefix) && TEMP_TAIL.test(name.slice(prefix.length))
}

/** Removes temps of `target` that killed runs left: only names this module makes. Returns those removed. */
async function removeLeftoverTemps(target: string, onlyDeadWriters: boolean): Promise<string[]> {
  const dir = path.dirname(target)
  const removed: string[] = []
  for (const name of await readdir(dir)) {
    if (!isTempNameOf(name, target)) continue
    const pid = Number(name.slice(tempPrefix(target).length + 1).split('-')[0])
    if (onlyDeadWriters && isProcessAlive(pid)) continue
    // Best effort: a leftover that stays is harmless, and layout verify notes it.
    await unlink(path.join(dir, name)).then(
      () => removed.push(path.join(dir, name)),
      () => {},
    )
  }
  return removed
}

/**
 * Removes, synchronously, every temp file of this process not yet in place:
 * for a run ending on a signal while writes are in flight. A temp renamed
 * meanwhile is already gone from its name (ENOENT), so a file in place is
 * never touched. Returns the temps removed.
 */
export function removeUnfinishedTempsSync(): string[] {
  const removed: string[] = []
  for (const temp of unfinishedTemps) {
    try {
      unlinkSync(temp)
      removed.push(temp)
    } catch {
      // Gone already (renamed into place, or removed by its writer).
    }
  }
  unfinishedTemps.clear()
  return removed
}

/**
 * Writes a file atomically through a producer that streams into the open
 * temp file. On a failure before the new file takes the target's name, the
 * temp file is removed and the target is left as it was; the message says
 * only that, since what else the operation changed is the caller's to say.
 */
export async function writeStreamAtomic(target: string, produce: (handle: FileHandle) => Promise<void>, options: AtomicOptions = {}): Promise<void> {
  await replaceAtomic(target, () => createTemp(target, options.tempTag), produce, options)
}

/**
 * Writes a copy of the file open at `sourceFd` atomically, the bytes copied
 * inside the kernel, never through this process (see canCopyFromDescriptor).
 * `check` reads the copy from the open temp file and throws to keep it from
 * taking the target's name.
 */
export async function copyFileAtomic(target: string, sourceFd: number, check: (handle: FileHandle) => Promise<void>, options: AtomicOptions = {}): Promise<void> {
  await replaceAtomic(target, () => copyToTemp(target, sourceFd, options.tempTag), check, options)
}

async function replaceAtomic(
  target: string,
  makeTemp: () => Promise<{temp: string; handle: FileHandle}>,
  produce: (handle: FileHandle) => Promise<void>,
  options: AtomicOptions,
): Promise<void> {
  const dir = path.dirname(target)
  const label = options.label ?? path.basename(target)
  let temp: string | undefined
  let handle: FileHandle | undefined
  let placed = false
  try {
    if (options.clearLeftovers) for (const removed of await removeLeftoverTemps(target, options.clearLeftovers === 'dead-writers')) options.onLeftoverRemoved?.(removed)
    ;({temp, handle} = await makeTemp())
    await produce(handle)
    crashPoint(`${label}:after-temp-write`)
    await handle.sync()
    crashPoint(`${label}:after-temp-fsync`)
    await handle.close()
    handle = undefined
    await options.beforeReplace?.()
    if (options.ifAbsent) {
      await link(temp, target)
      placed = true
      // The new file is in place under both names; a temp name left behind is only a leftover.
      await unlink(temp).catch(() => {})
      unfinishedTemps.delete(temp)
    } else {
      await rename(temp, target)
      placed = true
      unfinishedTemps.delete(temp)
    }
    crashPoint(`${label}:after-rename`)
  } catch (error) {
    await handle?.close().catch(() => {})
    if (!placed && temp !== undefined) await unlink(temp).catch(() => {})
    if (temp !== undefined) unfinishedTemps.delete(temp)
    if (error instanceof RedreplError) throw error
    if (options.ifAbsent && (error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw refused(`${target}: exists`, {hint: 'it appeared while this run was writing, and was left as it was'})
    }
    throw ioError('write', target, error)
  }
  if (options.deferDirSync) return
  await fsyncDir(dir).catch((error) => {
    throw new RedreplError('failure', `${target}: written, but its directory could not be synced (${ioReason(error)}): the new file may not survive a crash`)
  })
}

export async function writeFileAtomic(target: string, data: Uint8Array | string, options: AtomicOptions = {}): Promise<void> {
  await writeStreamAtomic(target, (handle) => handle.writeFile(data), options)
}

/** Unlinks a file and makes the removal durable; false when there was no such file. */
export async function removeFileDurable(file: string): Promise<boolean> {
  try {
    await unlink(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  await fsyncDir(path.dirname(file))
  return true
}
