import {constants, type Stats} from 'node:fs'
import {lstat, open, type FileHandle} from 'node:fs/promises'
import os from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {lockHeld, RedreplError, refused} from '../errors.js'
import {absentAsUndefined, ioError} from './io-error.js'
import {processStartTime} from './processes.js'

/**
 * redrepl's writers take turns on a layout through a kernel lock: a
 * whole-file write lock held on an open descriptor of `.redrepl.lock` for
 * the whole run (an open-file-description lock on Linux, through
 * fs-native-extensions). The kernel drops it when the process ends, however
 * it ends, so a crashed run never blocks the next one; on a shared file
 * system the server arbitrates it, so a holder on another host is never
 * taken over. Exclusion never depends on the file's content, which only
 * words the message of a run that finds the lock taken. The file is never
 * deleted: a run that locked a deleted file would not exclude one that
 * locks its replacement.
 */

export interface LockHolder {
  pid: number
  start_time?: string
  hostname: string
  command: string
  acquired_at: string
}

export interface LayoutLock {
  release(): Promise<void>
}

const POLL_MS = 50
/**
 * Every lock this process holds. Node closes a FileHandle that is garbage
 * collected, which would drop the lock while its holder still works: this
 * keeps each one reachable until it is released.
 */
const heldLocks = new Set<FileHandle>()
/** Room for any record redrepl writes; a longer file is someone else's. */
const MAX_RECORD_BYTES = 4096
/** Longest field quoted from a record, so a planted file cannot flood the message. */
const MAX_FIELD_CHARS = 120

type TryLock = (fd: number) => boolean

async function loadTryLock(lockPath: string): Promise<TryLock> {
  try {
    return (await import('fs-native-extensions')).tryLock
  } catch (error) {
    throw new RedreplError('failure', `${lockPath}: cannot lock: the file-locking addon does not load on this platform (${(error as Error).message})`)
  }
}

function kindOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link'
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a FIFO'
  if (info.isSocket()) return 'a socket'
  return 'a device'
}

function notALockFile(lockPath: string, kind: string): RedreplError {
  return refused(`${lockPath}: is ${kind}, not the regular file redrepl locks`, {hint: 'remove it (redrepl creates the lock file itself) and find out what put it there'})
}

/** Opens (creating if need be) the lock file, which must be a regular file and never a link. */
async function openLockFile(lockPath: string): Promise<FileHandle> {
  const before = await lstat(lockPath).catch(absentAsUndefined('stat the layout lock', lockPath))
  // Checked before opening, so a FIFO is never opened at all.
  if (before !== undefined && !before.isFile()) throw notALockFile(lockPath, kindOf(before))
  let handle: FileHandle
  try {
    handle = await open(lockPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOOP') throw notALockFile(lockPath, 'a symbolic link')
    if (code === 'EISDIR') throw notALockFile(lockPath, 'a directory')
    throw ioError('open the layout lock', lockPath, error)
  }
  const info = await handle.stat()
  if (!info.isFile() || info.nlink > 1) {
    await handle.close()
    // A hard link would have the holder record written into another file.
    throw notALockFile(lockPath, info.isFile() ? 'a hard link to another file' : kindOf(info))
  }
  return handle
}

function tryLockOrThrow(tryLock: TryLock, handle: FileHandle, lockPath: string): boolean {
  try {
    return tryLock(handle.fd)
  } catch (error) {
    // POSIX lets a conflict be reported as EACCES as well as EAGAIN.
    if ((error as NodeJS.ErrnoException).code === 'EACCES') return false
    throw ioError('lock', lockPath, error, {hint: 'the layout must be on a file system that supports POSIX locks'})
  }
}

/** Whether the path still names the file we locked (it may have been deleted or replaced meanwhile). */
async function stillAtPath(handle: FileHandle, lockPath: string): Promise<boolean> {
  const [locked, named] = await Promise.all([handle.stat(), lstat(lockPath).catch(absentAsUndefined('stat the layout lock', lockPath))])
  return named !== undefined && named.dev === locked.dev && named.ino === locked.ino
}

async function readRecord(handle: FileHandle): Promise<string> {
  const buffer = Buffer.alloc(MAX_RECORD_BYTES)
  const {bytesRead} = await handle.read(buffer, 0, buffer.length, 0)
  return buffer.subarray(0, bytesRead).toString('utf8')
}

/**
 * Who holds the lock, worded from whatever the file holds: a record any
 * field of which may be missing, of the wrong type, or garbage.
 */
export function describeHolder(text: string): string {
  if (text.trim() === '') return 'another redrepl run (it has not recorded itself yet)'
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch {
    return 'another process (the lock file holds no readable record)'
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return 'another process (the lock file holds no readable record)'
  const fields = record as Record<string, unknown>
  const stringField = (name: string) => {
    const value = fields[name]
    return typeof value === 'string' && value !== '' ? value.slice(0, MAX_FIELD_CHARS) : undefined
  }
  const pid = typeof fields.pid === 'number' && Number.isSafeInteger(fields.pid) && fields.pid > 0 ? String(fields.pid) : 'unknown'
  const command = stringField('command')
  return `${command === undefined ? 'a redrepl run' : `redrepl ${command}`} (pid ${pid} on ${stringField('hostname') ?? 'unknown host'}, since ${stringField('acquired_at') ?? 'unknown'})`
}

async function writeRecord(handle: FileHandle, command: string): Promise<void> {
  const holder: LockHolder = {
    pid: process.pid,
    start_time: processStartTime(process.pid),
    hostname: os.hostname(),
    command,
    acquired_at: new Date().toISOString(),
  }
  const bytes = Buffer.from(JSON.stringify(holder))
  try {
    await handle.write(bytes, 0, bytes.length, 0)
    await handle.truncate(bytes.length)
  } catch {
    // The record only words others' messages: a full disk must not stop a run that holds the lock.
    await handle.truncate(0).catch(() => {})
  }
}

/**
 * Takes the layout lock, polling for up to `wait` ms while another run
 * holds it; then fails with kind 'locked', naming the holder.
 */
export async function acquireLayoutLock(lockPath: string, options: {command: string; wait?: number; signal?: AbortSignal}): Promise<LayoutLock> {
  const tryLock = await loadTryLock(lockPath)
  const deadline = Date.now() + (options.wait ?? 0)
  for (;;) {
    const handle = await openLockFile(lockPath)
    let kept = false
    try {
      while (!tryLockOrThrow(tryLock, handle, lockPath)) {
        if (Date.now() >= deadline) {
          throw lockHeld(`${lockPath}: held by ${describeHolder(await readRecord(handle))}`, {hint: 'try again when it has finished, or let a run wait for it with --wait SECONDS'})
        }
        // An interrupt ends a --wait at once.
        options.signal?.throwIfAborted()
        await sleep(POLL_MS)
      }
      if (await stillAtPath(handle, lockPath)) {
        await writeRecord(handle, options.command)
        kept = true
        heldLocks.add(handle)
        return {release: releaser(handle)}
      }
    } finally {
      if (!kept) await handle.close().catch(() => {})
    }
  }
}

/** Empties the record (a run that finds the lock free again must not name us) and closes, which drops the lock. */
function releaser(handle: FileHandle): () => Promise<void> {
  let released = false
  return async () => {
    if (released) return
    released = true
    await handle.truncate(0).catch(() => {})
    await handle.close().catch(() => {})
    heldLocks.delete(handle)
  }
}
