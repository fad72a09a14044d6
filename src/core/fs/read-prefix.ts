/**
 * Reads at most the first bytes of a file: enough for a fixed header, and
 * never more whatever size the file has.
 */
import {closeSync, constants, fstatSync, openSync} from 'node:fs'

import {RedreplError} from '../errors.js'
import {ioError, isMissing} from './io-error.js'
import {readFullySync} from './stream.js'

/**
 * Up to `maxBytes` from the start of `file` (fewer when the file is shorter),
 * or undefined when it no longer exists (a live RedDB removes old segments).
 * Synchronous on purpose: callers read one header per WAL segment, and a WAL
 * dir can hold 100,000 of them; a promise per tiny read costs more than the read.
 */
export function readFilePrefix(file: string, maxBytes: number): Uint8Array | undefined {
  let fd: number | undefined
  try {
    // Non-blocking, so a FIFO put where a segment belongs cannot hang the open; then regular files only.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
    if (!fstatSync(fd).isFile()) throw new RedreplError('corrupt', `${file}: not a regular file`, {code: 'artifact.not-regular'})
    const buffer = new Uint8Array(maxBytes)
    return buffer.subarray(0, readFullySync(fd, buffer, maxBytes, 0))
  } catch (error) {
    if (error instanceof RedreplError) throw error
    if (isMissing(error)) return undefined
    throw ioError('read', file, error)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
