import {RedreplError, type ErrorKind} from '../errors.js'

/**
 * The one place an errno becomes a RedreplError, so every command words the
 * same failure the same way: `<path>: cannot <operation>: <reason>`. The
 * operation names what was attempted ("read", "write", "list", "lock"),
 * because "cannot read SOURCE" and "cannot write DEST" send the operator to
 * different places. redrepl's own errors pass through unchanged.
 */

export type IoOperation = 'open' | 'read' | 'write' | 'list' | 'remove' | 'rename' | 'create' | 'lock' | 'sync' | 'stat' | 'resolve'

interface Translation {
  kind: ErrorKind
  reason: string
}

/** errno → kind and wording. Missing means absent; a wrong file type is a layout that cannot be right (exit 3). */
const ERRNO: Readonly<Record<string, Translation>> = {
  ENOENT: {kind: 'not-found', reason: 'no such file or directory'},
  ENOTDIR: {kind: 'not-found', reason: 'a component of the path is not a directory'},
  EISDIR: {kind: 'corrupt', reason: 'is a directory'},
  ELOOP: {kind: 'corrupt', reason: 'is a symbolic link (or a loop of them)'},
  ENXIO: {kind: 'corrupt', reason: 'is a socket or a device with nothing behind it'},
  ENOSPC: {kind: 'failure', reason: 'no space left on device'},
  EDQUOT: {kind: 'failure', reason: 'disk quota exceeded'},
  EROFS: {kind: 'failure', reason: 'read-only file system'},
  EACCES: {kind: 'failure', reason: 'permission denied'},
  EPERM: {kind: 'failure', reason: 'operation not permitted'},
  EIO: {kind: 'failure', reason: 'input/output error (the disk or the file system reports damage)'},
  EMFILE: {kind: 'failure', reason: 'too many open files'},
  ENFILE: {kind: 'failure', reason: 'too many open files in the system'},
  ENAMETOOLONG: {kind: 'usage', reason: 'file name too long'},
  EBUSY: {kind: 'failure', reason: 'device or resource busy'},
  EEXIST: {kind: 'failure', reason: 'already exists'},
  ENOTEMPTY: {kind: 'failure', reason: 'directory not empty'},
  EXDEV: {kind: 'failure', reason: 'on another file system'},
  ERR_INVALID_ARG_VALUE: {kind: 'usage', reason: 'not a usable path (it holds a NUL byte)'},
}

export function ioError(operation: IoOperation, file: string, error: unknown): RedreplError {
  if (error instanceof RedreplError) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const known = code === undefined ? undefined : ERRNO[code]
  if (known) return new RedreplError(known.kind, `${file}: cannot ${operation}: ${known.reason}`, {code: `io.${code}`})
  // An errno without a wording of its own still names the file and the operation; Node's text carries the errno.
  const text = error instanceof Error ? error.message : String(error)
  return new RedreplError('failure', `${file}: cannot ${operation}: ${text.split('\n')[0]}`, code === undefined ? {} : {code: `io.${code}`})
}

/** Whether a thrown value is an absent file (ENOENT): the only errno that means "not there". */
export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}

/** For a `.catch` on a file call: an absent file is undefined; any other error (a permission, a loop of links) is thrown, naming the file. */
export function absentAsUndefined(operation: IoOperation, file: string): (error: unknown) => undefined {
  return (error) => {
    if (isMissing(error)) return undefined
    throw ioError(operation, file, error)
  }
}
