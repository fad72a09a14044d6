import {closeSync, constants, fstatSync, lstatSync, openSync, statSync, type Stats} from 'node:fs'
import {lstat, open, stat, type FileHandle} from 'node:fs/promises'

import {RedreplError} from '../errors.js'
import {ioError, isMissing} from './io-error.js'
import {readFullySync} from './stream.js'

/**
 * Every file redrepl reads is opened here, so none can hang it or fill its
 * memory: only a regular file is read (a FIFO, device, socket or directory
 * is refused with one line naming it), its size is checked against the
 * caller's cap on the open descriptor before a byte is read, and a read
 * never takes more than the size seen then (a file that grows meanwhile
 * cannot push it further).
 *
 * Symbolic links are followed, to a regular file only: RedDB reads through
 * them too, an operator may link a file to another disk, and writers replace
 * a link by rename rather than write through it (fs/atomic.ts). Paths taken
 * from a manifest are kept inside their directory by fs/contained.ts first.
 */

/**
 * O_NONBLOCK so that opening a FIFO returns at once instead of waiting for a
 * writer (it has no effect on a regular file's reads); O_NOCTTY so a terminal
 * named as an artifact never becomes the controlling one.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

/**
 * Opens a file read-only without waiting on a FIFO (O_NONBLOCK), whatever
 * its type, for a caller that checks the descriptor's stat itself and
 * translates the open's errors (the config loader: ENOENT means no config).
 */
export function openReadOnlyNonBlocking(file: string): Promise<FileHandle> {
  return open(file, constants.O_RDONLY | constants.O_NONBLOCK)
}

export interface OpenedFile {
  path: string
  handle: FileHandle
  /** The size when it was opened: reads stop there. */
  size: number
}

function typeOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link'
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a FIFO (named pipe)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  return 'not a regular file'
}

function notRegular(file: string, info: Stats): RedreplError {
  return new RedreplError('corrupt', `${file}: is ${typeOf(info)}, not a regular file`, {code: 'artifact.not-regular'})
}

/** `what` names the artifact ("timeline history") in the message. */
function tooLarge(file: string, size: number, maxBytes: number, what: string): RedreplError {
  return new RedreplError('corrupt', `${file}: is ${size} bytes, more than any ${what} can be (at most ${maxBytes} bytes)`, {code: 'artifact.too-large'})
}

export interface OpenOptions {
  /** Refuse a file larger than this many bytes (before reading). */
  maxBytes?: number
  /** Names the artifact in the too-large message. */
  what?: string
  /** Refuse a symbolic link instead of following it (a file whose content decides what gets removed). */
  noFollow?: boolean
}

/**
 * Opens a regular file for reading, or undefined when it does not exist.
 * The type is checked by stat before opening (so a tape or terminal device
 * is never opened at all) and again on the descriptor (so a file swapped
 * between the two checks is caught).
 */
export async function openRegularIfExists(file: string, options: OpenOptions = {}): Promise<OpenedFile | undefined> {
  let before: Stats
  try {
    before = await (options.noFollow ? lstat : stat)(file)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw ioError('open', file, error)
  }
  if (!before.isFile()) throw notRegular(file, before)
  let handle: FileHandle
  try {
    handle = await open(file, options.noFollow ? READ_FLAGS | constants.O_NOFOLLOW : READ_FLAGS)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw ioError('open', file, error)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw notRegular(file, info)
    if (options.maxBytes !== undefined && info.size > options.maxBytes) throw tooLarge(file, info.size, options.maxBytes, options.what ?? 'file of this kind')
    return {path: file, handle, size: info.size}
  } catch (error) {
    await handle.close()
    throw ioError('read', file, error)
  }
}

/** Opens a regular file for reading; a missing one is not-found (exit 6). */
export async function openRegular(file: string, options: OpenOptions = {}): Promise<OpenedFile> {
  const opened = await openRegularIfExists(file, options)
  if (opened === undefined) throw new RedreplError('not-found', `${file}: no such file`)
  return opened
}

/** Refuses an open file larger than `maxBytes`, for a caller that learns the kind (and so the cap) only after opening. */
export function assertWithin(opened: OpenedFile, maxBytes: number, what: string): void {
  if (opened.size > maxBytes) throw tooLarge(opened.path, opened.size, maxBytes, what)
}

