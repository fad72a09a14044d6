/**
 * Every failure redrepl reports is one of these kinds; each maps to a
 * documented exit code (see EXIT_CODES) so scripts can tell them apart.
 */
export type ErrorKind = 'failure' | 'usage' | 'corrupt' | 'refused' | 'locked' | 'not-found'

export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  failure: 1,
  usage: 2,
  corrupt: 3,
  refused: 4,
  locked: 5,
  'not-found': 6,
}

/** Control characters (a newline in a replica id or path) escaped, so every message stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export interface ErrorDetails {
  /** A stable machine code (`wal.segment-size-mismatch`), for scripts. */
  code?: string
  /** The way out, said separately so core messages stay free of flag names. */
  hint?: string
}

export class RedreplError extends Error {
  readonly code?: string
  readonly hint?: string

  constructor(
    readonly kind: ErrorKind,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(oneLine(message))
    this.name = 'RedreplError'
    if (details.code !== undefined) this.code = details.code
    if (details.hint !== undefined) this.hint = oneLine(details.hint)
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind]
  }
}

/**
 * A byte-level or semantic rule of an artifact was broken. Format modules
 * throw it without knowing which file they were given; callers that read a
 * file attach the path with `inFile`.
 */
export class FormatError extends RedreplError {
  readonly problem: string

  constructor(
    problem: string,
    readonly file?: string,
  ) {
    super('corrupt', file ? `${file}: ${problem}` : problem)
    this.problem = oneLine(problem)
    this.name = 'FormatError'
  }

  inFile(file: string): FormatError {
    return this.file ? this : new FormatError(this.problem, file)
  }
}

export const usageError = (message: string, details?: ErrorDetails) => new RedreplError('usage', message, details)
export const refused = (message: string, details?: ErrorDetails) => new RedreplError('refused', message, details)
export const notFound = (message: string, details?: ErrorDetails) => new RedreplError('not-found', message, details)
export const lockHeld = (message: string, details?: ErrorDetails) => new RedreplError('locked', message, details)
