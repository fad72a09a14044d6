
import {stat} from '../../fs/metadata.js'
import {finding, type Finding, type Severity} from '../../findings.js'
import {FormatError, RedreplError} from '../../errors.js'
import {unarchivedSegments} from '../../plan/repo-wal.js'
import {readInventory, type RepoInventory} from '../../repo/inventory.js'
import {RepoKeys} from '../../repo/keys.js'
import {openRepository, type RepoSettings} from '../../repo/open.js'
import {formatBytes, formatDuration} from '../../units.js'
import type {WalSegmentFile} from '../node/state.js'
import {readDrillRecord, type DrillRecord} from '../repo/drill.js'
import {readArchiveHealth, type ArchiveHealth} from '../repo/health.js'
import {newestCompleteBackup} from '../repo/list.js'

/**
 * The repository half of `check`: archive lag (sealed segments of the
 * current timeline the repository does not hold with their size, the same
 * evidence `wal prune` keeps them by) and the age of the newest base backup
 * there that is complete (its manifest, written last, dated by the store;
 * a newer one with a chunk gone does not count), the last restore drill
 * (`repo drill`'s record) and the last push's outcome. A repository that
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
  /** The last `repo drill`'s record; null when none was run or the repository could not be read. */
  drill: DrillRecord | null
  /** `repo push`'s last success and failure as the repository records them; null when it could not be read. */
  push: ArchiveHealth | null
}

export interface RepoThresholds {
  archive_lag_bytes: {warning: bigint | null; critical: bigint | null}
  archive_age_ms: {warning: bigint | null; critical: bigint | null}
  repo_backup_age_ms: {warning: bigint | null; critical: bigint | null}
  drill_age_ms: {warning: bigint | null; critical: bigint | null}
}

type Level = (value: bigint, threshold: {warning: bigint | null; critical: bigint | null}) => {severity: Severity; limit: bigint} | undefined

