import {refused} from '../errors.js'
import {catalogRetentionFloor, slotRetentionFloor} from '../format/slot-catalog.js'
import {effectiveSegmentBytes} from '../format/wal-segment.js'
import type {SlotCatalog} from '../model.js'

export interface RetentionPolicy {
  min_segments: bigint
  /** 0 = no cap. */
  max_bytes: bigint
  keep_until_replicas_ack: boolean
}

export interface RetentionInput {
  /** Raised to 1 MiB when smaller, as RedDB does. */
  segmentBytes: bigint
  timeline: bigint
  policy: RetentionPolicy
  /** The slot catalog; null when there is none. */
  catalog: SlotCatalog | null
  forkLsns: bigint[]
  currentLsn: bigint
  segments: Array<{index: bigint; bytes: bigint}>
  /** Plan with a catalog of another timeline as if it were this one's (RedDB refuses). */
  adoptCatalogTimeline?: boolean
  /**
   * Segments redrepl keeps beyond RedDB's rule, by index, with the reason
   * (not yet in the repository, needed by a base backup). A hold pins like a
   * fork: neither the window nor --max-bytes releases it.
   */
  holds?: ReadonlyMap<bigint, string>
}

export interface SegmentVerdict {
  index: bigint
  bytes: bigint
  start_lsn: bigint
  /** Inclusive: the top segment's range ends at 2^64 − 1, which an exclusive end could not hold as a u64. */
  last_lsn: bigint
  action: 'keep' | 'remove'
  reason: string
}

export interface RetentionPlan {
  segment_bytes: bigint
  oldest_required_lsn: bigint | null
  replica_floor: bigint | null
  /** The slot whose floor is the replica floor. */
  replica_floor_slot: string | null
  fork_floor: bigint | null
  current_segment: bigint
  keep_from: bigint
  retained_bytes_before_prune: bigint
  retained_bytes_after_prune: bigint
  removable_segment_indexes: bigint[]
  segments: SegmentVerdict[]
}

const min = (values: bigint[]): bigint | null => (values.length === 0 ? null : values.reduce((a, b) => (b < a ? b : a)))

/** RedDB's WAL retention rule (behaviour.md "wal plan"), with a reason for every segment. */
export function planRetention(input: RetentionInput): RetentionPlan {
  const catalog = input.catalog
  if (catalog && catalog.timeline !== input.timeline && !input.adoptCatalogTimeline) {
    throw refused(`slot catalog timeline ${catalog.timeline} does not match file plan timeline ${input.timeline}`)
  }
  const size = effectiveSegmentBytes(input.segmentBytes)
  const replicaFloor = catalog ? catalogRetentionFloor(catalog) : null
  const floorSlot = replicaFloor === null ? null : (catalog!.slots.find((slot) => slot.active && slotRetentionFloor(slot) === replicaFloor)?.replica_id ?? null)
  const forkFloor = min(input.forkLsns)
  const oldestRequired = min([replicaFloor, forkFloor].filter((value) => value !== null))
  const current = input.currentLsn / size
  const window = input.policy.min_segments === 0n ? 1n : input.policy.min_segments
  const keepFrom = current > window - 1n ? current - (window - 1n) : 0n

  // Reasons are built once: a WAL dir can hold 100,000 segments.
  const forkReason = `fork pin (LSN ${forkFloor})`
  const slotReason = `slot floor (${floorSlot}, LSN ${replicaFloor})`
  const windowReason = `minimum window (${window} segments)`
  /** Why a segment must stay whatever the window says, or null when it is released. */
  const pin = (index: bigint): string | null => {
    const end = (index + 1n) * size
    if (forkFloor !== null && end > forkFloor) return forkReason
    if (input.policy.keep_until_replicas_ack) {
      if (replicaFloor === null) return 'no replica floor (no active slot)'
      if (end > replicaFloor) return slotReason
    }
    // The current segment and those ahead are kept as such; a hold names why older ones stay.
    return index < current ? (input.holds?.get(index) ?? null) : null
  }

  // Listings arrive sorted; sort only when they are not.
  const sorted = input.segments.every((segment, i) => i === 0 || input.segments[i - 1].index < segment.index)
  const segments = sorted ? input.segments : [...input.segments].sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0))
  const before = segments.reduce((sum, segment) => sum + segment.bytes, 0n)
  const verdicts: SegmentVerdict[] = segments.map(({index, bytes}) => {
    const start_lsn = index * size
    const pinned = pin(index)
    const [action, reason]: [SegmentVerdict['action'], string] =
      pinned !== null
        ? ['keep', pinned]
        : index >= current
          ? ['keep', index === current ? 'current segment' : 'ahead of the current segment']
          : index >= keepFrom
            ? ['keep', windowReason]
            : ['remove', 'released below the window']
    return {index, bytes, start_lsn, last_lsn: start_lsn + size - 1n, action, reason}
  })

  let after = before - verdicts.filter((v) => v.action === 'remove').reduce((sum, v) => sum + v.bytes, 0n)
  if (input.policy.max_bytes > 0n) {
    for (const verdict of verdicts) {
      if (after <= input.policy.max_bytes) break
      if (verdict.index >= current || verdict.action === 'remove' || pin(verdict.index) !== null) continue
      verdict.action = 'remove'
      verdict.reason = `over max bytes (${input.policy.max_bytes})`
      after -= verdict.bytes
    }
  }

  return {
    segment_bytes: size,
    oldest_required_lsn: oldestRequired,
    replica_floor: replicaFloor,
    replica_floor_slot: floorSlot,
    fork_floor: forkFloor,
    current_segment: current,
    keep_from: keepFrom,
    retained_bytes_before_prune: before,
    retained_bytes_after_prune: after,
    removable_segment_indexes: verdicts.filter((v) => v.action === 'remove').map((v) => v.index),
    segments: verdicts,
  }
}

/** Why RedDB's retention is stuck on a timeline (see `retentionStall`). */
export type RetentionStall = 'no-catalog' | 'catalog-timeline' | 'no-active-slot'

/**
 * Retention is stalled when the timeline holds segments below the one with
 * the WAL head (so a working retention could release some under a small
 * enough window) and RedDB releases none of them however far the current
 * LSN moves, until something outside the WAL changes: there is no slot
 * catalog (RedDB prunes nothing then), the catalog names another timeline
 * (RedDB 1.12 refuses to plan), or keep-until-replicas-ack is on and no slot
 * is active (no replica floor, so every segment stays pinned).
 */
export function retentionStall(input: {
  timeline: bigint
  catalog: SlotCatalog | null
  keepUntilReplicasAck: boolean
  adoptCatalogTimeline?: boolean
  segmentsBelowHead: number
}): RetentionStall | null {
  if (input.segmentsBelowHead === 0) return null
  if (input.catalog === null) return 'no-catalog'
  if (input.catalog.timeline !== input.timeline && !input.adoptCatalogTimeline) return 'catalog-timeline'
  if (input.keepUntilReplicasAck && catalogRetentionFloor(input.catalog) === null) return 'no-active-slot'
  return null
}
