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

/**
 * Every machine code a failure can carry (`RedreplError.code`), with the
 * kind (and so the exit code) it always comes with and what it means. Scripts
 * key on the code; the message beside it is for people and may change.
 * docs/errors.md lists the same table, and a unit test holds the two, and
 * the places in src/ that raise each code, together.
 *
 * `as-cause` marks the one code whose exit code is that of what it wraps (a
 * failover step that failed ends as the step's own failure did).
 */

export interface ErrorCodeSpec {
  kind: ErrorKind | 'as-cause'
  meaning: string
}

export const ERROR_CODES = {
  'artifact.not-regular': {kind: 'corrupt', meaning: 'a path where an artifact belongs holds a directory, FIFO, device or socket instead of a regular file'},
  'artifact.too-large': {kind: 'corrupt', meaning: 'a file is larger than any artifact of its kind can be, so it is not read'},
  'basebackup.checkpoint-taken': {kind: 'refused', meaning: 'a base backup of that checkpoint already exists with other snapshot bytes'},
  'basebackup.off-timeline': {kind: 'refused', meaning: 'the base backup was taken on a timeline the node has left after its fork (--force restores it anyway)'},
  'basebackup.parts-damaged': {kind: 'refused', meaning: 'the manifest of this snapshot exists but its parts do not match it'},
  'basebackup.wal-missing': {kind: 'corrupt', meaning: 'the base backup reads, but the WAL a node restored from it needs to catch up is gone'},
  'failover.cluster-changed': {kind: 'refused', meaning: 'a node moved since the failover plan was made'},
  'failover.ineligible': {kind: 'refused', meaning: 'the named candidate cannot be promoted (--force accepts what it lacks)'},
  'failover.journal-mismatch': {kind: 'refused', meaning: 'the journal beside the plan belongs to another plan'},
  'failover.no-candidate': {kind: 'refused', meaning: 'no reached replica is eligible for promotion'},
  'failover.old-primary-running': {kind: 'refused', meaning: 'RedDB still runs on the old primary'},
  'failover.old-primary-unknown': {kind: 'refused', meaning: 'whether RedDB still runs on the old primary cannot be told'},
  'failover.plan-applied': {kind: 'refused', meaning: 'a plan of that name has been applied, at least in part'},
  'failover.repo-mismatch': {kind: 'refused', meaning: 'the plan pins another repository than the one given'},
  'failover.step-failed': {kind: 'as-cause', meaning: 'a step of failover apply failed; the journal keeps the steps done before it'},
  'failover.unknown-candidate': {kind: 'refused', meaning: 'the named candidate is not a reached replica of the cluster'},
  'guard.data-path-mismatch': {kind: 'refused', meaning: 'the data path names no file, but its layout belongs to another spelling of it'},
  'guard.live-file': {kind: 'refused', meaning: 'the file to replace is held by a running RedDB process (--overwrite-live replaces it anyway)'},
  'io.EACCES': {kind: 'failure', meaning: 'EACCES: the file or a directory on its path does not let this user do it'},
  'io.EBUSY': {kind: 'failure', meaning: 'EBUSY: the device or file is in use'},
  'io.EDQUOT': {kind: 'failure', meaning: 'EDQUOT: the user\'s disk quota is used up'},
  'io.EEXIST': {kind: 'failure', meaning: 'EEXIST: something already has that name'},
  'io.EIO': {kind: 'failure', meaning: 'EIO: the disk or the file system reports damage'},
  'io.EISDIR': {kind: 'corrupt', meaning: 'EISDIR: a directory where a file belongs'},
  'io.ELOOP': {kind: 'corrupt', meaning: 'ELOOP: a symbolic link where none may be followed, or a loop of them'},
  'io.EMFILE': {kind: 'failure', meaning: 'EMFILE: the process may open no more files'},
  'io.ENAMETOOLONG': {kind: 'usage', meaning: 'ENAMETOOLONG: a path or one of its names is too long'},
  'io.ENFILE': {kind: 'failure', meaning: 'ENFILE: the system may open no more files'},
  'io.ENOENT': {kind: 'not-found', meaning: 'ENOENT: the file or a directory on its path does not exist'},
  'io.ENOSPC': {kind: 'failure', meaning: 'ENOSPC: the file system is full'},
  'io.ENOTDIR': {kind: 'not-found', meaning: 'ENOTDIR: a component of the path is a file, not a directory'},
  'io.ENOTEMPTY': {kind: 'failure', meaning: 'ENOTEMPTY: a directory to remove still holds files'},
  'io.ENXIO': {kind: 'corrupt', meaning: 'ENXIO: a FIFO, socket or device where a regular file belongs'},
  'io.EPERM': {kind: 'failure', meaning: 'EPERM: the system does not allow the operation (an immutable file, a missing capability)'},
  'io.ERR_INVALID_ARG_VALUE': {kind: 'usage', meaning: 'a path that holds a NUL byte'},
  'io.EROFS': {kind: 'failure', meaning: 'EROFS: the file system is mounted read-only'},
  'io.EXDEV': {kind: 'failure', meaning: 'EXDEV: the two paths are on different file systems'},
  'io.other': {kind: 'failure', meaning: 'another errno; the message carries the system\'s own text'},
  'path.moved': {kind: 'refused', meaning: 'a directory being cleaned was moved out of its tree meanwhile; nothing more is removed'},
  'path.symlink': {kind: 'refused', meaning: 'a symbolic link inside a tree whose links are never followed'},
  'plan.invalid': {kind: 'refused', meaning: 'a saved plan is not one this version can apply, or names what no plan may name'},
  'plan.stale': {kind: 'refused', meaning: 'what a saved plan was made from changed since'},
  'plan.target': {kind: 'refused', meaning: 'the file a plan is to be saved as cannot take it (inside a layout or repository, or another file)'},
  'promote.behind-best-known': {kind: 'refused', meaning: 'another replica acknowledged more than the one to promote (--max-lag-lsn accepts the loss)'},
  'promote.catalog-timeline': {kind: 'refused', meaning: 'the slot catalog still carries a past timeline, so the replicas\' positions are ambiguous'},
  'promote.invalidated-slot': {kind: 'refused', meaning: 'the replica\'s slot is invalidated: it may lack writes it never received'},
  'promote.no-acks': {kind: 'not-found', meaning: 'no replica acknowledged anything on the current timeline'},
  'promote.no-eligible': {kind: 'refused', meaning: 'no replica is eligible for promotion'},
  'promote.past-acknowledged': {kind: 'refused', meaning: 'the applied LSN given is past what the replica acknowledged'},
  'promote.past-wal-head': {kind: 'refused', meaning: 'the applied LSN given is past the end of the timeline\'s WAL'},
  'promote.repeated-fork': {kind: 'refused', meaning: 'the history already records this promotion'},
  'promote.unexpected-timeline': {kind: 'refused', meaning: 'the current timeline is not the one --expect-timeline names'},
  'promote.unknown-replica': {kind: 'refused', meaning: 'the replica named has no slot, relay log or legacy slot entry on the timeline'},
  'rejoin.no-backup': {kind: 'not-found', meaning: 'no base backup of the current timeline to rebuild the node from'},
  'rejoin.no-wal': {kind: 'not-found', meaning: 'the current timeline has no WAL segment for the node to follow'},
  'rejoin.not-on-disk': {kind: 'refused', meaning: 'the node rejoins by a step only RedDB carries out'},
  'relay.unknown-replica': {kind: 'refused', meaning: 'no relay log or slot for the replica on the timeline'},
  'repo.already-initialised': {kind: 'refused', meaning: 'the repository is already set up'},
  'repo.content-conflict': {kind: 'refused', meaning: 'an object of that name already holds other bytes'},
  'repo.deadline': {kind: 'failure', meaning: 'a repository operation did not finish within the run\'s deadline'},
  'repo.facts-conflict': {kind: 'refused', meaning: 'the repository\'s facts (RedDB version, format) contradict this node or backup'},
  'repo.holds-layout': {kind: 'refused', meaning: 'the repository directory holds a RedDB layout'},
  'repo.identity': {kind: 'refused', meaning: 'the namespace belongs to another replica set (another segment size or a forked history)'},
  'repo.inside-layout': {kind: 'refused', meaning: 'the repository directory lies inside a RedDB layout'},
  'repo.key-missing': {kind: 'refused', meaning: 'an encrypted repository, or a key operation, needs a key that was not given'},
  'repo.last-key': {kind: 'refused', meaning: 'removing the repository\'s last key would lose every object'},
  'repo.listing-endless': {kind: 'failure', meaning: 'the store\'s listing does not end (too many pages or keys, a repeated token)'},
  'repo.listing-invalid': {kind: 'failure', meaning: 'the store\'s listing is malformed (an impossible size, a missing continuation token)'},
  'repo.not-empty': {kind: 'refused', meaning: 'an encrypted repository must start empty, and this one holds objects'},
  'repo.not-encrypted': {kind: 'refused', meaning: 'the repository is not encrypted, yet a key was given or asked for'},
  'repo.store-full': {kind: 'failure', meaning: 'the in-memory store would hold more than the bytes it was given'},
  'repo.timeline-behind': {kind: 'refused', meaning: 'a former primary pushing to a timeline the replica set has left'},
  'repo.timeout': {kind: 'failure', meaning: 'the store stopped answering, or sent too few bytes'},
  'repo.unknown-object': {kind: 'refused', meaning: 'the source repository holds objects this version does not know'},
  'repo.wal-gap': {kind: 'not-found', meaning: 'a WAL segment the restore needs is not in the repository'},
  'repo.wrong-key': {kind: 'refused', meaning: 'the key given opens none of the repository\'s keys'},
  'slot.not-found': {kind: 'not-found', meaning: 'no slot for the replica on the timeline'},
  'wal.current-lsn': {kind: 'refused', meaning: 'the current LSN given is past the WAL'},
  'wal.name-mismatch': {kind: 'corrupt', meaning: 'a WAL segment\'s header contradicts its file name or directory'},
  'wal.repo-unreachable': {kind: 'refused', meaning: 'the repository cannot be read, so which WAL segments are archived is unknown and none is released'},
  'wal.segment-size': {kind: 'corrupt', meaning: 'the WAL segment headers do not agree on one segment size'},
  'wal.segment-size-flag': {kind: 'refused', meaning: 'the segment size given contradicts the WAL segment headers'},
} as const satisfies Readonly<Record<string, ErrorCodeSpec>>