export async function checkRepository(
  repository: RepoCheckSettings,
  timeline: bigint | null,
  segments: WalSegmentFile[] | null,
  options: {nowMs: bigint; thresholds: RepoThresholds; levelOf: Level},
): Promise<{repository: RepoCheck; findings: Finding[]}> {
  const {nowMs, thresholds, levelOf} = options
  const report: RepoCheck = {location: repository.settings.url, node: repository.node, reachable: false, archive_lag_segments: null, archive_lag_bytes: null, oldest_unarchived_age_ms: null, newest_archived_wal_unix_ms: null, newest_backup: null, drill: null, push: null}
  let inventory: RepoInventory
  let complete: Awaited<ReturnType<typeof newestCompleteBackup>>
  let drill: {record: DrillRecord | null} | {unreadable: string}
  let push: ArchiveHealth
  try {
    const backend = await openRepository(repository.settings)
    report.location = backend.location
    try {
      inventory = await readInventory(backend, new RepoKeys(repository.node))
      // Newest first, stopping at the first complete one: a few small manifests at most, under the run's deadline like every read here.
      complete = await newestCompleteBackup(backend, inventory)
      push = await readArchiveHealth(backend, repository.node, inventory)
      drill = await readDrillRecord(backend, repository.node).then(
        (record) => ({record}),
        (error: unknown) => {
          // A damaged record is not "never drilled": it is reported, the rest still measured.
          if (error instanceof FormatError) return {unreadable: error.message}
          throw error
        },
      )
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

  // Sorted by (timeline, checkpoint): the newest complete one dates the backups; a newer one missing a chunk would not restore.
  const age = thresholds.repo_backup_age_ms
  const skipped = complete === undefined ? inventory.manifests.length : inventory.manifests.length - 1 - inventory.manifests.indexOf(complete.entry)
  const skippedNote = skipped === 0 ? '' : ` (${skipped} newer incomplete, \`repo verify\` names the damage)`
  if (complete) {
    const newest = complete.entry
    const created = newest.object.modified_unix_ms
    report.newest_backup = {key: newest.key, timeline: newest.timeline, checkpoint_lsn: newest.checkpoint_lsn, created_unix_ms: created, age_ms: nowMs > created ? nowMs - created : 0n}
    const level = levelOf(report.newest_backup.age_ms, age)
    if (level) {
      findings.push(finding('repo.backup-age', where, `newest complete base backup in the repository (checkpoint ${newest.checkpoint_lsn}) is ${formatDuration(report.newest_backup.age_ms)} old > ${formatDuration(level.limit)}${skippedNote}`, {age_ms: report.newest_backup.age_ms, threshold_ms: level.limit, checkpoint_lsn: newest.checkpoint_lsn, incomplete_newer: skipped}, level.severity))
    }
  } else {
    const severity: Severity | undefined = age.critical !== null ? 'error' : age.warning !== null ? 'warning' : undefined
    const what = skipped === 0 ? 'no base backup' : `no complete base backup (${skipped} incomplete, \`repo verify\` names the damage)`
    if (severity) findings.push(finding('repo.backup-none', where, `${what} of node ${repository.node} in the repository`, {node: repository.node, incomplete: skipped}, severity))
  }

  findings.push(...drillFindings(drill, where, nowMs, thresholds.drill_age_ms, levelOf))
  report.drill = 'record' in drill ? drill.record : null

  report.push = push
  if (push.failing) {
    const when = push.last_failure_unix_ms === null ? 'at an unrecorded time' : `${formatDuration(nowMs > push.last_failure_unix_ms ? nowMs - push.last_failure_unix_ms : 0n)} ago`
    const host = push.last_failure_host === null ? '' : ` on ${push.last_failure_host}`
    const since = push.last_success_unix_ms === null ? 'none ever succeeded' : `last success ${formatDuration(nowMs > push.last_success_unix_ms ? nowMs - push.last_success_unix_ms : 0n)} ago`
    findings.push(
      finding('repo.push-failing', where, `the last repo push failed ${when}${host} (${since}): ${push.last_failure_reason ?? 'no reason recorded'}`, {last_failure_unix_ms: push.last_failure_unix_ms, last_success_unix_ms: push.last_success_unix_ms, reason: push.last_failure_reason}),
    )
  }
  return {repository: report, findings}
}

/** The restore drill's findings: its age since the last success, a failed last drill, none ever run (a note, so that setups without drills do not page). */
function drillFindings(drill: {record: DrillRecord | null} | {unreadable: string}, where: string, nowMs: bigint, threshold: RepoThresholds['drill_age_ms'], levelOf: Level): Finding[] {
  if ('unreadable' in drill) return [finding('repo.drill-failed', where, `the restore drill record cannot be read: ${drill.unreadable}`, {problem: drill.unreadable})]
  const record = drill.record
  if (record === null) {
    if (threshold.warning === null && threshold.critical === null) return []
    return [finding('repo.drill-none', where, 'no restore drill recorded in the repository (`repo drill`): nobody knows that its backups restore', {})]
  }
  const found: Finding[] = []
  if (!record.ok) {
    found.push(
      finding('repo.drill-failed', where, `the last restore drill failed ${formatDuration(nowMs > record.finished_unix_ms ? nowMs - record.finished_unix_ms : 0n)} ago: ${record.problem ?? 'no problem recorded'}`, {finished_unix_ms: record.finished_unix_ms, last_success_unix_ms: record.last_success_unix_ms, problem: record.problem}),
    )
  }
  if (record.last_success_unix_ms !== null) {
    const age = nowMs > record.last_success_unix_ms ? nowMs - record.last_success_unix_ms : 0n
    const level = levelOf(age, threshold)
    if (level) found.push(finding('repo.drill-age', where, `the last successful restore drill was ${formatDuration(age)} ago > ${formatDuration(level.limit)}`, {age_ms: age, threshold_ms: level.limit, last_success_unix_ms: record.last_success_unix_ms}, level.severity))
  }
  return found
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

/**
 * Of several repositories measured for one node, those behind another: one
 * lacks sealed WAL segments another holds (more of them not archived), or
 * its newest complete base backup is older than another's (by timeline,
 * then checkpoint). Each gets one repo.lagging finding naming the one
 * furthest ahead. An unreadable repository has its repo.unreachable and is
 * not compared.
 */
export function laggingRepositories(repos: Array<RepoCheck & {name: string}>): Finding[] {
  const reachable = repos.filter((repo) => repo.reachable)
  const order = (b: RepoCheck['newest_backup']) => (b === null ? [-1n, -1n] : [b.timeline, b.checkpoint_lsn])
  const newer = (a: RepoCheck['newest_backup'], b: RepoCheck['newest_backup']) => {
    const [at, ac] = order(a)
    const [bt, bc] = order(b)
    return at > bt || (at === bt && ac > bc)
  }
  const walAhead = reachable.filter((r) => r.archive_lag_segments !== null).reduce<(RepoCheck & {name: string}) | undefined>((best, r) => (best === undefined || r.archive_lag_segments! < best.archive_lag_segments! ? r : best), undefined)
  const backupAhead = reachable.reduce<(RepoCheck & {name: string}) | undefined>((best, r) => (best === undefined || newer(r.newest_backup, best.newest_backup) ? r : best), undefined)
  const found: Finding[] = []
  for (const repo of reachable) {
    const walBehind = walAhead !== undefined && repo.archive_lag_segments !== null ? repo.archive_lag_segments - walAhead.archive_lag_segments! : 0
    const backupBehind = backupAhead !== undefined && newer(backupAhead.newest_backup, repo.newest_backup)
    if (walBehind <= 0 && !backupBehind) continue
    const parts: string[] = []
    if (walBehind > 0) parts.push(`${walBehind} sealed WAL segment(s) fewer than ${walAhead!.name}`)
    if (backupBehind) {
      const ahead = backupAhead!.newest_backup!
      parts.push(`newest complete base backup ${repo.newest_backup === null ? 'none' : `at checkpoint ${repo.newest_backup.checkpoint_lsn}`}, ${backupAhead!.name}'s at checkpoint ${ahead.checkpoint_lsn}`)
    }
    found.push(
      finding('repo.lagging', repo.location, `repository ${repo.name} is behind: ${parts.join('; ')}`, {
        repository_name: repo.name,
        wal_segments_behind: walBehind > 0 ? walBehind : 0,
        wal_ahead_repository_name: walBehind > 0 ? walAhead!.name : null,
        backup_checkpoint_lsn: repo.newest_backup?.checkpoint_lsn ?? null,
        backup_ahead_repository_name: backupBehind ? backupAhead!.name : null,
        backup_ahead_checkpoint_lsn: backupBehind ? backupAhead!.newest_backup!.checkpoint_lsn : null,
      }),
    )
  }
  return found
}
