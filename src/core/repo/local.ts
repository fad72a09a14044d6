import {createReadStream} from 'node:fs'
import {lstat, readdir, unlink} from 'node:fs/promises'
import path from 'node:path'

import {notFound, RedreplError} from '../errors.js'
import {canCopyFromDescriptor, copyFileAtomic, fsyncDir, ioReason, mkdirDurable, writeStreamAtomic, type AtomicOptions} from '../fs/atomic.js'
import {writeAllAtSync} from '../fs/stream.js'
import type {PutOptions, RepoBackend, RepoObject} from './backend.js'
import {checkKey} from './keys.js'

const READ_PIECE_BYTES = 1024 * 1024
/** Temp files of our own atomic writes (and RedDB-style `.tmp-` names): never listed as objects. */
const isTemp = (name: string) => name.endsWith('.tmp') || /\.tmp-[0-9a-z-]+$/i.test(name)

/**
 * A repository in a local directory (a second disk, an NFS mount). Each
 * object is a file under the root, written through fs/atomic so it appears
 * whole or not at all; links are never followed when listing.
 */
export class LocalBackend implements RepoBackend {
  readonly defaultJobs = 8
  /** Directories whose new names wait for flush: one fsync each, however many objects landed there. */
  private readonly unsynced = new Set<string>()

  constructor(
    readonly root: string,
    readonly location: string,
  ) {}

  describe(key: string): string {
    return path.join(this.root, checkKey(key))
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    const info = await lstat(this.describe(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined
      throw new RedreplError('failure', `${this.describe(key)}: cannot stat: ${error.message}`)
    })
    return info?.isFile() ? {size: BigInt(info.size)} : null
  }

  async *list(prefix: string): AsyncIterable<RepoObject> {
    // Walk from the deepest directory the prefix names; filter the rest by name.
    const slash = prefix.lastIndexOf('/')
    const start = slash < 0 ? '' : prefix.slice(0, slash)
    yield* this.walk(start, prefix)
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<RepoObject> {
    const dir = dirKey === '' ? this.root : path.join(this.root, dirKey)
    let names: string[]
    try {
      names = await readdir(dir)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return
      throw new RedreplError('failure', `${dir}: cannot list: ${(error as Error).message}`)
    }
    for (const name of names.sort()) {
      const key = dirKey === '' ? name : `${dirKey}/${name}`
      if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue
      const info = await lstat(path.join(dir, name))
      if (info.isDirectory()) yield* this.walk(key, prefix)
      else if (info.isFile() && !isTemp(name)) yield {key, size: BigInt(info.size), modified_unix_ms: BigInt(Math.trunc(info.mtimeMs))}
    }
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    const file = this.describe(key)
    const info = await lstat(file).catch(() => undefined)
    if (!info?.isFile()) throw notFound(`${file}: no such object in the repository`)
    try {
      for await (const piece of createReadStream(file, {highWaterMark: READ_PIECE_BYTES})) yield piece as Buffer
    } catch (error) {
      if (error instanceof RedreplError) throw error
      throw new RedreplError('failure', `${file}: cannot read: ${(error as Error).message}`)
    }
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const file = this.describe(key)
    const dir = path.dirname(file)
    await mkdirDurable(dir)
    const atomic = {label: 'repo-local-put', deferDirSync: true}
    const source = options.localSource
    if (source !== undefined && canCopyFromDescriptor()) {
      // Stored as it is: the kernel copies the bytes, and the check reads the copy back from the page cache.
      await copyFileAtomic(file, source.fd, (handle) => source.check(handle.fd), atomic)
    } else await this.write(file, body, atomic)
    this.unsynced.add(dir)
  }

  async flush(): Promise<void> {
    for (const dir of this.unsynced) {
      await fsyncDir(dir).catch((error) => {
        throw new RedreplError('failure', `${dir}: cannot sync the directory (${ioReason(error)}): objects written there may not survive a crash`)
      })
      this.unsynced.delete(dir)
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

  async delete(key: string): Promise<void> {
    const file = this.describe(key)
    try {
      await unlink(file)
      await fsyncDir(path.dirname(file))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new RedreplError('failure', `${file}: cannot delete: ${(error as Error).message}`)
    }
  }

  async close(): Promise<void> {}
}
