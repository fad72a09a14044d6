import {relayManifestAck, relayManifestCodec} from '../../format/relay-manifest.js'
import {readArtifactIfExists} from './artifact-file.js'
import {dataPathArtifacts, Layout} from '../../layout.js'
import type {ReplicationSlot} from '../../model.js'
import type {SourcedAck} from '../../plan/promotion.js'
import {listRelayReplicas, readLegacySlotStore, readSlotCatalog} from './state.js'

/**
 * Which replicas a layout knows of, and what each acknowledged, read from
 * every place RedDB records it on a timeline: the slot catalog and the relay
 * manifests under the timeline's directory, and the legacy JSON slot store
 * beside the data path.
 */

export interface ReplicaAcks {
  acks: SourcedAck[]
  /** Replica ids with a relay directory (a relay log, even one without a manifest yet). */
  relay_dirs: string[]
  /** Where the acks were looked for, for messages. */
  looked_in: string[]
}

export async function readReplicaAcks(layout: Layout, dataPath: string | undefined, timeline: bigint, nowMs: bigint): Promise<ReplicaAcks> {
  const acks: SourcedAck[] = []
  const relayDirs = await listRelayReplicas(layout, timeline)
  for (const replica of relayDirs) {
    const manifestPath = layout.relayManifestPath(timeline, replica)
    const manifest = await readArtifactIfExists(manifestPath, relayManifestCodec, {nowMs: 0n})
    if (manifest) acks.push({replica_id: manifest.replica_id, timeline: manifest.timeline, ...relayManifestAck(manifest), source: 'relay-manifest', path: manifestPath, invalidation_reason: null})
  }
  const catalog = await readSlotCatalog(layout, timeline)
  for (const slot of catalog?.slots ?? []) acks.push(slotAck(slot, catalog!.timeline, 'slot-catalog', layout.slotCatalogPath(timeline)))
  const lookedIn = [layout.slotCatalogPath(timeline), layout.relayRoot(timeline)]
  if (dataPath !== undefined) {
    const legacyPath = dataPathArtifacts(dataPath).legacySlotStore
    const legacy = await readLegacySlotStore(dataPath, nowMs)
    for (const slot of legacy?.slots ?? []) acks.push(slotAck(slot, legacy!.timeline, 'legacy-store', legacyPath))
    lookedIn.push(legacyPath)
  }
  return {acks, relay_dirs: relayDirs, looked_in: lookedIn}
}

/** A slot's confirmed positions as an ack (behaviour.md: received = written = confirmed write). */
function slotAck(slot: ReplicationSlot, timeline: bigint, source: SourcedAck['source'], path: string): SourcedAck {
  return {
    replica_id: slot.replica_id,
    timeline,
    received_lsn: slot.confirmed_write_lsn,
    written_lsn: slot.confirmed_write_lsn,
    flushed_lsn: slot.confirmed_flush_lsn,
    applied_lsn: slot.confirmed_apply_lsn,
    source,
    path,
    invalidation_reason: slot.invalidation_reason,
  }
}

/** Every replica id the layout knows of on the timeline, sorted. */
export function knownReplicaIds(found: ReplicaAcks): string[] {
  return [...new Set([...found.acks.map((ack) => ack.replica_id), ...found.relay_dirs])].sort()
}
