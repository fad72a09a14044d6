const MAX_DATE_MS = 8_640_000_000_000_000n

/** ISO-8601 for a ms timestamp, or the raw number when no date can show it. */
export function formatTimestamp(ms: bigint): string {
  return ms <= MAX_DATE_MS ? new Date(Number(ms)).toISOString() : `${ms} ms`
}

/** "3m ago", "2h ago", "in 5s"; the raw timestamp when it is out of any sane range. */
export function formatAge(ms: bigint, now: bigint): string {
  if (ms > MAX_DATE_MS) return `${ms} ms`
  const delta = now - ms
  const seconds = Number((delta < 0n ? -delta : delta) / 1000n)
  const units: Array<[number, string]> = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'm'],
  ]
  const [size, unit] = units.find(([unitSeconds]) => seconds >= unitSeconds) ?? [1, 's']
  const text = `${Math.floor(seconds / size)}${unit}`
  return delta < 0n ? `in ${text}` : `${text} ago`
}
