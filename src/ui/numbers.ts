import {U64_MAX} from '../core/codec/limits.js'
import {usageError} from '../core/errors.js'

/** Parses a flag value as an exact u64, decimal. */
export function parseU64(text: string, flag: string): bigint {
  const trimmed = text.trim()
  if (!/^\d+$/.test(trimmed)) throw usageError(`--${flag} must be an unsigned integer, got "${text}"`)
  const value = BigInt(trimmed)
  if (value > U64_MAX) throw usageError(`--${flag} ${text} is larger than 2^64-1`)
  return value
}

/** Sizes like 4294967296, 4GiB, 64MiB, 512k (binary multiples). */
export function parseByteSize(text: string, flag: string): bigint {
  const match = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim())
  if (!match) throw usageError(`--${flag} must be a byte count such as 67108864 or 64MiB, got "${text}"`)
  const exponent = ' kmgt'.indexOf(match[2].toLowerCase() || ' ')
  const value = BigInt(match[1]) << BigInt(10 * exponent)
  if (value > U64_MAX) throw usageError(`--${flag} ${text} is larger than 2^64-1`)
  return value
}

export {formatBytes} from '../core/units.js'

/** Rates like 100MiB, 512KiB/s or 1GiB (per second; a bare number is bytes per second), as bytes per second, never 0. */
export function parseRate(text: string, flag: string): number {
  const perSecond = text.trim().replace(/\/s$/i, '')
  let bytes: bigint
  try {
    bytes = parseByteSize(perSecond, flag)
  } catch {
    throw usageError(`--${flag} must be a rate in bytes per second such as 100MiB, 512KiB or 1GiB, got "${text}"`)
  }
  if (bytes === 0n) throw usageError(`--${flag} must be more than 0 bytes per second`, {hint: 'leave the flag out to go as fast as the disk allows'})
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw usageError(`--${flag} ${text} is larger than any disk or network can go`)
  return Number(bytes)
}

/** Counts like 1000, 64Mi or 64M (binary multiples, as segment sizes are). */
export function parseCount(text: string, flag: string): bigint {
  const match = /^(\d+)\s*([kmgt]?)i?$/i.exec(text.trim())
  if (!match) throw usageError(`--${flag} must be a count such as 1000 or 64Mi, got "${text}"`)
  const value = BigInt(match[1]) << BigInt(10 * ' kmgt'.indexOf(match[2].toLowerCase() || ' '))
  if (value > U64_MAX) throw usageError(`--${flag} ${text} is larger than 2^64-1`)
  return value
}

const DURATION_MS: Record<string, bigint> = {ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n, w: 604_800_000n}

/** Durations like 36h, 7d, 1h30m or 90s, in ms; a bare number is seconds (the unit of Nagios perfdata). */
export function parseDuration(text: string, flag: string): bigint {
  const trimmed = text.trim().toLowerCase()
  if (/^\d+$/.test(trimmed)) return BigInt(trimmed) * 1000n
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(trimmed)) throw usageError(`--${flag} must be a duration such as 90s, 30m, 36h, 7d or 1h30m, got "${text}"`)
  let total = 0n
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += BigInt(amount) * DURATION_MS[unit]
  if (total > U64_MAX) throw usageError(`--${flag} ${text} is longer than 2^64-1 ms`)
  return total
}
