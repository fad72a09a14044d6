import {notFound, RedreplError} from '../../errors.js'
import {finding, type Finding} from '../../findings.js'
import {log} from '../../log.js'
import {legacySlotStoreCodec} from '../../format/slot-catalog-legacy.js'
import {dropSlot, invalidateSlot, slotCatalogCodec} from '../../format/slot-catalog.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {dataPathArtifacts, Layout} from '../../layout.js'
import type {InvalidationReason, ReplicationSlot, SlotCatalog} from '../../model.js'
import {readCurrentTimeline, readLegacySlotStore, readSlotCatalog} from '../node/state.js'
import {planWalRetention, type WalPlanOptions} from '../wal/retention.js'
import {findingPath} from '../wal/state.js'

/**
 * Clears a stale slot — a replica that is gone and pins WAL — by dropping
 * it from its store or invalidating it, written exactly as RedDB writes the
 * store. A running RedDB rewrites its catalog from memory, so this is only
 * ever done to a stopped node (the caller's write guard refuses otherwise).
 */

/** The reasons RedDB records for an invalidated slot, which `slots invalidate --reason` offers. */
export {INVALIDATION_REASONS} from '../../format/slot-catalog.js'

export type SlotChange = {kind: 'drop'} | {kind: 'invalidate'; reason: InvalidationReason}

export interface SlotChangeOptions {
  dataPath: string
  replicaId: string
  change: SlotChange
  dryRun: boolean
  nowMs: bigint
  /** How to plan retention before and after (segment size, policy, catalog-timeline adoption). */
  wal?: WalPlanOptions
  /** Called with the decided report before anything is written; a throw stops the change. */
  confirm?: (report: SlotChangeReport) => Promise<void>
}

export interface RetentionEffect {
  removable_segments_before: number
  removable_segments_after: number
  released_segments: number
  released_bytes: bigint
}

interface SlotChangeFields {
  replica_id: string
  timeline: bigint
  /** null once dropped. */
  slot_after: ReplicationSlot | null
  /** false when the slot was already in the asked state (an invalidation repeated, or a drop of a slot already gone). */
  changed: boolean
  /** What WAL retention would release because of the change; null when it cannot be planned (a wal.retention-unplanned finding says why). */
  retention: RetentionEffect | null
  findings: Finding[]
  dry_run: boolean
}

/** A drop: of a slot already gone too, which changes nothing and finds no store. */
export interface SlotDropReport extends SlotChangeFields {
  action: 'drop'
  /** Null for a drop of a slot that is already gone (nothing changed). */
  store: 'catalog' | 'legacy' | null
  store_path: string | null
  slot_before: ReplicationSlot | null
}

/** An invalidation, which always found its slot (a missing one is refused). */
export interface SlotInvalidateReport extends SlotChangeFields {
  action: 'invalidate'
  store: 'catalog' | 'legacy'
  store_path: string
  slot_before: ReplicationSlot
}

export type SlotChangeReport = SlotDropReport | SlotInvalidateReport

interface Located {
  store: SlotInvalidateReport['store']
  path: string
  catalog: SlotCatalog
  slot: ReplicationSlot
}

async function locate(layout: Layout, options: SlotChangeOptions, timeline: bigint): Promise<Located> {
  const catalog = await readSlotCatalog(layout, timeline)
  const inCatalog = catalog?.slots.find((slot) => slot.replica_id === options.replicaId)
  if (catalog && inCatalog) return {store: 'catalog', path: layout.slotCatalogPath(timeline), catalog, slot: inCatalog}
  const legacy = await readLegacySlotStore(options.dataPath, options.nowMs)
  const inLegacy = legacy?.slots.find((slot) => slot.replica_id === options.replicaId)
  if (legacy && inLegacy) return {store: 'legacy', path: dataPathArtifacts(options.dataPath).legacySlotStore, catalog: legacy, slot: inLegacy}
  const known = [...(catalog?.slots ?? []), ...(legacy?.slots ?? [])].map((slot) => slot.replica_id)
  throw notFound(`${layout.slotCatalogPath(timeline)}: no slot for replica ${JSON.stringify(options.replicaId)} on timeline ${timeline}`, {
    code: 'slot.not-found',
    hint: known.length > 0 ? `known slots: ${known.join(', ')}` : 'this timeline has no slots',
  })
}

