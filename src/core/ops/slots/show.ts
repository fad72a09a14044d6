import {catalogRetentionFloor, slotRetentionFloor} from '../../format/slot-catalog.js'
import {dataPathArtifacts} from '../../layout.js'
import type {ReplicationSlot} from '../../model.js'
import {finding, type Finding} from '../../findings.js'
import {readCurrentTimeline, readLegacySlotStore, readSlotCatalog} from '../node/state.js'
import {behindWalFindings} from '../wal/findings.js'
import {findingPath, readWalState, requireSoundWal, walHeadOf, type WalState} from '../wal/state.js'
import {openLayout} from '../node/open-layout.js'

export interface SlotRow extends ReplicationSlot {
  source: 'catalog' | 'legacy'
  /** WAL head − min(flush, apply), saturating at 0; null without a WAL head. */
  lag_lsn: bigint | null
  holds_floor: boolean
}

export interface SlotsReport {
  timeline: bigint
  wal_head_lsn: bigint | null
  /** Start LSN of the oldest WAL segment on disk; null without WAL. */
  oldest_wal_lsn: bigint | null
  retention_floor_lsn: bigint | null
  /** Where the floor comes from, or why there is none: only the binary catalog's active slots set it. */
  retention_floor_source: 'catalog' | 'no-catalog' | 'no-active-slot'
  slot_catalog_path: string | null
  catalog_timeline: bigint | null
  legacy_store_path: string | null
  slots: SlotRow[]
  /** slot.catalog-timeline for RedDB 1.12's catalog after a failover; slot.behind-wal for every active slot the WAL on disk no longer serves. */
  findings: Finding[]
}

/**
 * Every slot of the current timeline: the binary catalog and, if present,
 * the legacy JSON store. `read` is that timeline's WAL state when the caller
 * has read it already.
 */
export async function showSlots(dataPath: string, nowMs: bigint, read?: WalState | null): Promise<SlotsReport> {
  const layout = await openLayout(dataPath)
  const timeline = await readCurrentTimeline(layout)
  const wal = read?.timeline === timeline ? read : await readWalState(layout, timeline)
  // Headers that contradict their names make every LSN here doubtful; a damaged segment is read where needed.
  requireSoundWal(wal, () => false)
  const head = await walHeadOf(layout, wal)
  const catalog = await readSlotCatalog(layout, timeline)
  const legacy = await readLegacySlotStore(dataPath, nowMs)
  const floor = catalog ? catalogRetentionFloor(catalog) : null
  const findings: Finding[] = []
  if (catalog && catalog.timeline !== timeline) {
    findings.push(
      finding('slot.catalog-timeline', findingPath(layout, layout.slotCatalogPath(timeline)), `slot catalog says timeline ${catalog.timeline} but lives under timeline ${timeline}: RedDB 1.12 does this after a failover and then never prunes WAL (see wal plan --adopt-catalog-timeline)`, {catalog_timeline: catalog.timeline, timeline}),
    )
  }
  let floorMarked = false
  const row = (slot: ReplicationSlot, source: SlotRow['source']): SlotRow => {
    const own = slotRetentionFloor(slot)
    const holds = source === 'catalog' && slot.active && own === floor && !floorMarked
    if (holds) floorMarked = true
    return {...slot, source, lag_lsn: head === null ? null : head > own ? head - own : 0n, holds_floor: holds}
  }
  const legacyPath = dataPathArtifacts(dataPath).legacySlotStore
  findings.push(...behindWalFindings(layout, wal, [
    ...(catalog?.slots ?? []).map((slot) => ({slot, file: layout.slotCatalogPath(timeline)})),
    ...(legacy?.slots ?? []).map((slot) => ({slot, file: legacyPath})),
  ]))
  return {
    timeline,
    wal_head_lsn: head,
    oldest_wal_lsn: wal.segments[0]?.header?.start_lsn ?? null,
    retention_floor_lsn: floor,
    retention_floor_source: catalog === null ? 'no-catalog' : floor === null ? 'no-active-slot' : 'catalog',
    slot_catalog_path: catalog ? layout.slotCatalogPath(timeline) : null,
    catalog_timeline: catalog?.timeline ?? null,
    legacy_store_path: legacy ? legacyPath : null,
    slots: [...(catalog?.slots ?? []).map((slot) => row(slot, 'catalog')), ...(legacy?.slots ?? []).map((slot) => row(slot, 'legacy'))],
    findings,
  }
}
