import {ERROR_CODES, RedreplError, type ErrorCode, type ErrorKind} from '../errors.js'

/**
 * The one place an errno becomes a RedreplError, so every command words the
 * same failure the same way: `<path>: cannot <attempt>: <reason>`. The
 * attempt names what was tried ("read", "write", "create the directory"),
 * because "cannot read SOURCE" and "cannot write DEST" send the operator to
 * different places. redrepl's own errors pass through unchanged.
 */

export type IoOperation = 'open' | 'read' | 'write' | 'list' | 'remove' | 'delete' | 'rename' | 'create' | 'lock' | 'sync' | 'stat' | 'resolve'

/** What was attempted: a verb alone, or with what it was done to ("open the log file", "sync the directory"). */
export type IoAttempt = IoOperation | `${IoOperation} ${string}`

interface Translation {
  reason: string
  code: IoErrorCode
}

/**
 * errno → wording and machine code; the code's kind (ERROR_CODES) gives
 * the exit code: missing means absent (exit 6), a wrong file type where a
 * file belongs is a layout that cannot be right (exit 3), the rest are
 * failures of the machine (exit 1).
 */
const ERRNO = {
  ENOENT: {reason: 'no such file or directory', code: 'io.ENOENT'},
  ENOTDIR: {reason: 'a component of the path is not a directory', code: 'io.ENOTDIR'},
  EISDIR: {reason: 'is a directory', code: 'io.EISDIR'},
  ELOOP: {reason: 'is a symbolic link (or a loop of them)', code: 'io.ELOOP'},
  // Opening a socket, a FIFO nobody reads (for writing, without waiting) or a device with no driver behind it.
  ENXIO: {reason: 'is a FIFO or socket, not a regular file', code: 'io.ENXIO'},
  ENOSPC: {reason: 'no space left on device', code: 'io.ENOSPC'},
  EDQUOT: {reason: 'disk quota exceeded', code: 'io.EDQUOT'},
  EROFS: {reason: 'read-only file system', code: 'io.EROFS'},
  EACCES: {reason: 'permission denied', code: 'io.EACCES'},
  EPERM: {reason: 'operation not permitted', code: 'io.EPERM'},
  EIO: {reason: 'input/output error (the disk or the file system reports damage)', code: 'io.EIO'},
  EMFILE: {reason: 'too many open files', code: 'io.EMFILE'},
  ENFILE: {reason: 'too many open files in the system', code: 'io.ENFILE'},
  ENAMETOOLONG: {reason: 'file name too long', code: 'io.ENAMETOOLONG'},
  EBUSY: {reason: 'device or resource busy', code: 'io.EBUSY'},
  EEXIST: {reason: 'already exists', code: 'io.EEXIST'},
  ENOTEMPTY: {reason: 'directory not empty', code: 'io.ENOTEMPTY'},
  EXDEV: {reason: 'on another file system', code: 'io.EXDEV'},
  ERR_INVALID_ARG_VALUE: {reason: 'not a usable path (it holds a NUL byte)', code: 'io.ERR_INVALID_ARG_VALUE'},
} as const satisfies Record<string, {reason: string; code: Extract<ErrorCode, `io.${string}`>}>

/** The machine code of each errno with a wording, and `io.other` for any other errno (Node's own text then says which). */
export type IoErrorCode = (typeof ERRNO)[keyof typeof ERRNO]['code'] | 'io.other'

/** Each translated errno and what it becomes, for the error-code table's test. */
export const ERRNO_TRANSLATIONS: Readonly<Record<string, Translation>> = ERRNO

export interface IoErrorOptions {
  /** What is known to have happened, said after the reason ("the pending database was left as it was"). */
  outcome?: string
  /** The way out, shown on its own line. */
  hint?: string
  /** Where the README gives this path an exit code of its own (a log file that cannot be opened is a usage error); the error then carries no code unless the errno's has that kind too. */
  kind?: ErrorKind
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** The errno's translation, undefined for one without a wording of its own. */
function translationOf(error: unknown): Translation | undefined {
  const code = errnoOf(error)
  return code !== undefined && Object.hasOwn(ERRNO, code) ? ERRNO_TRANSLATIONS[code] : undefined
}

/** Why an I/O call failed, in words, for a sentence that is not `cannot <attempt>` ("written, but … (reason)"). Node's own text, whose first line repeats the errno, for one without a wording. */
export function ioReason(error: unknown): string {
  const known = translationOf(error)
  if (known) return known.reason
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0] ?? ''
}

/** `error` from an I/O call `attempt` on `file` as the one line redrepl prints; redrepl's own errors pass through. */
export function ioError(attempt: IoAttempt, file: string, error: unknown, options: IoErrorOptions = {}): RedreplError {
  if (error instanceof RedreplError) return error
  const known = translationOf(error)
  const outcome = options.outcome === undefined ? '' : `; ${options.outcome}`
  const errnoCode: IoErrorCode | undefined = known ? known.code : errnoOf(error) === undefined ? undefined : 'io.other'
  const kind = options.kind ?? ERROR_CODES[errnoCode ?? 'io.other'].kind
  // A code always comes with its table's exit code, so a path with an exit code of its own carries none.
  const code = errnoCode !== undefined && ERROR_CODES[errnoCode].kind === kind ? errnoCode : undefined
  return new RedreplError(kind, `${file}: cannot ${attempt}: ${ioReason(error)}${outcome}`, {
    ...(code === undefined ? {} : {code}),
    ...(options.hint === undefined ? {} : {hint: options.hint}),
  })
}

/** Whether a thrown value is an absent file (ENOENT): the only errno that means "not there". */
export function isMissing(error: unknown): boolean {
  return errnoOf(error) === 'ENOENT'
}

/** For a `.catch` on a file call: an absent file is undefined; any other error (a permission, a loop of links) is thrown, naming the file. */
export function absentAsUndefined(attempt: IoAttempt, file: string): (error: unknown) => undefined {
  return (error) => {
    if (isMissing(error)) return undefined
    throw ioError(attempt, file, error)
  }
}
