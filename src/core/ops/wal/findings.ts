/**
 * The WAL conditions a node can be in without any file being corrupt —
 * holes, a retention that can never prune, slots the WAL no longer serves —
 * as findings, shared by `layout verify` and the commands concerned.
 */
import {finding, type Finding} from '../../findings.js'
import {slotRetentionFloor} from '../../format/slot-catalog.js'
import {Layout} from '../../layout.js'
import type {ReplicationSlot, SlotCatalog} from '../../model.js'
import {retentionStall, type RetentionStall} from '../../plan/retention.js'
import {findingPath, walGapsOf, type WalState} from './state.js'

/** One `wal.gap` per run of missing segments. */
export function gapFindings(layout: Layout, state: WalState): Finding[] {
  const size = state.geometry.segment_bytes
  return walGapsOf(state).map(({first_missing, last_missing}) => {
    const which = first_missing === last_missing ? `segment ${first_missing} is` : `segments ${first_missing}..${last_missing} are`
    const lsns = size === null ? '' : ` (LSNs ${first_missing * size}..${(last_missing + 1n) * size - 1n})`
    return finding(
      'wal.gap',
      findingPath(layout, state.dir),
      `${which} missing between segments ${first_missing - 1n} and ${last_missing + 1n}${lsns}: lost WAL or LSNs never written, the files cannot tell which, so WAL before segment ${last_missing + 1n} cannot be streamed safely`,
      {first_missing_index: first_missing, last_missing_index: last_missing, first_missing_lsn: size === null ? null : first_missing * size, last_missing_lsn: size === null ? null : (last_missing + 1n) * size - 1n},
    )
  })
}

const STALL_REASON: Record<RetentionStall, (timeline: bigint, catalog: SlotCatalog | null) => string> = {
  'no-catalog': (timeline) => `no slot catalog on timeline ${timeline}: RedDB's retention prunes no WAL without one`,
  'catalog-timeline': (timeline, catalog) => `the slot catalog says timeline ${catalog?.timeline} but lies under timeline ${timeline}: RedDB 1.12's retention refuses to plan with it`,
  'no-active-slot': () => 'no slot of the catalog is active, so with keep-until-replicas-ack (RedDB\'s default) no segment is ever released',
}

/**
 * `wal.retention-stalled` for the timeline whose WAL state was read, or
 * null (see `retentionStall` for the exact rule).
 */
export function stallFinding(
  layout: Layout,
  state: WalState,
  catalog: SlotCatalog | null,
  policy: {
    keepUntilReplicasAck: boolean
    adoptCatalogTimeline?: boolean
    /**
     * No replica has ever registered here: no slot catalog or relay log on
     * any timeline and no legacy slot store, as on a node restored from a
     * repository or newly built. RedDB creates the catalog when the first replica
     * registers, so the missing catalog is a note, not a stall to act on.
     */
    noReplicaYet?: boolean
  },
): Finding | null {
  const headIndex = [...state.segments].reverse().find((s) => s.header !== null && s.header.record_count > 0n)?.index
  const below = headIndex === undefined ? [] : state.segments.filter((s) => s.index < headIndex)
  const stall = retentionStall({timeline: state.timeline, catalog, keepUntilReplicasAck: policy.keepUntilReplicasAck, adoptCatalogTimeline: policy.adoptCatalogTimeline, segmentsBelowHead: below.length})
  if (stall === null) return null
  const bytes = below.reduce((sum, s) => sum + s.bytes, 0n)
  if (stall === 'no-catalog' && policy.noReplicaYet) {
    return finding(
      'wal.retention-stalled',
      findingPath(layout, layout.slotCatalogPath(state.timeline)),
      `no replica has registered on this node yet (no slot catalog or relay log on any timeline, no legacy slot store: a node restored or newly built); RedDB creates the catalog when the first one registers and prunes no WAL until then; ${below.length} segment(s) below the head's (${bytes} bytes) stay meanwhile`,
      {reason: stall, segments_held: below.length, held_bytes: bytes, no_replica_yet: true},
      'note',
    )
  }
  return finding(
    'wal.retention-stalled',
    findingPath(layout, layout.slotCatalogPath(state.timeline)),
    `${STALL_REASON[stall](state.timeline, catalog)}; ${below.length} segment(s) below the head's (${bytes} bytes) stay until that changes`,
    {reason: stall, segments_held: below.length, held_bytes: bytes},
  )
}

/**
 * `slot.behind-wal` for every active slot that restarts below the oldest
 * segment still on disk, and `slot.lost` for every inactive slot, not
 * invalidated, in the same place: RedDB's retention keeps WAL for active
 * slots only, so a correct prune strands an inactive one. Its replica can
 * no longer resume from WAL (PostgreSQL's `wal_status = lost`); `check`
 * makes it an error when no usable base backup can catch the replica up.
 */
export function behindWalFindings(layout: Layout, state: WalState, slots: Array<{slot: ReplicationSlot; file: string}>): Finding[] {
  const oldest = state.segments[0]
  if (oldest?.header == null) return []
  const start = oldest.header.start_lsn
  // RedDB keeps WAL from a slot's retention floor, min(flush, apply), not from its restart LSN
  // (format §4): only WAL below the floor gone means the replica cannot resume from it.
  return slots.flatMap(({slot, file}) => {
    const floor = slotRetentionFloor(slot)
    if (!slot.active && slot.invalidation_reason === null && floor < start) return [lostFinding(findingPath(layout, file), slot, start)]
    return slot.active && floor < start
      ? [
          finding(
            'slot.behind-wal',
            findingPath(layout, file),
            `active slot ${JSON.stringify(slot.replica_id)} needs WAL from LSN ${floor} (its retention floor), but the oldest WAL left (segment ${oldest.index}) starts at LSN ${start}: the replica cannot resume from WAL`,
            {replica_id: slot.replica_id, retention_floor_lsn: floor, restart_lsn: slot.restart_lsn, oldest_wal_lsn: start},
          ),
        ]
      : []
  })
}

/** `slot.lost` for an inactive slot, not invalidated, whose retention floor lies below `walFromLsn`, the oldest LSN the WAL can serve. */
export function lostFinding(file: string, slot: ReplicationSlot, walFromLsn: bigint, severity: 'error' | 'warning' = 'warning', remedy = 'catch it up from a base backup or reclone it, or drop the slot'): Finding {
  const floor = slotRetentionFloor(slot)
  return finding(
    'slot.lost',
    file,
    `slot ${JSON.stringify(slot.replica_id)} (${slot.active ? 'active' : 'inactive'}) needs WAL from LSN ${floor}, but the WAL left serves only from LSN ${walFromLsn}: its replica cannot catch up from WAL any more; ${remedy}`,
    {replica_id: slot.replica_id, active: slot.active, retention_floor_lsn: floor, restart_lsn: slot.restart_lsn, wal_available_from_lsn: walFromLsn},
    severity,
  )
}
