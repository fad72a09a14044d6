import {catalogRetentionFloor, slotRetentionFloor} from '../format/slot-catalog.js'
import {dataPathArtifacts} from '../layout.js'
import type {ReplicationSlot} from '../model.js'
import {readCurrentTimeline, readLegacySlotStore, readSlotCatalog, readWalHead} from './node-state.js'
import {openLayout} from './open-layout.js'

export interface SlotRow extends ReplicationSlot {
  source: 'catalog' | 'legacy'
  /** WAL head − min(flush, apply), saturating at 0; null without a WAL head. */
  lag: bigint | null
  holds_floor: boolean
}

export interface SlotsReport {
  timeline: bigint
  wal_head: bigint | null
  retention_floor_lsn: bigint | null
  slot_catalog: string | null
  catalog_timeline: bigint | null
  legacy_store: string | null
  slots: SlotRow[]
  warnings: string[]
}

/** Every slot of the current timeline: the binary catalog and, if present, the legacy JSON store. */
export async function showSlots(dataPath: string, nowMs: bigint): Promise<SlotsReport> {
  const layout = await openLayout(dataPath)
  const timeline = await readCurrentTimeline(layout)
  const head = await readWalHead(layout, timeline)
  const catalog = await readSlotCatalog(layout, timeline)
  const legacy = await readLegacySlotStore(dataPath, nowMs)
  const floor = catalog ? catalogRetentionFloor(catalog) : null
  const warnings: string[] = []
  if (catalog && catalog.timeline !== timeline) {
    warnings.push(
      `slot catalog says timeline ${catalog.timeline} but lives under timeline ${timeline}: RedDB 1.12 does this after a failover and then never prunes WAL (see wal plan --adopt-catalog-timeline)`,
    )
  }
  let floorMarked = false
  const row = (slot: ReplicationSlot, source: SlotRow['source']): SlotRow => {
    const own = slotRetentionFloor(slot)
    const holds = source === 'catalog' && slot.active && own === floor && !floorMarked
    if (holds) floorMarked = true
    return {...slot, source, lag: head === null ? null : head > own ? head - own : 0n, holds_floor: holds}
  }
  return {
    timeline,
    wal_head: head,
    retention_floor_lsn: floor,
    slot_catalog: catalog ? layout.slotCatalogPath(timeline) : null,
    catalog_timeline: catalog?.timeline ?? null,
    legacy_store: legacy ? dataPathArtifacts(dataPath).legacySlotStore : null,
    slots: [...(catalog?.slots ?? []).map((slot) => row(slot, 'catalog')), ...(legacy?.slots ?? []).map((slot) => row(slot, 'legacy'))],
    warnings,
  }
}
