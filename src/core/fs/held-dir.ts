import {constants, type Stats} from 'node:fs'
import {lstat, mkdir, open, readdir, realpath, rmdir, unlink, type FileHandle} from 'node:fs/promises'
import path from 'node:path'

import {RedreplError, refused} from '../errors.js'
import {absentAsUndefined, ioError} from './io-error.js'

/**
 * Directories held open by descriptor, for walks, writes and deletes that
 * must stay inside one tree. Each directory is opened with
 * O_DIRECTORY|O_NOFOLLOW from its parent's descriptor, so a symbolic link
 * anywhere on the way is refused rather than followed, and a directory
 * renamed or swapped for a link after it was opened cannot redirect what
 * happens inside it. Node has no openat(), but on Linux an entry of an open
 * directory can be named `/proc/self/fd/<fd>/<name>`: the kernel resolves
 * the descriptor, not the path it was opened by. Elsewhere the entry's
 * path is used, checked by lstat as it is reached (a narrower guarantee).
 */

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

let procNames: boolean | undefined
function byDescriptor(): boolean {
  procNames ??= process.platform === 'linux'
  return procNames
}

/** Why a name is not a directory redrepl may enter, as a refusal naming it. */
export function linkRefusal(shown: string, where: string): RedreplError {
  return refused(`${shown}: is a symbolic link; links are not followed inside ${where}`, {code: 'path.symlink'})
}

export class HeldDir {
  private constructor(
    private readonly handle: FileHandle,
    /** The directory's path, for messages. */
    readonly path: string,
    /** What the tree is ("the repository"), for messages. */
    readonly where: string,
  ) {}

  get fd(): number {
    return this.handle.fd
  }

  /**
   * Opens `dir` itself without following a link at its last component
   * (its parents are the caller's to trust: a root resolved once with
   * realpath). Undefined when it does not exist.
   */
  static async open(dir: string, where: string): Promise<HeldDir | undefined> {
    return HeldDir.openAt(dir, dir, where)
  }

  private static async openAt(address: string, shown: string, where: string): Promise<HeldDir | undefined> {
    let handle: FileHandle
    try {
      handle = await open(address, DIR_FLAGS)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return undefined
      if (code === 'ELOOP') throw linkRefusal(shown, where)
      if (code === 'ENOTDIR') {
        // O_NOFOLLOW|O_DIRECTORY on a link gives ENOTDIR on some kernels: say which.
        const info = await lstat(address).catch(absentAsUndefined('stat', shown))
        if (info?.isSymbolicLink()) throw linkRefusal(shown, where)
        throw new RedreplError('failure', `${shown}: exists and is not a directory`)
      }
      throw ioError('open the directory', shown, error)
    }
    return new HeldDir(handle, shown, where)
  }

  /** How to reach `name` inside this directory without resolving this directory's path again. */
  at(name: string): string {
    checkName(name)
    return byDescriptor() ? `/proc/self/fd/${this.handle.fd}/${name}` : path.join(this.path, name)
  }

  /** `name`'s path, for messages. */
  shown(name: string): string {
    return path.join(this.path, name)
  }

