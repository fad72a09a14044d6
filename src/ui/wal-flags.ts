import {Flags} from './oclif.js'

import type {WalPlanOptions, WalPlanReport} from '../core/ops/wal-retention.js'
import {byteSizeFlag, dataPathFlag, jsonFlag, u64Flag} from './flags.js'
import {formatBytes} from './numbers.js'
import {paint} from './style.js'
import {renderTable} from './table.js'

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
}

export function walPlanOptions(flags: {
  'segment-bytes'?: bigint
  'current-lsn'?: bigint
  'min-segments': bigint
  'max-bytes': bigint
  'keep-until-replicas-ack': boolean
  'fork-lsn'?: bigint[]
  'adopt-catalog-timeline': boolean
}): WalPlanOptions {
  return {
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
  return lines.join('\n')
}

export function renderSegmentTable(report: WalPlanReport): string {
  return renderTable(
    ['segment', 'LSNs', 'size', 'action', 'reason'],
    report.segments.map((segment) => [
      segment.index,
      `${segment.start_lsn}..${segment.last_lsn}`,
      formatBytes(segment.bytes),
      segment.action === 'remove' ? paint.red('remove') : 'keep',
      segment.reason,
    ]),
  )
}
