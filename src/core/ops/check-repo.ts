import {stat} from 'node:fs/promises'

import {finding, type Finding, type Severity} from '../findings.js'
import {RedreplError} from '../errors.js'
import {unarchivedSegments} from '../plan/repo-wal.js'
import {readInventory} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'
import {openRepository, type RepoSettings} from '../repo/open.js'
import {formatBytes, formatDuration} from '../units.js'
import type {WalSegmentFile} from './node-state.js'

/**
 * The repository half of `check`: archive lag (sealed segments of the
 * current timeline the repository does not hold with their size, the same
 * evidence `wal prune` keeps them by) and the age of the newest base backup
 * there (its manifest, written last, dated by the store). A repository that
 * cannot be read is a warning finding, not an UNKNOWN: the node's own
 * measurements still hold and stay visible.
 */

export interface RepoCheckSettings {
  settings: RepoSettings
  node: string
}

export interface RepoCheck {
  location: string
  node: string
  reachable: boolean
  /** Null when the repository could not be read. */
  archive_lag_segments: number | null
  archive_lag_bytes: bigint | null
  /** How long the oldest sealed segment not in the repository has waited (now − its file's mtime); null when none waits or the repository could not be read. */
  oldest_unarchived_age_ms: bigint | null
  /** The store's date of the newest WAL object of the current timeline in the repository; null when there is none. */
  newest_archived_wal_unix_ms: bigint | null
  newest_backup: {key: string; timeline: bigint; checkpoint_lsn: bigint; created_unix_ms: bigint; age_ms: bigint} | null
}

export interface RepoThresholds {
  archive_lag_bytes: {warning: bigint | null; critical: bigint | null}
  archive_age_ms: {warning: bigint | null; critical: bigint | null}
  repo_backup_age_ms: {warning: bigint | null; critical: bigint | null}
}

type Level = (value: bigint, threshold: {warning: bigint | null; critical: bigint | null}) => {severity: Severity; limit: bigint} | undefined

export async function checkRepository(
  repository: RepoCheckSettings,
  timeline: bigint | null,
  segments: WalSegmentFile[] | null,
  options: {nowMs: bigint; thresholds: RepoThresholds; levelOf: Level},
): Promise<{repository: RepoCheck; findings: Finding[]}> {
  const {nowMs, thresholds, levelOf} = options
  const report: RepoCheck = {location: repository.settings.url, node: repository.node, reachable: false, archive_lag_segments: null, archive_lag_bytes: null, oldest_unarchived_age_ms: null, newest_archived_wal_unix_ms: null, newest_backup: null}
  let inventory
  try {
    const backend = await openRepository(repository.settings)
    report.location = backend.location
    try {
      inventory = await readInventory(backend, new RepoKeys(repository.node))
    } finally {
      await backend.close()
    }
  } catch (error) {
    if (!(error instanceof RedreplError) || error.kind === 'usage') throw error
    return {repository: report, findings: [finding('repo.unreachable', report.location, `cannot read the repository: ${error.message}`, {node: repository.node})]}
  }
  report.reachable = true
  const findings: Finding[] = []
  const where = report.location

  if (timeline !== null && segments !== null) {
    // The highest segment is the one RedDB appends to: not sealed, not expected in the repository yet.
    const sealed = segments.slice(0, -1).map((s) => ({index: s.index, bytes: s.bytes}))
    const archived = new Map(inventory.wal.filter((w) => w.timeline === timeline).map((w) => [w.index, w.object.size]))
    const behind = new Set(unarchivedSegments(sealed, archived).map((s) => s.index))
    const lagging = sealed.filter((s) => behind.has(s.index))
    report.archive_lag_segments = lagging.length
    report.archive_lag_bytes = lagging.reduce((sum, s) => sum + s.bytes, 0n)
    const level = levelOf(report.archive_lag_bytes, thresholds.archive_lag_bytes)
    if (level) {
      findings.push(
        finding('repo.archive-lag', where, `${lagging.length} sealed WAL segment(s) of timeline ${timeline} (${formatBytes(report.archive_lag_bytes)}) not in the repository > ${formatBytes(level.limit)}`, {archive_lag_bytes: report.archive_lag_bytes, archive_lag_segments: lagging.length, oldest_segment: lagging[0].index, threshold_bytes: level.limit}, level.severity),
      )
    }
    const archivedHere = inventory.wal.filter((w) => w.timeline === timeline)
    report.newest_archived_wal_unix_ms = archivedHere.reduce<bigint | null>((newest, w) => (newest === null || w.object.modified_unix_ms > newest ? w.object.modified_unix_ms : newest), null)
    // Bytes alone never trip on a quiet node whose push job died: the wait of the oldest segment does.
    const waited = lagging.length === 0 ? null : await waitedMs(segments.find((s) => s.index === lagging[0].index)?.path, nowMs)
    report.oldest_unarchived_age_ms = waited
    const stale = waited === null ? undefined : levelOf(waited, thresholds.archive_age_ms)
    if (stale && waited !== null) {
      const newestNote = report.newest_archived_wal_unix_ms === null ? 'none archived yet' : `newest archived ${formatDuration(nowMs > report.newest_archived_wal_unix_ms ? nowMs - report.newest_archived_wal_unix_ms : 0n)} ago`
      findings.push(
        finding('repo.archive-age', where, `sealed WAL segment ${lagging[0].index} of timeline ${timeline} has waited ${formatDuration(waited)} for the repository > ${formatDuration(stale.limit)} (${lagging.length} waiting, ${newestNote}): is the push job running?`, {oldest_unarchived_age_ms: waited, oldest_segment: lagging[0].index, archive_lag_segments: lagging.length, threshold_ms: stale.limit}, stale.severity),
      )
    }
  }

  // Sorted by (timeline, checkpoint): the last manifest is the newest backup.
  const newest = inventory.manifests.at(-1)
  const age = thresholds.repo_backup_age_ms
  if (newest) {
    const created = newest.object.modified_unix_ms
    report.newest_backup = {key: newest.key, timeline: newest.timeline, checkpoint_lsn: newest.checkpoint_lsn, created_unix_ms: created, age_ms: nowMs > created ? nowMs - created : 0n}
    const level = levelOf(report.newest_backup.age_ms, age)
    if (level) {
      findings.push(finding('repo.backup-age', where, `newest base backup in the repository (checkpoint ${newest.checkpoint_lsn}) is ${formatDuration(report.newest_backup.age_ms)} old > ${formatDuration(level.limit)}`, {age_ms: report.newest_backup.age_ms, threshold_ms: level.limit, checkpoint_lsn: newest.checkpoint_lsn}, level.severity))
    }
  } else {
    const severity: Severity | undefined = age.critical !== null ? 'error' : age.warning !== null ? 'warning' : undefined
    if (severity) findings.push(finding('repo.backup-none', where, `no base backup of node ${repository.node} in the repository`, {node: repository.node}, severity))
  }
  return {repository: report, findings}
}

/** now − the file's mtime (when RedDB last wrote the segment), 0 for a future date; null when the file went away meanwhile. */
async function waitedMs(file: string | undefined, nowMs: bigint): Promise<bigint | null> {
  if (file === undefined) return null
  try {
    const mtime = (await stat(file, {bigint: true})).mtimeMs
    return nowMs > mtime ? nowMs - mtime : 0n
  } catch (error) {
    // A prune that ran meanwhile removed it; only that means "no wait to measure".
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}
