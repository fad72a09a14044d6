import {StoreError} from './backend.js'

/**
 * How long a repository on the network may keep a run waiting. Three bounds
 * work together: a connection must open within `connectMs`; once open, the
 * store must send something (headers, the next piece of a body, the next
 * page of a listing) at least every `idleMs`; and the whole run's
 * repository work ends at its deadline, whatever the store does. Without
 * them a store that accepts a connection and never answers holds a run,
 * and any lock it holds, for ever.
 */
export interface NetworkLimits {
  connectMs: number
  idleMs: number
  /** The whole run's deadline, in ms from when the limits were made; null: none (each wait is still bounded). */
  deadlineMs: number | null
  /** Aborted when the deadline passes. */
  signal?: AbortSignal
}

/** A TCP connect to a live store takes milliseconds; 10 s covers a slow DNS answer and one lost SYN. */
export const CONNECT_TIMEOUT_MS = 10_000
/** A store that sends nothing for 30 s is not busy but stuck (S3 itself sends headers within seconds, and body pieces without pause). */
export const IDLE_TIMEOUT_MS = 30_000

/** The limits for a run with this deadline: connect and idle timeouts never exceed it. */
export function networkLimits(deadlineMs: number | null): NetworkLimits {
  if (deadlineMs === null) return {connectMs: CONNECT_TIMEOUT_MS, idleMs: IDLE_TIMEOUT_MS, deadlineMs: null}
  // The timer does not keep the process alive: a run that finishes early exits at once.
  return {connectMs: Math.min(CONNECT_TIMEOUT_MS, deadlineMs), idleMs: Math.min(IDLE_TIMEOUT_MS, deadlineMs), deadlineMs, signal: AbortSignal.timeout(deadlineMs)}
}

/** The run's deadline passed while it waited on the repository: transient, since the next run may find the store faster. */
export class DeadlineError extends StoreError {
  constructor(
    readonly where: string,
    readonly deadlineMs: number,
    operation: string,
  ) {
    super('failure', `${where}: the ${operation} did not finish within the run's deadline of ${formatSeconds(deadlineMs)}`, 'transient', {code: 'repo.deadline', hint: 'raise --timeout, or make the repository answer faster'})
    this.name = 'DeadlineError'
  }
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/** True once the run's deadline has passed. */
export function deadlinePassed(limits: NetworkLimits | undefined): boolean {
  return limits?.signal?.aborted === true
}
