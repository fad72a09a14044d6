import {constants} from 'node:fs'
import {open, rename, rm, unlink, type FileHandle} from 'node:fs/promises'
import path from 'node:path'

import {RedreplError} from '../errors.js'
import {replaceExtension} from '../layout.js'
import {crashPoint} from './crash.js'

/**
 * Durable file replacement: temp file in the same directory, written and
 * fsynced, renamed over the target, directory fsynced. The temp file is
 * named as RedDB names its own (`relay.redmanifest` → `relay.tmp`): both
 * writers take the node's files in turn (the layout lock for ours), and a
 * name that RedDB already ignores keeps a leftover harmless to it.
 */

export interface AtomicOptions {
  /** Names the crash points of this write: `<label>:after-temp-write`, `:after-temp-fsync`, `:after-rename`. */
  label?: string
}

export function tempPathFor(target: string): string {
  const temp = replaceExtension(target, 'tmp')
  return temp === target ? `${target}.tmp` : temp
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** An I/O failure while writing `target`, as one line; redrepl's own errors pass through. */
export function writeFailure(target: string, error: unknown): RedreplError {
  if (error instanceof RedreplError) return error
  const code = (error as NodeJS.ErrnoException).code
  const reason =
    code === 'ENOSPC' ? 'no space left on device' : code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message
  return new RedreplError('failure', `${target}: cannot write: ${reason}; nothing was changed`)
}

/**
 * Writes a file atomically through a producer that streams into the open
 * temp file; on any failure the temp file is removed and the target is left
 * as it was.
 */
export async function writeStreamAtomic(target: string, produce: (handle: FileHandle) => Promise<void>, options: AtomicOptions = {}): Promise<void> {
  const temp = tempPathFor(target)
  const label = options.label ?? path.basename(target)
  let handle: FileHandle | undefined
  try {
    handle = await open(temp, 'w', 0o644)
    await produce(handle)
    crashPoint(`${label}:after-temp-write`)
    await handle.sync()
    crashPoint(`${label}:after-temp-fsync`)
    await handle.close()
    handle = undefined
    await rename(temp, target)
    crashPoint(`${label}:after-rename`)
    await fsyncDir(path.dirname(target))
  } catch (error) {
    await handle?.close().catch(() => {})
    await rm(temp, {force: true}).catch(() => {})
    throw writeFailure(target, error)
  }
}

export async function writeFileAtomic(target: string, data: Uint8Array | string, options: AtomicOptions = {}): Promise<void> {
  await writeStreamAtomic(target, (handle) => handle.writeFile(data), options)
}

/** Unlinks a file and makes the removal durable. */
export async function removeFileDurable(file: string): Promise<void> {
  await unlink(file)
  await fsyncDir(path.dirname(file))
}

/** Renames and makes the rename durable in both directories. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to)
  await fsyncDir(path.dirname(to))
  if (path.dirname(from) !== path.dirname(to)) await fsyncDir(path.dirname(from))
}
