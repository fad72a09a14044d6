import type {CheckReport, CheckSlot} from '../core/ops/monitoring/check.js'
import type {RepoCheck} from '../core/ops/monitoring/check-repo.js'
import {NAGIOS_EXIT} from './nagios.js'

/**
 * The check report in the Prometheus text exposition format (version
 * 0.0.4), for node_exporter's textfile collector or any scraper. Every
 * metric is declared once in METRICS; values print exactly (a u64 LSN stays
 * all its digits, even though Prometheus will hold it as a float64).
 */

export interface MetricSpec {
  name: string
  type: 'gauge'
  help: string
  labels: readonly string[]
}

const SLOT = ['replica', 'source'] as const

export const METRICS = {
  scrapeSuccess: {name: 'redrepl_scrape_success', type: 'gauge', help: '1 when redrepl read the node, 0 when the run failed (the node metrics are then absent).', labels: []},
  scrapeDuration: {name: 'redrepl_scrape_duration_seconds', type: 'gauge', help: 'How long the run took.', labels: []},
  checkStatus: {name: 'redrepl_check_status', type: 'gauge', help: 'State of `redrepl check` under the thresholds in force: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.', labels: []},
  timeline: {name: 'redrepl_timeline_current', type: 'gauge', help: 'The current timeline (it grows by one at each failover).', labels: []},
  walHead: {name: 'redrepl_wal_head_lsn', type: 'gauge', help: 'The WAL head of the current timeline (LSNs are record numbers).', labels: []},
  walSegments: {name: 'redrepl_wal_segments', type: 'gauge', help: 'WAL segment files on the current timeline.', labels: []},
  walBytes: {name: 'redrepl_wal_retained_bytes', type: 'gauge', help: 'Bytes of WAL segment files on the current timeline.', labels: []},
  slotLag: {name: 'redrepl_slot_lag_lsn', type: 'gauge', help: 'LSNs between the WAL head and the slot\'s retention floor, min(flush, apply).', labels: SLOT},
  slotActive: {name: 'redrepl_slot_active', type: 'gauge', help: '1 when the slot is active.', labels: SLOT},
  slotInvalidated: {name: 'redrepl_slot_invalidated', type: 'gauge', help: '1 when the slot is invalidated (its replica needs a new base backup).', labels: SLOT},
  slotCatchup: {
    name: 'redrepl_slot_catchup_possible',
    type: 'gauge',
    help: 'How the slot\'s replica can catch up from its retention floor: 2 from WAL, 1 only from a usable base backup (the WAL it needs is gone), 0 not at all (reclone); absent for an invalidated slot.',
    labels: SLOT,
  },
  slotLastSeen: {name: 'redrepl_slot_last_seen_timestamp_seconds', type: 'gauge', help: 'When the slot\'s replica was last seen (0: never).', labels: SLOT},
  basebackups: {name: 'redrepl_basebackup_count', type: 'gauge', help: 'Base backups on the current timeline.', labels: []},
  usableBackups: {name: 'redrepl_basebackup_usable_count', type: 'gauge', help: 'Base backups on the current timeline that can be caught up from WAL (checkpoint at or after the start of the unbroken WAL ending at the head).', labels: []},
  lastBackupTime: {
    name: 'redrepl_basebackup_last_completed_timestamp_seconds',
    type: 'gauge',
    help: 'When the newest base backup usable for catch-up was completed: its manifest\'s mtime, written last (not the time of its checkpoint); absent when there is none.',
    labels: [],
  },
  lastBackupTimeOld: {
    name: 'redrepl_basebackup_last_checkpoint_timestamp_seconds',
    type: 'gauge',
    help: 'Deprecated, to be removed in redrepl 0.3: the same value as redrepl_basebackup_last_completed_timestamp_seconds (the manifest\'s mtime, not the checkpoint\'s time).',
    labels: [],
  },
  lastBackupLsn: {name: 'redrepl_basebackup_last_checkpoint_lsn', type: 'gauge', help: 'Checkpoint LSN of the newest base backup usable for catch-up.', labels: []},
  lastBackupBytes: {name: 'redrepl_basebackup_last_size_bytes', type: 'gauge', help: 'Snapshot bytes of the newest base backup usable for catch-up.', labels: []},
  repoUp: {name: 'redrepl_repo_up', type: 'gauge', help: '1 when the repository (--repo) was read within --timeout, 0 when it could not be (the repo.unreachable finding says why); absent without a repository.', labels: []},
  pruneSkipped: {name: 'redrepl_wal_prune_skipped_runs', type: 'gauge', help: 'wal prune runs in a row that found the layout lock held and removed nothing (absent until a prune has run).', labels: []},
  pruneLastSuccess: {name: 'redrepl_wal_prune_last_success_timestamp_seconds', type: 'gauge', help: 'When a wal prune last went through (dry runs do not count; absent until one has).', labels: []},
  leftoverBytes: {name: 'redrepl_leftover_bytes', type: 'gauge', help: 'Bytes held by leftovers of interrupted runs that `redrepl layout clean` removes (staging and orphan chunk dirs, temp files).', labels: []},
  archiveLagBytes: {name: 'redrepl_archive_lag_bytes', type: 'gauge', help: 'Bytes of sealed WAL segments of the current timeline not yet in the repository (with --repo; absent when it cannot be read).', labels: []},
  archiveLagSegments: {name: 'redrepl_archive_lag_segments', type: 'gauge', help: 'Sealed WAL segments of the current timeline not yet in the repository (with --repo; absent when it cannot be read).', labels: []},
  archiveAge: {name: 'redrepl_archive_oldest_waiting_seconds', type: 'gauge', help: 'How long the oldest sealed WAL segment not yet in the repository has waited, from its file\'s mtime (0 when none waits; with --repo; absent when it cannot be read).', labels: []},
  archiveLastTime: {name: 'redrepl_archive_last_timestamp_seconds', type: 'gauge', help: 'The store\'s date of the newest WAL segment of the current timeline in the repository (with --repo; absent when there is none).', labels: []},
  repoBackupTime: {name: 'redrepl_repo_backup_last_timestamp_seconds', type: 'gauge', help: 'When the newest complete base backup in the repository was completed (its manifest\'s date in the store; a newer one missing a chunk does not count); absent when there is none.', labels: []},
  drillLastSuccess: {name: 'redrepl_repo_drill_last_success_timestamp_seconds', type: 'gauge', help: 'When a restore drill (repo drill) of the repository last succeeded (with --repo; absent when none has).', labels: []},
  drillOk: {name: 'redrepl_repo_drill_ok', type: 'gauge', help: '1 when the last restore drill (repo drill) succeeded, 0 when it failed (with --repo; absent when none was run, or when its record does not read: repo.drill-failed).', labels: []},
  pushLastSuccess: {name: 'redrepl_repo_push_last_success_timestamp_seconds', type: 'gauge', help: 'When repo push last succeeded for this node, as the repository records it (with --repo; absent when none is recorded).', labels: []},
  pushFailing: {name: 'redrepl_repo_push_failing', type: 'gauge', help: '1 when the last repo push recorded in the repository failed and none succeeded since, else 0 (with --repo; absent when it cannot be read).', labels: []},
  repoLagging: {
    name: 'redrepl_repo_lagging',
    type: 'gauge',
    help: '1 when this repository is behind another configured one (fewer of the node\'s sealed WAL segments, or an older newest complete base backup: the repo.lagging finding), else 0; only with several repositories, absent for one that cannot be read.',
    labels: [],
  },
  findings: {name: 'redrepl_check_findings', type: 'gauge', help: 'Findings of `redrepl check` (layout verify\'s and the thresholds\') by stable code and severity; absent means none.', labels: ['code', 'severity']},
  artifactsChecked: {name: 'redrepl_layout_artifacts_checked', type: 'gauge', help: 'Artifacts layout verify decoded.', labels: []},
} as const satisfies Record<string, MetricSpec>

