import {lstat, unlink} from 'node:fs/promises'
import path from 'node:path'

import {DEFAULT_SEGMENT_BYTES, effectiveSegmentBytes} from '../format/wal-segment.js'
import {crashPoint} from '../fs/crash.js'
import {fsyncDir} from '../fs/atomic.js'
import {Layout, parseWalSegmentName} from '../layout.js'
import {planRetention, type RetentionPolicy} from '../plan/retention.js'
import {RedreplError} from '../errors.js'
import {log} from '../log.js'
import type {SlotCatalog} from '../model.js'
import {listWalSegments, readCurrentTimeline, readSlotCatalog, readWalHead} from './node-state.js'

export const DEFAULT_POLICY: RetentionPolicy = {min_segments: 16n, max_bytes: 4n << 30n, keep_until_replicas_ack: true}

export interface WalPlanOptions {
  segmentBytes?: bigint
  currentLsn?: bigint
  policy?: Partial<RetentionPolicy>
  forkLsns?: bigint[]
  adoptCatalogTimeline?: boolean
  /** Plan with this catalog instead of the one on disk: what retention would do after a slot change. */
  catalog?: SlotCatalog
}

export interface WalPlanReport {
  timeline: bigint
  current_lsn: bigint
  current_lsn_source: 'flag' | 'wal-head'
  segment_bytes: bigint
  /** The size asked for, when RedDB's 1 MiB minimum raised it. */
  segment_bytes_requested: bigint | null
  policy: RetentionPolicy
  fork_lsns: bigint[]
  slot_catalog: string | null
  catalog_timeline: bigint | null
  catalog_timeline_adopted: boolean
  oldest_required_lsn: bigint | null
  replica_floor_slot: string | null
  retained_bytes_before_prune: bigint
  retained_bytes_after_prune: bigint
  removable_segments: Array<{index: bigint; path: string; bytes: bigint}>
  segments: Array<{index: bigint; bytes: bigint; start_lsn: bigint; end_lsn: bigint; action: 'keep' | 'remove'; reason: string}>
  /** Set when there is no slot catalog: RedDB then prunes nothing. */
  note: string | null
}

/** RedDB's retention plan for the current timeline, from the files on disk. */
export async function planWalRetention(layout: Layout, options: WalPlanOptions = {}): Promise<WalPlanReport> {
  const timeline = await readCurrentTimeline(layout)
  const requested = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
  const segmentBytes = effectiveSegmentBytes(requested)
  const files = await listWalSegments(layout, timeline)
  const currentLsn = options.currentLsn ?? (await readWalHead(layout, timeline, files)) ?? 0n
  const catalog = options.catalog ?? (await readSlotCatalog(layout, timeline))
  const policy = {...DEFAULT_POLICY, ...options.policy}
  const forkLsns = options.forkLsns ?? []
  const base = {
    timeline,
    current_lsn: currentLsn,
    current_lsn_source: options.currentLsn === undefined ? ('wal-head' as const) : ('flag' as const),
    segment_bytes: segmentBytes,
    segment_bytes_requested: requested === segmentBytes ? null : requested,
    policy,
    fork_lsns: forkLsns,
    slot_catalog: catalog ? layout.slotCatalogPath(timeline) : null,
    catalog_timeline: catalog?.timeline ?? null,
    catalog_timeline_adopted: Boolean(catalog && catalog.timeline !== timeline && options.adoptCatalogTimeline),
  }
  const bytesOnDisk = files.reduce((sum, file) => sum + file.bytes, 0n)
  if (catalog === null) {
    return {
      ...base,
      oldest_required_lsn: null,
      replica_floor_slot: null,
      retained_bytes_before_prune: bytesOnDisk,
      retained_bytes_after_prune: bytesOnDisk,
      removable_segments: [],
      segments: files.map((file) => ({
        index: file.index,
        bytes: file.bytes,
        start_lsn: file.index * segmentBytes,
        end_lsn: (file.index + 1n) * segmentBytes - 1n,
        action: 'keep' as const,
        reason: 'no slot catalog',
      })),
      note: `no slot catalog at ${layout.slotCatalogPath(timeline)}: RedDB prunes no WAL without one`,
    }
  }
  let plan
  try {
    plan = planRetention({
      segmentBytes,
      timeline,
      policy,
      catalog,
      forkLsns,
      currentLsn,
      segments: files.map((file) => ({index: file.index, bytes: file.bytes})),
      adoptCatalogTimeline: options.adoptCatalogTimeline,
    })
  } catch (error) {
    if (error instanceof RedreplError && error.kind === 'refused') {
      throw new RedreplError(
        'refused',
        `${layout.slotCatalogPath(timeline)}: ${error.message} — RedDB 1.12 keeps writing its catalog with timeline 1 after a failover and then never prunes; pass --adopt-catalog-timeline to plan with these slots as timeline ${timeline}'s`,
      )
    }
    throw error
  }
  // The plan lists the same segments in the same (index) order as the files.
  const segments = plan.segments
  return {
    ...base,
    oldest_required_lsn: plan.oldest_required_lsn,
    replica_floor_slot: plan.replica_floor_slot,
    retained_bytes_before_prune: plan.retained_bytes_before_prune,
    retained_bytes_after_prune: plan.retained_bytes_after_prune,
    removable_segments: segments.flatMap((s, i) => (s.action === 'remove' ? [{index: s.index, path: files[i].path, bytes: s.bytes}] : [])),
    segments,
    note: base.catalog_timeline_adopted ? `slot catalog of timeline ${catalog.timeline} adopted as timeline ${timeline}'s` : null,
  }
}

/**
 * Deletes the removable segments in index order, then makes the deletions
 * durable. Each file is re-checked right before: still a WAL segment of the
 * planned name (a symlink is unlinked itself, never followed).
 */
export async function pruneWal(report: WalPlanReport): Promise<Array<{index: bigint; path: string; bytes: bigint}>> {
  const removed: Array<{index: bigint; path: string; bytes: bigint}> = []
  const dirs = new Set<string>()
  for (const segment of report.removable_segments) {
    if (parseWalSegmentName(path.basename(segment.path)) !== segment.index) continue
    const info = await lstat(segment.path).catch(() => undefined)
    if (info === undefined) continue
    try {
      await unlink(segment.path)
    } catch (error) {
      throw new RedreplError('failure', `${segment.path}: cannot remove: ${(error as Error).message} (${removed.length} segment(s) removed before it)`)
    }
    crashPoint('wal-prune:after-unlink')
    log.info('removed', {path: segment.path, segment: segment.index, bytes: segment.bytes})
    dirs.add(path.dirname(segment.path))
    removed.push(segment)
  }
  for (const dir of dirs) await fsyncDir(dir)
  return removed
}
