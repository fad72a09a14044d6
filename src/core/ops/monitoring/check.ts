import path from 'node:path'

import {FormatError, RedreplError} from '../../errors.js'
import {finding, type Finding, type Severity} from '../../findings.js'
import {slotRetentionFloor} from '../../format/slot-catalog.js'
import {dataPathArtifacts, type Layout} from '../../layout.js'
import {formatBytes, formatDuration} from '../../units.js'
import {listBasebackupReport} from '../basebackup/inspect.js'
import {checkRepository, laggingRepositories, type RepoCheck, type RepoCheckSettings} from './check-repo.js'
import {formatOfDatabaseHead} from '../node/embedded-file.js'
import {cleanLayout} from '../layout/clean.js'
import {verifyLayoutAndWal} from '../layout/verify.js'
import {listWalSegments} from '../node/state.js'
import {openLayout} from '../node/open-layout.js'
import {pruneRecordPath, readPruneRecord, type PruneRecord} from '../wal/prune-record.js'
import {showSlots} from '../slots/show.js'
import {lostFinding} from '../wal/findings.js'
import {walAvailableFrom} from '../wal/state.js'

/**
 * The monitoring check: every finding of `layout verify`, plus the measured
 * state of the node (slot lag, inactive and invalidated slots, WAL held on
 * disk, the age of the newest usable base backup) held against warning and
 * critical thresholds, each past-threshold value a finding of its own. The
 * worst severity is the status: an error is CRITICAL, a warning WARNING,
 * notes leave it OK. Reads only.
 */

/** A value past `warning` is a warning, past `critical` an error (the Nagios rule: alert when greater); null is off. */
export interface Threshold {
  warning: bigint | null
  critical: bigint | null
}

export interface CheckThresholds {
  /** LSNs between the WAL head and a slot's retention floor (LSNs are record numbers, not bytes: format §5). */
  slot_lag_lsn: Threshold
  /** How long an active=false slot, not invalidated, has not been seen. */
  slot_inactive_ms: Threshold
  /** How long an active slot's replica has not been seen (a replica that hangs or lost its connection while RedDB still counts it active). */
  slot_silent_ms: Threshold
  /** How many slots are invalidated. */
  invalidated_slots: Threshold
  wal_retained_bytes: Threshold
  wal_segments: Threshold
  /** Age of the newest base backup usable for catch-up; with no such backup, the worst level set here applies. */
  basebackup_age_ms: Threshold
  /** Bytes of sealed WAL segments of the current timeline not in the repository (with a repository only). */
  archive_lag_bytes: Threshold
  /** How long the oldest sealed segment not in the repository has waited (its file's mtime to now). */
  archive_age_ms: Threshold
  /** Bytes held by leftovers of interrupted runs that `layout clean` removes. */
  leftover_bytes: Threshold
  /** `wal prune` runs in a row that found the layout lock held and removed nothing. */
  prune_skipped_runs: Threshold
  /** Age of the newest base backup in the repository; with none, the worst level set here applies. */
  repo_backup_age_ms: Threshold
  /** Age of the last successful restore drill (repo drill) of the repository. */
  drill_age_ms: Threshold
}

const HOUR_MS = 3_600_000n

/**
 * One default WAL segment's worth of lag warns, 16 (RedDB's default
 * min_segments) is critical; WAL past 3 GiB warns and past RedDB's default
 * 4 GiB max_bytes cap is critical, since only a slot or the 1.12 catalog
 * quirk keeps it there; any invalidated slot warns.
 */
