import {Flags} from './oclif.js'

import type {WalPlanOptions, WalPlanReport} from '../core/ops/wal/retention.js'
import {byteSizeFlag, dataPathFlag, jsonFlag, u64Flag} from './flags.js'
import {formatBytes} from './numbers.js'
import {DEFAULT_TIMEOUT_MS, optionalRepoFlags, optionalRepository} from './repo-flags.js'
import {paint} from './style.js'
import {renderColumns, tableOf, type Column, type TableView} from './table.js'

/** The flags `wal plan` and `wal prune` share, with RedDB's defaults. */
export const walPlanFlags = {
  'data-path': dataPathFlag,
  json: jsonFlag,
  'segment-bytes': byteSizeFlag({
    description: 'WAL segment size S (default: what the segment headers say, as segment i starts at LSN i × S; 64 MiB, RedDB\'s default, when no header can say). A size the headers contradict is refused. RedDB raises anything below 1 MiB to 1 MiB.',
  }),
  'current-lsn': u64Flag({description: 'The current LSN (default: the WAL head of the current timeline; a value past it is refused).'}),
  'min-segments': u64Flag({description: 'Keep at least this many segments up to the current one (0 behaves like 1).', default: 16n}),
  'max-bytes': byteSizeFlag({description: 'Trim released segments until the WAL is at most this big (0 = no cap).', default: 4n << 30n}),
  'keep-until-replicas-ack': Flags.boolean({description: 'Keep segments no active slot has acknowledged.', default: true, allowNo: true}),
  'fork-lsn': u64Flag({description: 'An LSN pinned by a live fork; segments reaching past it are kept.', multiple: true}),
  'adopt-catalog-timeline': Flags.boolean({description: 'Plan with a slot catalog written for another timeline as if it were the current one\'s (after a failover RedDB 1.12 writes it with timeline 1).'}),
  'keep-wal-for-backups': Flags.boolean({description: 'Also keep the WAL the base backups on disk need to catch up: every segment from the checkpoint of the oldest backup usable for catch-up (reason "base backup (checkpoint LSN …)").'}),
  ...optionalRepoFlags(
    'The repository this node pushes to (a directory or s3://bucket/prefix): a sealed segment it does not hold with the same size is kept, reason "not archived"; one that cannot be read, or not within --timeout, makes the command refuse (exit 4).',
    DEFAULT_TIMEOUT_MS.retention,
  ),
}

export function walPlanOptions(flags: {
  'segment-bytes'?: bigint
  'current-lsn'?: bigint
  'min-segments': bigint
  'max-bytes': bigint
  'keep-until-replicas-ack': boolean
  'fork-lsn'?: bigint[]
  'adopt-catalog-timeline': boolean
  'keep-wal-for-backups': boolean
  repo?: string
  node?: string
  's3-endpoint'?: string
  's3-region'?: string
  's3-force-path-style': boolean
}): WalPlanOptions {
  return {
    repository: optionalRepository(flags),
    keepWalForBackups: flags['keep-wal-for-backups'],
    segmentBytes: flags['segment-bytes'],
    currentLsn: flags['current-lsn'],
    policy: {min_segments: flags['min-segments'], max_bytes: flags['max-bytes'], keep_until_replicas_ack: flags['keep-until-replicas-ack']},
    forkLsns: flags['fork-lsn'] ?? [],
    adoptCatalogTimeline: flags['adopt-catalog-timeline'],
  }
}

const SIZE_SOURCE: Record<WalPlanReport['segment_bytes_source'], string> = {
  headers: 'from the segment headers',
  flag: 'as given; no segment header can state it',
  default: 'RedDB\'s default; no segment header can state it',
}

export function renderWalSummary(report: WalPlanReport, verb: string): string {
  const removable = report.removable_segments
  const freed = report.retained_bytes_before_prune - report.retained_bytes_after_prune
  const lines = [
    `timeline ${report.timeline}, current LSN ${report.current_lsn}${report.current_lsn_source === 'wal-head' ? ' (WAL head)' : ''}, segment size ${report.segment_bytes} (${SIZE_SOURCE[report.segment_bytes_source]}${report.segment_bytes_requested === null ? '' : `, raised from ${report.segment_bytes_requested}`})`,
    `oldest required LSN: ${report.oldest_required_lsn ?? 'none'}${report.replica_floor_slot ? ` (slot ${report.replica_floor_slot})` : ''}`,
    `${verb} ${removable.length} segment(s), ${formatBytes(freed)}; WAL ${formatBytes(report.retained_bytes_before_prune)} → ${formatBytes(report.retained_bytes_after_prune)}`,
  ]
  if (report.repository) {
    const r = report.repository
    lines.push(`repository ${r.location} (node ${r.node}): ${r.archived_segments} segment(s) archived, ${r.not_archived_segments} not yet`)
  }
  for (const r of report.repositories ?? []) lines.push(`repository ${r.name} ${r.location} (node ${r.node}): ${r.archived_segments} segment(s) archived, ${r.not_archived_segments} not yet`)
  if (report.backup_hold_checkpoint_lsn !== null) lines.push(`kept for base backups: WAL from checkpoint LSN ${report.backup_hold_checkpoint_lsn}`)
  return lines.join('\n')
}

type PlannedSegment = WalPlanReport['segments'][number]

const SEGMENT_COLUMNS: Array<Column<PlannedSegment>> = [
  {header: 'segment', value: (s) => s.index, priority: 1},
  {header: 'LSNs', value: (s) => `${s.start_lsn}..${s.last_lsn}`, raw: (s) => `${s.start_lsn}..${s.last_lsn}`, key: 'lsns', priority: 2},
  {header: 'size', value: (s) => formatBytes(s.bytes), raw: (s) => s.bytes, key: 'size_bytes', priority: 2},
  {header: 'action', value: (s) => (s.action === 'remove' ? paint.red('remove') : 'keep'), raw: (s) => s.action, priority: 1},
  {header: 'reason', value: (s) => s.reason, priority: 1},
]

/** The plan's segments, each with its action and reason: wal plan's main table. */
export const segmentTable = (report: Pick<WalPlanReport, 'segments'>): TableView<PlannedSegment> => tableOf(SEGMENT_COLUMNS, report.segments)

export function renderSegmentTable(report: Pick<WalPlanReport, 'segments'>): string {
  return renderColumns(segmentTable(report))
}