type MetricKey = keyof typeof METRICS
/** `repo` is set on a repository's series when several are measured in one run (the config file's [repo.NAME] sections). */
type Sample = {labels: readonly string[]; value: string; repo?: string}

/**
 * The label naming the repository on every `redrepl_repo_*` and
 * `redrepl_archive_*` sample when several repositories are measured, so that
 * each one's series stay apart; a single repository's carry none.
 */
export const REPO_LABEL = 'repo'

/** Label values escape backslash, double quote and newline (the format's only escapes). */
function labelValue(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
}

/** HELP text escapes backslash and newline. */
function helpText(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')
}

/** Exact seconds from ms, no float rounding: 1700000000123 → 1700000000.123. */
export function secondsOfMs(ms: bigint): string {
  return `${ms / 1000n}.${String(ms % 1000n).padStart(3, '0')}`
}

/**
 * Labels on every sample, so that two nodes on one host (two textfiles in
 * one collector directory) or two clusters in one Prometheus never merge
 * into one series: `node` (the config section or repository namespace, else
 * the host name's first label) and `cluster` (empty when not set, which
 * Prometheus reads as no label).
 */
export interface TargetLabels {
  node: string
  cluster: string
}

export const TARGET_LABELS = ['node', 'cluster'] as const

class Exposition {
  private readonly samples = new Map<MetricKey, Sample[]>()