export const DEFAULT_THRESHOLDS: CheckThresholds = {
  slot_lag_lsn: {warning: 64n << 20n, critical: 1n << 30n},
  slot_inactive_ms: {warning: 5n * 60_000n, critical: HOUR_MS},
  // An active replica acknowledges as it streams; five minutes without a word is a hung replica or a lost connection.
  slot_silent_ms: {warning: 5n * 60_000n, critical: 30n * 60_000n},
  invalidated_slots: {warning: 0n, critical: null},
  wal_retained_bytes: {warning: 3n << 30n, critical: 4n << 30n},
  wal_segments: {warning: 64n, critical: 256n},
  basebackup_age_ms: {warning: 36n * HOUR_MS, critical: 7n * 24n * HOUR_MS},
  // Four default 64 MiB segments waiting warns (a push every 15 minutes keeps far below); 1 GiB means pushes have stopped.
  archive_lag_bytes: {warning: 256n << 20n, critical: 1n << 30n},
  // A push every 15 minutes keeps the wait under half an hour; six hours of WAL only on this host is a dead push job.
  archive_age_ms: {warning: HOUR_MS, critical: 6n * HOUR_MS},
  // One default 64 MiB WAL segment's worth of dead staging warns; a GiB is space a node near disk-full misses.
  leftover_bytes: {warning: 64n << 20n, critical: 1n << 30n},
  // Prunes every 10 minutes: over half an hour skipped warns, two hours (a long throttled backup) is critical.
  prune_skipped_runs: {warning: 3n, critical: 12n},
  repo_backup_age_ms: {warning: 36n * HOUR_MS, critical: 7n * 24n * HOUR_MS},
  // A weekly drill: one missed run warns, two missed are critical.
  drill_age_ms: {warning: 8n * 24n * HOUR_MS, critical: 15n * 24n * HOUR_MS},
}

export type CheckStatus = 'OK' | 'WARNING' | 'CRITICAL'

export interface CheckOptions {
  nowMs: bigint
  thresholds: CheckThresholds
  /** Read every base-backup chunk and the databases in full (see VerifyOptions). */
  deep: boolean
  /** The repository this node pushes to, when one is configured. */
  repository?: RepoCheckSettings
  /** Several repositories (the config file's [repo.NAME] sections), instead of `repository`: each is measured, and one behind another is named (repo.lagging). */
  repositories?: Array<RepoCheckSettings & {name: string}>
  /** The RedDB release the cluster runs, when declared (`reddb` in the config): under 1.23 a format-1 database is an error, not a note. */
  reddb?: '1.12' | '1.23'
}

export interface CheckSlot {
  replica_id: string
  source: 'catalog' | 'legacy'
  active: boolean
  invalidation_reason: string | null
  /** Null without a WAL head. */
  lag_lsn: bigint | null
  last_seen_at_unix_ms: bigint
  /** min(flush, apply): where the replica resumes. */
  retention_floor_lsn: bigint
  /**
   * How the replica can catch up from its floor, by catchup plan's rule:
   * from WAL, from the newest usable base backup then WAL, or only by a
   * reclone; null for an invalidated slot (it needs a new base backup).
   */
  catchup_mode: 'wal-only' | 'basebackup-then-wal' | 'reclone' | null
}

export interface CheckReport {
  status: CheckStatus
  root_path: string
  deep: boolean
  thresholds: CheckThresholds
  timeline: bigint | null
  /** Null when what it is read from does not decode (a finding says why). */
  wal: {head_lsn: bigint | null; segments: number; retained_bytes: bigint} | null
  slots: CheckSlot[] | null
  basebackups: {
    count: number
    /** Backups whose checkpoint is at or after the start of the unbroken WAL ending at the head. */
    usable_count: number
    newest_usable: {path: string; checkpoint_lsn: bigint; snapshot_bytes: bigint; created_unix_ms: bigint; age_ms: bigint} | null
  } | null
  /** Null without a repository configured. */
  repository: RepoCheck | null
  /** With several repositories (then `repository` is null): each one's measurements, by name; absent otherwise. */
  repositories?: Array<RepoCheck & {name: string}>
  /** What the `wal prune` runs recorded (when the last went through, how many since found the lock held); null when none ran. */
  prune: PruneRecord | null
  /** The RedDB release declared for the cluster (`--reddb`, `reddb` in the config); null when none is. */
  reddb: '1.12' | '1.23' | null
  /** Bytes of the leftovers `layout clean` would remove (staging and orphan chunk dirs, temp files); null when they could not be measured. */
  leftover_bytes: bigint | null
  artifacts_checked: number
  findings: Finding[]
}

