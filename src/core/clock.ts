import {usageError} from './errors.js'

/**
 * The current time in ms since the epoch. `REDREPL_NOW_MS` pins it so that
 * output that records the time (new history entries, legacy slot defaults,
 * new `.rdb` created_at) can be reproduced.
 */
export function nowMs(env: NodeJS.ProcessEnv = process.env): bigint {
  const pinned = env.REDREPL_NOW_MS
  if (pinned === undefined || pinned === '') return BigInt(Date.now())
  if (!/^\d+$/.test(pinned)) throw usageError(`REDREPL_NOW_MS must be a non-negative integer, got "${pinned}"`)
  return BigInt(pinned)
}