  constructor(private readonly target: TargetLabels) {}

  add(key: MetricKey, value: bigint | number | string, labels: readonly string[] = [], repo?: string): void {
    const list = this.samples.get(key) ?? []
    list.push({labels, value: String(value), ...(repo === undefined ? {} : {repo})})
    this.samples.set(key, list)
  }

  /** Families in METRICS order, each with its HELP and TYPE; families without a sample are left out. */
  render(): string {
    const lines: string[] = []
    for (const key of Object.keys(METRICS) as MetricKey[]) {
      const samples = this.samples.get(key)
      if (!samples) continue
      const spec: MetricSpec = METRICS[key]
      lines.push(`# HELP ${spec.name} ${helpText(spec.help)}`, `# TYPE ${spec.name} ${spec.type}`)
      for (const sample of samples) {
        const labels = [
          ...TARGET_LABELS.map((name) => `${name}="${labelValue(this.target[name])}"`),
          ...sample.labels.map((value, i) => `${spec.labels[i]}="${labelValue(value)}"`),
          ...(sample.repo === undefined ? [] : [`${REPO_LABEL}="${labelValue(sample.repo)}"`]),
        ].join(',')
        lines.push(`${spec.name}{${labels}} ${sample.value}`)
      }
    }
    return `${lines.join('\n')}\n`
  }
}

const CATCHUP_LEVEL: Record<NonNullable<CheckSlot['catchup_mode']>, number> = {'wal-only': 2, 'basebackup-then-wal': 1, reclone: 0}

const seconds = (durationMs: number) => (durationMs / 1000).toFixed(3)