export type ErrorCode = keyof typeof ERROR_CODES

/** The codes a failure of kind K may carry: those of that kind, and the one whose kind is its cause's. */
export type ErrorCodeOf<K extends ErrorKind> = {
  [C in ErrorCode]: (typeof ERROR_CODES)[C]['kind'] extends K | 'as-cause' ? C : never
}[ErrorCode]

/** Control characters (a newline in a replica id or path) escaped, so every message stays one line. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export interface ErrorDetails<K extends ErrorKind = ErrorKind> {
  /** A stable machine code of ERROR_CODES (`wal.segment-size`), for scripts; only one of this kind's. */
  code?: ErrorCodeOf<K>
  /** The way out, said separately so core messages stay free of flag names. */
  hint?: string
}

export class RedreplError<K extends ErrorKind = ErrorKind> extends Error {
  readonly code?: ErrorCode
  readonly hint?: string

  constructor(
    readonly kind: K,
    message: string,
    details: ErrorDetails<K> = {},
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

export const usageError = (message: string, details?: ErrorDetails<'usage'>): RedreplError => new RedreplError('usage', message, details)
export const refused = (message: string, details?: ErrorDetails<'refused'>): RedreplError => new RedreplError('refused', message, details)
export const notFound = (message: string, details?: ErrorDetails<'not-found'>): RedreplError => new RedreplError('not-found', message, details)
export const lockHeld = (message: string, details?: ErrorDetails<'locked'>): RedreplError => new RedreplError('locked', message, details)

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