export async function runCheck(dataPath: string, options: CheckOptions): Promise<CheckReport> {
  const {nowMs, thresholds} = options
  const layout = await openLayout(dataPath)
  // One pass over the WAL: the state verify read serves the slots, the listing and the repository too.
  const {report: verify, wal: walState} = await verifyLayoutAndWal(dataPath, nowMs, {deep: options.deep})
  const findings = [...verify.findings]
  const relative = (file: string) => path.relative(path.dirname(layout.root), file) || file

  // Whatever fails to decode here was read by verify too; its finding stands for the missing measurement.
  const measure = async <T>(read: () => Promise<T>): Promise<T | null> => {
    try {
      return await read()
    } catch (error) {
      // A file refused before reading (too large, not a regular file): verify stats every artifact under the same caps and has reported it.
      if (error instanceof RedreplError && (error.code === 'artifact.too-large' || error.code === 'artifact.not-regular')) return null
      if (!(error instanceof FormatError)) throw error
      const file = relative(error.file ?? layout.root)
      if (!findings.some((f) => f.severity === 'error' && f.path === file)) findings.push(finding('artifact.corrupt', file, error.problem))
      return null
    }
  }

  const slotsReport = await measure(() => showSlots(dataPath, nowMs, walState))
  const timeline = slotsReport?.timeline ?? null
  const segments = timeline === null ? null : walState?.timeline === timeline ? walState.segments : await measure(() => listWalSegments(layout, timeline))
  // The slots report has read the head and the oldest segment's start already.
  // The oldest LSN catch-up can use: the start of the unbroken WAL ending at the head (catchup plan's rule).
  // A backup whose checkpoint lies below a hole cannot be caught up, so it is not counted as usable.
  const walFrom = walState !== null && walState.timeline === timeline ? walAvailableFrom(walState) : undefined
  const read = slotsReport && {walHeadLsn: slotsReport.wal_head_lsn, availableFromLsn: walFrom}
  const listing = await measure(() => listBasebackupReport(layout, nowMs, timeline === null || segments === null ? undefined : {timeline, segments, ...read}))

  const usableBackup = listing?.basebackups.filter((b) => b.usable_for_catchup).at(-1)
  const slots = slotsReport?.slots.map((slot): CheckSlot => {
    const floor = slotRetentionFloor(slot)
    return {
      replica_id: slot.replica_id,
      source: slot.source,
      active: slot.active,
      invalidation_reason: slot.invalidation_reason,
      lag_lsn: slot.lag_lsn,
      last_seen_at_unix_ms: slot.last_seen_at_unix_ms,
      retention_floor_lsn: floor,
      catchup_mode: slot.invalidation_reason !== null || walFrom === undefined ? null : floor >= walFrom ? 'wal-only' : usableBackup ? 'basebackup-then-wal' : 'reclone',
    }
  })
  if (slots && slotsReport) {
    const where = (slot: CheckSlot) => relative(slot.source === 'legacy' ? dataPathArtifacts(dataPath).legacySlotStore : layout.slotCatalogPath(slotsReport.timeline))
    // Verify words a stranded slot from the WAL alone; here the backups on disk decide how bad it is.
    const fromVerify = findings.filter((f) => f.code === 'slot.lost')
    for (const f of fromVerify) findings.splice(findings.indexOf(f), 1)
    const oldest = slotsReport.oldest_wal_lsn
    slotsReport.slots.forEach((row, i) => {
      const slot = slots[i]
      if (walFrom === undefined || slot.catchup_mode === null || slot.catchup_mode === 'wal-only') return
      if (slot.catchup_mode === 'reclone') {
        findings.push(lostFinding(where(slot), row, walFrom, 'error', 'no usable base backup can catch it up either: reclone it, or drop the slot if the replica is gone'))
      } else if (!slot.active && oldest !== null && slot.retention_floor_lsn < oldest && usableBackup) {
        // A hole alone may be LSNs never written (the files cannot tell); WAL pruned below the floor is certainly gone.
        findings.push(lostFinding(where(slot), row, walFrom, 'warning', `catch it up from the base backup at checkpoint ${usableBackup.checkpoint_lsn} (catchup plan), or drop the slot if the replica is gone`))
      }
    })
    const invalidated = slots.filter((slot) => slot.invalidation_reason !== null)
    const invalidatedLevel = levelOf(BigInt(invalidated.length), thresholds.invalidated_slots)
    for (const slot of invalidated) {
      findings.push(
        finding('slot.invalidated', where(slot), `slot ${slot.replica_id} invalidated (${slot.invalidation_reason}): its replica needs a new base backup`, {replica_id: slot.replica_id, reason: slot.invalidation_reason, invalidated_slots: invalidated.length}, invalidatedLevel?.severity ?? 'note'),
      )
    }
    for (const slot of slots) {
      if (slot.invalidation_reason !== null) continue
      const lag = slot.lag_lsn === null ? undefined : levelOf(slot.lag_lsn, thresholds.slot_lag_lsn)
      if (lag && slot.lag_lsn !== null) {
        findings.push(finding('slot.lag', where(slot), `slot ${slot.replica_id} lag ${slot.lag_lsn} LSNs > ${lag.limit}`, {replica_id: slot.replica_id, lag_lsn: slot.lag_lsn, threshold: lag.limit}, lag.severity))
      }
      const inactiveMs = nowMs > slot.last_seen_at_unix_ms ? nowMs - slot.last_seen_at_unix_ms : 0n
      if (slot.active) {
        const silent = levelOf(inactiveMs, thresholds.slot_silent_ms)
        if (silent) {
          const seen = slot.last_seen_at_unix_ms === 0n ? 'never seen' : `last seen ${formatDuration(inactiveMs)} ago`
          findings.push(finding('slot.silent', where(slot), `slot ${slot.replica_id} active but silent, ${seen} > ${formatDuration(silent.limit)}`, {replica_id: slot.replica_id, silent_ms: inactiveMs, threshold_ms: silent.limit}, silent.severity))
        }
        continue
      }
      const inactive = levelOf(inactiveMs, thresholds.slot_inactive_ms)
      if (inactive) {
        const seen = slot.last_seen_at_unix_ms === 0n ? 'never seen' : `last seen ${formatDuration(inactiveMs)} ago`
        findings.push(finding('slot.inactive', where(slot), `slot ${slot.replica_id} inactive, ${seen} > ${formatDuration(inactive.limit)}`, {replica_id: slot.replica_id, inactive_ms: inactiveMs, threshold_ms: inactive.limit}, inactive.severity))
      }
    }
  }

  const wal = segments && {
    head_lsn: slotsReport?.wal_head_lsn ?? null,
    segments: segments.length,
    retained_bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0n),
  }
  if (wal && timeline !== null) {
    const walDir = relative(layout.walDir(timeline))
    const bytes = levelOf(wal.retained_bytes, thresholds.wal_retained_bytes)
    if (bytes) findings.push(finding('wal.retained-bytes', walDir, `WAL on timeline ${timeline} holds ${formatBytes(wal.retained_bytes)} > ${formatBytes(bytes.limit)}`, {retained_bytes: wal.retained_bytes, threshold_bytes: bytes.limit}, bytes.severity))
    const count = levelOf(BigInt(wal.segments), thresholds.wal_segments)
    if (count) findings.push(finding('wal.segments', walDir, `WAL on timeline ${timeline} holds ${wal.segments} segments > ${count.limit}`, {segments: wal.segments, threshold: count.limit}, count.severity))
  }

  const newest = listing?.basebackups.filter((b) => b.usable_for_catchup).at(-1)
  const basebackups = listing && {
    count: listing.basebackups.length,
    usable_count: listing.basebackups.filter((b) => b.usable_for_catchup).length,
    newest_usable: newest
      ? {path: newest.path, checkpoint_lsn: newest.checkpoint_lsn, snapshot_bytes: newest.snapshot_bytes, created_unix_ms: newest.created_unix_ms, age_ms: newest.age_ms}
      : null,
  }
  if (listing) {
    const dir = relative(layout.basebackupDir(listing.timeline))
    const age = thresholds.basebackup_age_ms
    if (newest) {
      const level = levelOf(newest.age_ms, age)
      if (level) {
        findings.push(
          finding('basebackup.age', relative(newest.path), `newest usable base backup (checkpoint ${newest.checkpoint_lsn}) is ${formatDuration(newest.age_ms)} old > ${formatDuration(level.limit)}`, {age_ms: newest.age_ms, threshold_ms: level.limit, checkpoint_lsn: newest.checkpoint_lsn}, level.severity),
        )
      }
    } else {
      const severity: Severity | undefined = age.critical !== null ? 'error' : age.warning !== null ? 'warning' : undefined
      const onDisk = listing.basebackups.length === 0 ? 'none on disk' : `${listing.basebackups.length} on disk, none with a checkpoint at or after ${listing.available_from_lsn}, where the unbroken WAL ending at the head starts`
      if (severity) findings.push(finding('basebackup.none', dir, `no base backup usable for catch-up on timeline ${listing.timeline} (${onDisk})`, {basebackups: listing.basebackups.length, available_from_lsn: listing.available_from_lsn}, severity))
    }
  }

  if (options.reddb === '1.23') await underReddb123(dataPath, findings, relative)

  const leftoverBytes = await measureLeftovers(layout, findings, relative)
  const leftoverLevel = leftoverBytes === null ? undefined : levelOf(leftoverBytes, thresholds.leftover_bytes)
  if (leftoverLevel && leftoverBytes !== null) {
    findings.push(finding('leftover.bytes', relative(layout.root), `leftovers of interrupted runs hold ${formatBytes(leftoverBytes)} > ${formatBytes(leftoverLevel.limit)} (layout clean removes them)`, {leftover_bytes: leftoverBytes, threshold_bytes: leftoverLevel.limit}, leftoverLevel.severity))
  }

  const prune = await readPruneRecord(layout)
  const skipped = prune === null ? undefined : levelOf(prune.skipped_runs, thresholds.prune_skipped_runs)
  if (skipped && prune) {
    const since = prune.last_success_unix_ms === null ? 'none has gone through yet' : `the last went through ${formatDuration(nowMs > prune.last_success_unix_ms ? nowMs - prune.last_success_unix_ms : 0n)} ago`
    findings.push(
      finding('wal.prune-skipped', relative(pruneRecordPath(layout)), `${prune.skipped_runs} wal prune runs in a row found the layout lock held and removed nothing > ${skipped.limit} (${since}; last held by ${prune.last_skipped_holder ?? 'another run'})`, {skipped_runs: prune.skipped_runs, last_success_unix_ms: prune.last_success_unix_ms, threshold: skipped.limit}, skipped.severity),
    )
  }

  let repository: RepoCheck | null = null
  if (options.repository) {
    const measured = await checkRepository(options.repository, timeline, segments, {nowMs, thresholds, levelOf})
    repository = measured.repository
    findings.push(...measured.findings)
  }
  let repositories: Array<RepoCheck & {name: string}> | undefined
  if (options.repositories !== undefined && options.repositories.length > 0) {
    repositories = []
    for (const each of options.repositories) {
      const measured = await checkRepository(each, timeline, segments, {nowMs, thresholds, levelOf})
      repositories.push({name: each.name, ...measured.repository})
      // Each finding says which repository it is about: two can share a location's kind of message.
      findings.push(...measured.findings.map((f) => ({...f, data: {...f.data, repository_name: each.name}})))
    }
    findings.push(...laggingRepositories(repositories))
  }

  return {
    status: statusOf(findings),
    root_path: layout.root,
    deep: options.deep,
    thresholds,
    timeline,
    wal,
    slots: slots ?? null,
    basebackups,
    repository,
    ...(repositories === undefined ? {} : {repositories}),
    prune,
    reddb: options.reddb ?? null,
    leftover_bytes: leftoverBytes,
    artifacts_checked: verify.artifacts_checked,
    findings,
  }
}

