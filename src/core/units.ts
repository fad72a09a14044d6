/**
 * Sizes and durations as people read them, for messages that core writes
 * (check findings) as well as for the ui's tables. Exact values travel
 * beside them in `data` and JSON; these are for reading only.
 */

/** 5899 B, 3.2 GiB, 768 MiB (binary multiples, one decimal below 100). */
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

const DURATION_UNITS: Array<[bigint, string]> = [
  [86_400_000n, 'd'],
  [3_600_000n, 'h'],
  [60_000n, 'm'],
  [1_000n, 's'],
]

/**
 * A threshold reads as given (36h stays 36h, not 1.5d): the largest unit
 * that divides it exactly; any other duration in the largest unit that fits,
 * with one decimal (1.5d, 2.0h).
 */
export function formatDuration(ms: bigint): string {
  if (ms === 0n) return '0s'
  const exact = DURATION_UNITS.find(([unitMs]) => ms >= unitMs && ms % unitMs === 0n)
  if (exact) return `${ms / exact[0]}${exact[1]}`
  const [size, unit] = DURATION_UNITS.find(([unitMs]) => ms >= unitMs) ?? [1_000n, 's']
  const tenths = (ms * 10n) / size
  return `${tenths / 10n}.${tenths % 10n}${unit}`
}
