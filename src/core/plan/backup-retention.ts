import {usageError} from '../errors.js'

/**
 * Which base backups a retention policy keeps (`basebackup expire`, `repo
 * expire`), with a reason for each. Pure: the caller says when each backup
 * was taken and whether it is usable for catch-up, and passes the clock.
 */

export type BackupRetentionPolicy = {keepLast: number} | {keepWithinMs: bigint}

export interface RetentionCandidate {
  /** How the caller names the backup (a manifest path, a repository key). */
  id: string
  timeline: bigint
  checkpoint_lsn: bigint
  taken_unix_ms: bigint
  usable_for_catchup: boolean
}

export interface BackupVerdict<C extends RetentionCandidate> {
  backup: C
  action: 'keep' | 'delete'
  reason: string
}

const byAge = (a: RetentionCandidate, b: RetentionCandidate) =>
  a.timeline !== b.timeline ? (a.timeline < b.timeline ? -1 : 1) : a.checkpoint_lsn !== b.checkpoint_lsn ? (a.checkpoint_lsn < b.checkpoint_lsn ? -1 : 1) : 0

/** A duration such as 7d, 36h, 90m, 3600s, 2w, in ms. */
export function parseDurationMs(text: string, flag: string): bigint {
  const match = /^(\d+)\s*(s|m|h|d|w)$/.exec(text.trim())
  if (!match) throw usageError(`--${flag} must be a duration such as 7d, 36h or 90m, got "${text}"`)
  const unitMs = {s: 1000n, m: 60_000n, h: 3_600_000n, d: 86_400_000n, w: 604_800_000n}[match[2] as 's' | 'm' | 'h' | 'd' | 'w']
  return BigInt(match[1]) * unitMs
}

/**
 * Oldest first, each backup kept or deleted. The newest usable backup is
 * always kept whatever the policy: it is the one a lost node restores from.
 */
export function planBackupRetention<C extends RetentionCandidate>(backups: C[], policy: BackupRetentionPolicy, nowMs: bigint): Array<BackupVerdict<C>> {
  const sorted = [...backups].sort(byAge)
  const newestUsable = sorted.filter((backup) => backup.usable_for_catchup).at(-1)
  return sorted.map((backup, position) => {
    if (backup === newestUsable) return {backup, action: 'keep', reason: 'newest usable backup: never expired'}
    if ('keepLast' in policy) {
      const rank = sorted.length - position
      return rank <= policy.keepLast ? {backup, action: 'keep', reason: `among the ${policy.keepLast} newest`} : {backup, action: 'delete', reason: `beyond the ${policy.keepLast} newest`}
    }
    const ageMs = nowMs - backup.taken_unix_ms
    return ageMs <= policy.keepWithinMs
      ? {backup, action: 'keep', reason: `taken ${formatAge(ageMs)} ago, within ${formatAge(policy.keepWithinMs)}`}
      : {backup, action: 'delete', reason: `taken ${formatAge(ageMs)} ago, older than ${formatAge(policy.keepWithinMs)}`}
  })
}

function formatAge(ms: bigint): string {
  const s = ms < 0n ? 0n : ms / 1000n
  if (s >= 86_400n) return `${s / 86_400n}d${(s % 86_400n) / 3600n}h`
  if (s >= 3600n) return `${s / 3600n}h${(s % 3600n) / 60n}m`
  if (s >= 60n) return `${s / 60n}m`
  return `${s}s`
}
