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

/** The signals that stop a run, with their numbers (the same on Linux and macOS). */
export const STOP_SIGNALS = {SIGINT: 2, SIGTERM: 15} as const
export type StopSignal = keyof typeof STOP_SIGNALS

/**
 * A run stopped by SIGINT or SIGTERM. The ui aborts an operation's
 * AbortSignal with one of these; the operation stops at its next piece,
 * removes what it had started, and rethrows it saying so (`after`). Shells
 * see 128 + the signal number.
 */
export class InterruptedError extends RedreplError {
  constructor(
    readonly signal: StopSignal,
    readonly outcome = 'nothing was written',
  ) {
    super('failure', `interrupted; ${outcome}`)
    this.name = 'InterruptedError'
  }

  override get exitCode(): number {
    return 128 + STOP_SIGNALS[this.signal]
  }

  /** The same interruption, saying what the stopped operation left behind. */
  after(outcome: string): InterruptedError {
    return new InterruptedError(this.signal, outcome)
  }
}

/** What an operation aborted through `signal` ends with: the interruption, told what the operation's clean-up did. */
export function interruption(signal: AbortSignal, outcome: string): unknown {
  return signal.reason instanceof InterruptedError ? signal.reason.after(outcome) : signal.reason
}