/**
 * On a cluster declared to run RedDB 1.23, a format-1 database is a node
 * 1.23.2 wrecks at its next checkpoint in place, and one only 1.12 opens is
 * a node that does not start: both are errors. A deep run has the findings
 * from reading the files; a quick one reads the format from their heads.
 */
async function underReddb123(dataPath: string, findings: Finding[], relative: (file: string) => string): Promise<void> {
  const declared = ' (the cluster is declared to run RedDB 1.23)'
  for (const [i, f] of findings.entries()) {
    if (f.code === 'rdb.version-1-under-1-23' || f.code === 'rdb.refused-by-1-23') findings[i] = {...f, severity: 'error', message: `${f.message}${declared}`}
  }
  const paths = dataPathArtifacts(dataPath)
  for (const file of [dataPath, paths.rebootstrapPending]) {
    const shown = relative(file)
    if (findings.some((f) => f.path === shown && f.code.startsWith('rdb.'))) continue
    // A database that is not a regular file or cannot be read is verify's finding (a deep run's); here it has no format.
    const format = await formatOfDatabaseHead(file).catch((error: unknown) => {
      if (error instanceof RedreplError) return undefined
      throw error
    })
    if (format !== 1) continue
    findings.push(
      finding('rdb.version-1-under-1-23', shown, `format-1 database${declared}: RedDB 1.23.2 checkpointing it in place overwrites its WAL and the file stops opening after the next append; replace it with a format-2 copy (basebackup materialize writes one)`, {rdb_format: 1, rules: 'reddb-1.12'}, 'error'),
    )
  }
}

