import {closeSync, constants, fstatSync, openSync, writeSync} from 'node:fs'

import {RedreplError} from '../errors.js'
import {ioError} from './io-error.js'

/**
 * A file lines are appended to (O_APPEND, so overlapping runs interleave
 * whole lines), never through a link of either kind (O_NOFOLLOW; a file with
 * more than one name is refused) and only when it is a regular file (never
 * a FIFO, device or socket). Writes are synchronous, so a line is in the
 * file before the event after it happens.
 */
export interface AppendOnlyFile {
  append(text: string): void
  close(): void
}

/** Opens (creating, mode 0640) `file` for appending; `what` names it in the refusals ("log file"). */
export function openAppendOnly(file: string, what: string): AppendOnlyFile {
  let fd: number
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o640)
  } catch (error) {
    // ENXIO: a FIFO nobody reads (O_NONBLOCK), or a socket. The README makes every log file that cannot be opened a usage error.
    throw ioError(`open the ${what}`, file, error, {kind: 'usage'})
  }
  const info = fstatSync(fd)
  // A second name for the file is a link too: appending through it would write into whatever file it also is (a config, another log).
  const problem = !info.isFile() ? 'is not a regular file' : info.nlink > 1 ? `has ${info.nlink} hard links, so it is also another name's file` : undefined
  if (problem !== undefined) {
    closeSync(fd)
    throw new RedreplError('usage', `${file}: the ${what} ${problem}; refusing to append to it`)
  }
  return {
    append: (text) => {
      writeSync(fd, text)
    },
    close: () => closeSync(fd),
  }
}