export function renderMetrics(report: CheckReport, durationMs: number, target: TargetLabels): string {
  const out = new Exposition(target)
  out.add('scrapeSuccess', 1)
  out.add('scrapeDuration', seconds(durationMs))
  out.add('checkStatus', NAGIOS_EXIT[report.status])
  if (report.timeline !== null) out.add('timeline', report.timeline)
  if (report.wal) {
    if (report.wal.head_lsn !== null) out.add('walHead', report.wal.head_lsn)
    out.add('walSegments', report.wal.segments)
    out.add('walBytes', report.wal.retained_bytes)
  }
  for (const slot of report.slots ?? []) {
    const labels = [slot.replica_id, slot.source]
    if (slot.lag_lsn !== null) out.add('slotLag', slot.lag_lsn, labels)
    out.add('slotActive', slot.active ? 1 : 0, labels)
    out.add('slotInvalidated', slot.invalidation_reason === null ? 0 : 1, labels)
    if (slot.catchup_mode !== null) out.add('slotCatchup', CATCHUP_LEVEL[slot.catchup_mode], labels)
    out.add('slotLastSeen', secondsOfMs(slot.last_seen_at_unix_ms), labels)
  }
  if (report.basebackups) {
    out.add('basebackups', report.basebackups.count)
    out.add('usableBackups', report.basebackups.usable_count)
    const newest = report.basebackups.newest_usable
    if (newest) {
      out.add('lastBackupTime', secondsOfMs(newest.created_unix_ms))
      out.add('lastBackupTimeOld', secondsOfMs(newest.created_unix_ms))
      out.add('lastBackupLsn', newest.checkpoint_lsn)
      out.add('lastBackupBytes', newest.snapshot_bytes)
    }
  }
  if (report.prune) {
    out.add('pruneSkipped', report.prune.skipped_runs)
    if (report.prune.last_success_unix_ms !== null) out.add('pruneLastSuccess', secondsOfMs(report.prune.last_success_unix_ms))
  }
  if (report.leftover_bytes !== null) out.add('leftoverBytes', report.leftover_bytes)
  if (report.repository) addRepository(out, report.repository)
  for (const each of report.repositories ?? []) {
    addRepository(out, each, each.name)
    if (!each.reachable) continue
    // The repo.lagging comparison check makes, per repository: 1 when it is behind another configured one.
    const behind = report.findings.some((f) => f.code === 'repo.lagging' && f.data.repository_name === each.name)
    out.add('repoLagging', behind ? 1 : 0, [], each.name)
  }
  const counts = new Map<string, {code: string; severity: string; count: number}>()
  for (const f of report.findings) {
    const key = `${f.code}\u0000${f.severity}`
    const entry = counts.get(key) ?? {code: f.code, severity: f.severity, count: 0}
    entry.count++
    counts.set(key, entry)
  }
  for (const {code, severity, count} of counts.values()) out.add('findings', count, [code, severity])
  out.add('artifactsChecked', report.artifacts_checked)
  return out.render()
}

/** One repository's series; `name` labels them when several are measured in the run. */
function addRepository(out: Exposition, repo: RepoCheck, name?: string): void {
  const add = (key: MetricKey, value: bigint | number | string) => out.add(key, value, [], name)
  add('repoUp', repo.reachable ? 1 : 0)
  if (repo.archive_lag_bytes !== null) {
    add('archiveLagBytes', repo.archive_lag_bytes)
    add('archiveLagSegments', repo.archive_lag_segments ?? 0)
    add('archiveAge', secondsOfMs(repo.oldest_unarchived_age_ms ?? 0n))
  }
  if (repo.newest_archived_wal_unix_ms !== null) add('archiveLastTime', secondsOfMs(repo.newest_archived_wal_unix_ms))
  if (repo.newest_backup) add('repoBackupTime', secondsOfMs(repo.newest_backup.created_unix_ms))
  if (repo.drill) {
    if (repo.drill.last_success_unix_ms !== null) add('drillLastSuccess', secondsOfMs(repo.drill.last_success_unix_ms))
    add('drillOk', repo.drill.ok ? 1 : 0)
  }
  if (repo.push) {
    if (repo.push.last_success_unix_ms !== null) add('pushLastSuccess', secondsOfMs(repo.push.last_success_unix_ms))
    add('pushFailing', repo.push.failing ? 1 : 0)
  }
}

/** What a failed run leaves for the scraper: success 0 and state UNKNOWN, so a stale file never looks healthy. */
export function renderFailedScrape(durationMs: number, target: TargetLabels): string {
  const out = new Exposition(target)
  out.add('scrapeSuccess', 0)
  out.add('scrapeDuration', seconds(durationMs))
  out.add('checkStatus', NAGIOS_EXIT.UNKNOWN)
  return out.render()
}
