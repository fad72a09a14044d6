import {oneLine} from '../core/errors.js'
import {isLoss, type Finding, type Severity} from '../core/findings.js'
import type {CheckReport, CheckStatus, Threshold} from '../core/ops/monitoring/check.js'
import {formatBytes, formatDuration} from '../core/units.js'

/**
 * The Nagios plugin convention (also Icinga's, Sensu's, check_mk's): the exit
 * code is the state, the first line of stdout is `SERVICE STATE - text |
 * perfdata`, and further lines are long output, here one per finding.
 */

export type NagiosState = CheckStatus | 'UNKNOWN'

export const NAGIOS_EXIT: Readonly<Record<NagiosState, number>> = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}

const LABEL: Record<Severity, string> = {error: 'CRITICAL', warning: 'WARNING', note: 'NOTE'}
const RANK: Record<Severity, number> = {error: 0, warning: 1, note: 2}

/** `|` starts the perfdata in Nagios's parser and a newline ends the line, so neither may appear in text. */
function plainText(text: string): string {
  return oneLine(text).replaceAll('|', '/')
}

/** What a plugin prints when it could not measure (--json): the state, and why. */
export interface UnknownDocument {
  status: 'UNKNOWN'
  message: string
}

export function unknownLine(message: string): string {
  return `REDREPL UNKNOWN - ${plainText(message)}`
}

/**
 * Status line, then one line per finding, worst first: by severity (notes
 * last: they leave the state OK), then loss before anything else of the same
 * severity, so the status line names a replica that must be recloned before
 * a threshold that merely tripped.
 */
export function nagiosLines(report: CheckReport): string[] {
  const findings = [...report.findings].sort((a, b) => RANK[a.severity] - RANK[b.severity] || Number(isLoss(b)) - Number(isLoss(a)))
  const problems = findings.filter((f) => f.severity !== 'note')
  const text = problems.length === 0 ? summary(report) : `${problems[0].message}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`
  return [`REDREPL ${report.status} - ${plainText(text)} | ${perfdata(report)}`, ...findings.map(findingLine)]
}

function findingLine(f: Finding): string {
  return plainText(`${LABEL[f.severity]} [${f.code}] ${f.path}: ${f.message}`)
}

function summary(report: CheckReport): string {
  const parts: string[] = []
  if (report.slots) parts.push(`${report.slots.length} slot${report.slots.length === 1 ? '' : 's'}`)
  if (report.wal) parts.push(`WAL ${report.wal.segments} segment${report.wal.segments === 1 ? '' : 's'} ${formatBytes(report.wal.retained_bytes)}`)
  const newest = report.basebackups?.newest_usable
  if (newest) parts.push(`newest backup ${formatDuration(newest.age_ms)} ago`)
  else if (report.basebackups) parts.push('no usable backup')
  const repo = report.repository
  if (repo?.reachable) {
    if (repo.archive_lag_segments !== null) parts.push(`archive lag ${repo.archive_lag_segments} segment${repo.archive_lag_segments === 1 ? '' : 's'}`)
    parts.push(repo.newest_backup ? `newest repository backup ${formatDuration(repo.newest_backup.age_ms)} ago` : 'no repository backup')
  }
  return parts.join(', ')
}

/** Nagios perfdata labels are quoted; a quote inside is doubled, and `=` (the value separator) cannot appear at all. */
function label(text: string): string {
  return `'${plainText(text).replaceAll('=', '_').replaceAll("'", "''")}'`
}

/** `'label'=value[UOM];warn;crit;min;max`, every number exact; an absent threshold is left empty. */
function metric(name: string, value: bigint | number, uom: '' | 'B' | 's', threshold?: Threshold, scale = 1n): string {
  const limit = (v: bigint | null | undefined) => (v === null || v === undefined ? '' : String(v / scale))
  return `${label(name)}=${value}${uom};${limit(threshold?.warning)};${limit(threshold?.critical)};0;`
}

export function perfdata(report: CheckReport): string {
  const t = report.thresholds
  const items: string[] = []
  if (report.slots) {
    items.push(metric('slots', report.slots.length, ''))
    items.push(metric('slots_invalidated', report.slots.filter((s) => s.invalidation_reason !== null).length, '', t.invalidated_slots))
    for (const slot of report.slots) {
      if (slot.lag_lsn === null || slot.invalidation_reason !== null) continue
      items.push(metric(`slot_lag_${slot.source === 'legacy' ? 'legacy_' : ''}${slot.replica_id}`, slot.lag_lsn, '', t.slot_lag_lsn))
    }
  }
  if (report.wal) {
    items.push(metric('wal_retained', report.wal.retained_bytes, 'B', t.wal_retained_bytes))
    items.push(metric('wal_segments', report.wal.segments, '', t.wal_segments))
  }
  if (report.prune) items.push(metric('prune_skipped', report.prune.skipped_runs, '', t.prune_skipped_runs))
  if (report.leftover_bytes !== null) items.push(metric('leftovers', report.leftover_bytes, 'B', t.leftover_bytes))
  const newest = report.basebackups?.newest_usable
  if (newest) items.push(metric('basebackup_age', newest.age_ms / 1000n, 's', t.basebackup_age_ms, 1000n))
  const repo = report.repository
  if (repo?.archive_lag_bytes != null) {
    items.push(metric('archive_lag', repo.archive_lag_bytes, 'B', t.archive_lag_bytes))
    items.push(metric('archive_lag_segments', repo.archive_lag_segments ?? 0, ''))
    items.push(metric('archive_age', (repo.oldest_unarchived_age_ms ?? 0n) / 1000n, 's', t.archive_age_ms, 1000n))
  }
  if (repo?.newest_backup) items.push(metric('repo_backup_age', repo.newest_backup.age_ms / 1000n, 's', t.repo_backup_age_ms, 1000n))
  for (const severity of ['error', 'warning'] as const) items.push(metric(`findings_${severity}`, report.findings.filter((f) => f.severity === severity).length, ''))
  return items.join(' ')
}