/**
 * What `layout clean` would remove, sized, its size written into each
 * leftover finding of verify (data.bytes); null when a directory could not
 * be read (verify has a finding for that).
 */
async function measureLeftovers(layout: Layout, findings: Finding[], relative: (file: string) => string): Promise<bigint | null> {
  let leftovers
  try {
    leftovers = (await cleanLayout(layout, {confirm: false})).leftovers
  } catch (error) {
    if (error instanceof RedreplError || (error as NodeJS.ErrnoException).code !== undefined) return null
    throw error
  }
  const sizes = new Map(leftovers.map((leftover) => [relative(leftover.path), leftover.bytes]))
  for (const [i, f] of findings.entries()) {
    const bytes = f.code.startsWith('leftover.') ? sizes.get(f.path) : undefined
    if (bytes !== undefined) findings[i] = {...f, message: `${f.message} (${formatBytes(bytes)})`, data: {...f.data, bytes}}
  }
  return leftovers.reduce((sum, leftover) => sum + leftover.bytes, 0n)
}

function levelOf(value: bigint, threshold: Threshold): {severity: Severity; limit: bigint} | undefined {
  if (threshold.critical !== null && value > threshold.critical) return {severity: 'error', limit: threshold.critical}
  if (threshold.warning !== null && value > threshold.warning) return {severity: 'warning', limit: threshold.warning}
  return undefined
}

/** Any finding counts, whatever its code: an error is CRITICAL, a warning WARNING. */
export function statusOf(findings: Finding[]): CheckStatus {
  if (findings.some((f) => f.severity === 'error')) return 'CRITICAL'
  if (findings.some((f) => f.severity === 'warning')) return 'WARNING'
  return 'OK'
}