function applyChange(catalog: SlotCatalog, options: SlotChangeOptions): SlotCatalog {
  return options.change.kind === 'drop' ? dropSlot(catalog, options.replicaId) : invalidateSlot(catalog, options.replicaId, options.change.reason, options.nowMs)
}

/** Removable segments before and after, when the catalog drives retention and can be planned. */
async function retentionEffect(layout: Layout, options: SlotChangeOptions, after: SlotCatalog, storePath: string): Promise<Pick<SlotChangeReport, 'retention' | 'findings'>> {
  try {
    const before = await planWalRetention(layout, options.wal)
    const planned = await planWalRetention(layout, {...options.wal, catalog: after})
    const kept = new Set(before.removable_segments.map((segment) => segment.index))
    const released = planned.removable_segments.filter((segment) => !kept.has(segment.index))
    return {
      retention: {
        removable_segments_before: before.removable_segments.length,
        removable_segments_after: planned.removable_segments.length,
        released_segments: released.length,
        released_bytes: released.reduce((sum, segment) => sum + segment.bytes, 0n),
      },
      findings: [],
    }
  } catch (error) {
    return {retention: null, findings: [finding('wal.retention-unplanned', findingPath(layout, storePath), `retention cannot be planned: ${(error as Error).message}`)]}
  }
}

/** Drops or invalidates one slot of the current timeline; the write guard is the caller's. */
export async function changeSlot(layout: Layout, options: SlotChangeOptions): Promise<SlotChangeReport> {
  const timeline = await readCurrentTimeline(layout)
  let found: Located
  try {
    found = await locate(layout, options, timeline)
  } catch (error) {
    // A drop run again (a script re-run after a crash or a timeout) finds what it wanted: no slot. Not so an invalidation.
    if (!(options.change.kind === 'drop' && error instanceof RedreplError && error.code === 'slot.not-found')) throw error
    return {action: 'drop', replica_id: options.replicaId, timeline, store: null, store_path: null, slot_before: null, slot_after: null, changed: false, retention: null, findings: [], dry_run: options.dryRun}
  }
  const repeated = options.change.kind === 'invalidate' && !found.slot.active && found.slot.invalidation_reason === options.change.reason
  const after = repeated ? found.catalog : applyChange(found.catalog, options)
  const effect =
    found.store === 'catalog'
      ? await retentionEffect(layout, options, after, found.path)
      : {retention: null, findings: [finding('wal.retention-unplanned', findingPath(layout, found.path), 'the legacy slot store does not take part in WAL retention')]}
  const report: SlotChangeReport = {
    action: options.change.kind,
    replica_id: options.replicaId,
    timeline,
    store: found.store,
    store_path: found.path,
    slot_before: found.slot,
    slot_after: after.slots.find((slot) => slot.replica_id === options.replicaId) ?? null,
    changed: !repeated,
    ...effect,
    dry_run: options.dryRun,
  }
  if (options.dryRun || repeated) return report
  await options.confirm?.(report)
  const codec = found.store === 'catalog' ? slotCatalogCodec : legacySlotStoreCodec
  await writeFileAtomic(found.path, codec.encode(after, {nowMs: options.nowMs}), {label: found.store === 'catalog' ? 'slot-catalog' : 'legacy-slot-store', clearLeftovers: true})
  log.info(`slot ${options.change.kind}`, {replica: options.replicaId, path: found.path, released_segments: report.retention?.released_segments})
  return report
}