/** Reads up to `length` bytes from `position`; fewer only where the file ends. */
export async function readAt(opened: OpenedFile, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length)
  let filled = 0
  try {
    while (filled < length) {
      const {bytesRead} = await opened.handle.read(buffer, filled, length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
  } catch (error) {
    throw ioError('read', opened.path, error)
  }
  return filled === length ? buffer : buffer.subarray(0, filled)
}

/**
 * The checks of openRegularIfExists made with synchronous calls, on purpose:
 * a layout holds 100,000 small artifacts, and five
 * thread-pool round trips per file cost more than reading it. Gives an open
 * descriptor and the size, or undefined when the file does not exist.
 * `listedRegular`, when the directory listing already said regular file,
 * spares the stat before the open; the descriptor is checked all the same.
 */
function openRegularSyncIfExists(file: string, maxBytes: number, what: string, options: {noFollow?: boolean; listedRegular?: boolean}): {fd: number; size: number} | undefined {
  if (!options.listedRegular && regularStatSync(file, options.noFollow) === undefined) return undefined
  let fd: number
  try {
    fd = openSync(file, options.noFollow ? READ_FLAGS | constants.O_NOFOLLOW : READ_FLAGS)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw ioError('open', file, error)
  }
  try {
    const info = fstatSync(fd)
    if (!info.isFile()) throw notRegular(file, info)
    if (info.size > maxBytes) throw tooLarge(file, info.size, maxBytes, what)
    return {fd, size: info.size}
  } catch (error) {
    closeSync(fd)
    throw ioError('read', file, error)
  }
}

/**
 * openRegular with synchronous calls, giving a descriptor the caller closes
 * with closeSync: for the byte pipeline, which opens one file after another
 * and would otherwise wait on the thread pool for each (see fs/pace.ts).
 */
export function openRegularSync(file: string, options: OpenOptions = {}): {fd: number; size: number} {
  const opened = openRegularSyncIfExists(file, options.maxBytes ?? Number.MAX_SAFE_INTEGER, options.what ?? 'file of this kind', {noFollow: options.noFollow})
  if (opened === undefined) throw new RedreplError('not-found', `${file}: no such file`)
  return opened
}

/**
 * The size of a regular file of at most `maxBytes`, from one stat and
 * without opening it, or undefined when it does not exist: for a caller
 * that needs the sizes of many files and the bytes of few.
 */
export function sizeOfRegularSyncIfExists(file: string, maxBytes: number, what: string): number | undefined {
  const info = regularStatSync(file)
  if (info !== undefined && info.size > maxBytes) throw tooLarge(file, info.size, maxBytes, what)
  return info?.size
}

/** The stat of a regular file, undefined when it does not exist; anything else at the name is refused. */
function regularStatSync(file: string, noFollow = false): Stats | undefined {
  let info: Stats
  try {
    info = (noFollow ? lstatSync : statSync)(file)
  } catch (error) {
    if (isMissing(error)) return undefined
    throw ioError('open', file, error)
  }
  if (!info.isFile()) throw notRegular(file, info)
  return info
}

/** Reads the first `length` bytes of an open file into `into`, then closes it; fewer only where the file ends. */
function readSyncAndClose(file: string, fd: number, into: Uint8Array, length: number): number {
  try {
    return readFullySync(fd, into, length, 0)
  } catch (error) {
    throw ioError('read', file, error)
  } finally {
    closeSync(fd)
  }
}

/** A whole regular file of at most `maxBytes`, or undefined when it does not exist. */
export async function readBoundedIfExists(file: string, maxBytes: number, what: string, options: {noFollow?: boolean} = {}): Promise<Uint8Array | undefined> {
  const opened = openRegularSyncIfExists(file, maxBytes, what, options)
  if (opened === undefined) return undefined
  const buffer = new Uint8Array(opened.size)
  const filled = readSyncAndClose(file, opened.fd, buffer, opened.size)
  return filled === opened.size ? buffer : buffer.subarray(0, filled)
}

/**
 * Fills `into` with the first bytes of a regular file of at most `maxBytes`
 * (fewer when it is shorter) and gives their count and the file's size, or
 * undefined when it does not exist: for a caller that needs a fixed header
 * and the size of many files in one pass. The one prefix reader: `into`
 * bounds what is read, `maxBytes` what size the file may have
 * (Number.MAX_SAFE_INTEGER where the header alone is judged).
 */
export function readPrefixIfExists(file: string, into: Uint8Array, maxBytes: number, what: string, listedRegular = false): {length: number; size: number} | undefined {
  const opened = openRegularSyncIfExists(file, maxBytes, what, {listedRegular})
  if (opened === undefined) return undefined
  return {length: readSyncAndClose(file, opened.fd, into, Math.min(into.length, opened.size)), size: opened.size}
}

/** A whole regular file of at most `maxBytes`; a missing one is not-found (exit 6). */
export async function readBounded(file: string, maxBytes: number, what: string, options: {noFollow?: boolean} = {}): Promise<Uint8Array> {
  const bytes = await readBoundedIfExists(file, maxBytes, what, options)
  if (bytes === undefined) throw new RedreplError('not-found', `${file}: no such file`)
  return bytes
}
