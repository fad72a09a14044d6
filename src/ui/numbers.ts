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

export function formatBytes(bytes: bigint | number): string {
  const value = Number(bytes)
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let scaled = value
  let unit = 0
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${scaled.toFixed(scaled >= 100 ? 0 : 1)} ${units[unit]}`
}