  /** A subdirectory, never through a link; undefined when missing (created first with `create`). */
  async child(name: string, options: {create?: boolean} = {}): Promise<HeldDir | undefined> {
    const found = await HeldDir.openAt(this.at(name), this.shown(name), this.where)
    if (found !== undefined || !options.create) return found
    try {
      await mkdir(this.at(name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError('create the directory', this.shown(name), error)
    }
    await this.sync()
    const made = await HeldDir.openAt(this.at(name), this.shown(name), this.where)
    if (made === undefined) throw new RedreplError('failure', `${this.shown(name)}: vanished as it was created`)
    return made
  }

  /** The names in this directory. */
  async names(): Promise<string[]> {
    try {
      return await readdir(byDescriptor() ? `/proc/self/fd/${this.handle.fd}` : this.path)
    } catch (error) {
      throw ioError('list', this.path, error)
    }
  }

  /** What `name` is, a link itself and not its target; undefined when it does not exist. */
  async entry(name: string): Promise<Stats | undefined> {
    try {
      return await lstat(this.at(name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw ioError('stat', this.shown(name), error)
    }
  }

  /**
   * Unlinks `name` from this very directory (a link is removed, never its
   * target); false when it was already gone. The caller syncs once after
   * its removals.
   */
  async unlink(name: string): Promise<boolean> {
    try {
      await unlink(this.at(name))
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw ioError('delete', this.shown(name), error)
    }
  }

  /** Removes the empty directory `name` from this very directory. */
  async removeDir(name: string): Promise<void> {
    try {
      await rmdir(this.at(name))
    } catch (error) {
      throw ioError('remove', this.shown(name), error)
    }
  }

  /**
   * Whether this directory, where it is now, still lies inside `tree` (a
   * resolved path): asked right before a removal, so a directory moved out
   * of its tree since it was opened loses nothing.
   */
  async inside(tree: string): Promise<boolean> {
    let here: string
    try {
      here = await realpath(byDescriptor() ? `/proc/self/fd/${this.handle.fd}` : this.path)
    } catch {
      return false
    }
    return here === tree || here.startsWith(tree.endsWith(path.sep) ? tree : tree + path.sep)
  }

  async sync(): Promise<void> {
    try {
      await this.handle.sync()
    } catch (error) {
      throw ioError('sync the directory', this.path, error)
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {})
  }
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new RedreplError('failure', `${JSON.stringify(name)} is not a plain directory entry name`)
}

/**
 * Opens `root`, then each of `parts` below it from its parent's descriptor
 * (created when missing with `create`); undefined when one is missing.
 * Every directory opened on the way but the last is closed.
 */
export async function openBelow(root: HeldDir, parts: string[], options: {create?: boolean} = {}): Promise<HeldDir | undefined> {
  let current: HeldDir = root
  for (const part of parts) {
    let next: HeldDir | undefined
    try {
      next = await current.child(part, options)
    } finally {
      if (current !== root) await current.close()
    }
    if (next === undefined) return undefined
    current = next
  }
  return current
}

/**
 * An operator-typed directory resolved once (it may itself be a link, or
 * lie under one), so everything below is reached from what it is now. A
 * missing directory resolves through its deepest existing ancestor.
 */
export async function resolveOnce(dir: string): Promise<string> {
  const absolute = path.resolve(dir)
  const missing: string[] = []
  for (let probe = absolute; ; probe = path.dirname(probe)) {
    try {
      return path.join(await realpath(probe), ...missing.reverse())
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path.dirname(probe) === probe) return absolute
      missing.push(path.basename(probe))
    }
  }
}

/**
 * Removes the directory `name` of `parent` if it holds only regular files
 * that `removable` accepts: those are unlinked through the directory's own
 * descriptor, then the directory itself. Anything else inside (a link, a
 * subdirectory, a file of another name) is left, and so is the directory;
 * the names left are returned. A link at `name` is refused, never followed.
 */
export async function removeDirOf(parent: HeldDir, name: string, removable: (entry: string) => boolean): Promise<{removed: number; left: string[]}> {
  const dir = await parent.child(name)
  if (dir === undefined) return {removed: 0, left: []}
  let removed = 0
  const left: string[] = []
  try {
    for (const entry of (await dir.names()).sort()) {
      if (removable(entry) && (await dir.entry(entry))?.isFile()) {
        if (await dir.unlink(entry)) removed++
      } else left.push(dir.shown(entry))
    }
    if (removed > 0) await dir.sync()
  } finally {
    await dir.close()
  }
  if (left.length === 0) {
    await parent.removeDir(name)
    await parent.sync()
  }
  return {removed, left}
}

/**
 * Opens a directory of a RedDB layout for removals inside it: the layout
 * root resolved once (an operator may link it), each part below opened
 * without following a link, except that the last may be an operator's
 * link of a whole wal/ or basebackup/ directory (`linkableLast`), opened
 * where it leads. Undefined when a part is missing.
 */
export async function openInLayout(root: string, parts: string[], options: {linkableLast: boolean}): Promise<HeldDir | undefined> {
  const where = 'the layout'
  const top = await HeldDir.open(await resolveOnce(root), where)
  if (top === undefined) return undefined
  const last = parts.at(-1)
  const parent = parts.length === 0 ? top : await openBelow(top, parts.slice(0, -1)).finally(() => (parts.length > 1 ? top.close() : undefined))
  if (parent === undefined || last === undefined) return parent
  try {
    const info = await parent.entry(last)
    if (info === undefined) return undefined
    if (!info.isSymbolicLink()) return await parent.child(last)
    if (!options.linkableLast) throw linkRefusal(parent.shown(last), where)
    const target = await realpath(parent.at(last)).catch(absentAsUndefined('resolve', parent.shown(last)))
    return target === undefined ? undefined : await HeldDir.open(target, where)
  } finally {
    await parent.close()
  }
}

const TIMELINE_DIR = /^timeline-\d{20}$/

/**
 * Refuses a layout in which a directory RedDB makes itself is a symbolic
 * link: a timeline directory, a timeline's relay/, or a replica's relay
 * directory. Writers call it under the layout lock right before they write,
 * so none of them creates or replaces a file through such a link. The
 * layout root (resolved once) and a whole wal/ or basebackup/ directory are
 * an operator's links to another disk, and stay allowed. Every directory is
 * reached from its parent's descriptor, never by a path resolved again.
 */
export async function assertNoLinkedLayoutDirs(root: string): Promise<void> {
  const where = 'the layout'
  const top = await HeldDir.open(await resolveOnce(root), where)
  if (top === undefined) return
  try {
    for (const name of (await top.names()).filter((each) => TIMELINE_DIR.test(each)).sort()) {
      const info = await top.entry(name)
      if (info?.isSymbolicLink()) throw linkRefusal(top.shown(name), where)
      // Anything else of a timeline's name that is not a directory is not this rule's to judge.
      const timeline = info?.isDirectory() ? await top.child(name) : undefined
      if (timeline === undefined) continue
      try {
        const relay = await timeline.child('relay')
        if (relay === undefined) continue
        try {
          for (const replica of (await relay.names()).sort()) {
            if ((await relay.entry(replica))?.isSymbolicLink()) throw linkRefusal(relay.shown(replica), where)
          }
        } finally {
          await relay.close()
        }
      } finally {
        await timeline.close()
      }
    }
  } finally {
    await top.close()
  }
}
