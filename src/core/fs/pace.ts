import {setImmediate as nextTurn, setTimeout as sleep} from 'node:timers/promises'

import {TokenBucket} from '../token-bucket.js'

/**
 * The pace of the byte pipeline. The pipeline reads and writes with
 * synchronous calls in small pieces (the fastest path Node has for a
 * sequential copy), which keep the event loop busy: every piece passes
 * through `pass`, which lets the loop run every YIELD_EVERY_BYTES, so a
 * Ctrl-C, a finished fsync and a progress line get their turn, and which,
 * under `--max-rate`, waits as long as the token bucket says. A wait ends
 * at once when the run is interrupted.
 */
export interface Pace {
  pass(bytes: number): Promise<void> | undefined
}

const YIELD_EVERY_BYTES = 16 * 1024 * 1024

/** The bucket holds at most this long at the rate: short stalls are made up, long ones are not. */
const BURST_SECONDS = 0.125

export interface PaceOptions {
  /** Bytes per second; absent: as fast as the disk goes. */
  maxRate?: number
  signal?: AbortSignal
  /** Milliseconds, monotonic; injected by tests. */
  clock?: () => number
}

export function createPace(options: PaceOptions = {}): Pace {
  const {maxRate, signal, clock = () => performance.now()} = options
  const bucket = maxRate === undefined ? undefined : new TokenBucket(maxRate, Math.max(1024 * 1024, maxRate * BURST_SECONDS), clock())
  let sinceYield = 0
  return {
    pass(bytes) {
      const waitMs = bucket?.take(bytes, clock()) ?? 0
      sinceYield += bytes
      if (waitMs <= 0 && sinceYield < YIELD_EVERY_BYTES) return undefined
      sinceYield = 0
      return waitMs > 0 ? wait(waitMs, signal) : nextTurn().then(() => signal?.throwIfAborted())
    },
  }
}

/** Sleeps, rejecting with the signal's own reason when it fires, as the rest of an interrupted run does. */
async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted()
  try {
    await sleep(ms, undefined, {signal})
  } catch (error) {
    signal?.throwIfAborted()
    throw error
  }
}

/** A pace with no limit: the event loop's turn every few MiB. */
export const freePace = (): Pace => createPace()
