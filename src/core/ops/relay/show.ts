import {notFound} from '../../errors.js'
import {finding, type Finding} from '../../findings.js'
import {relayManifestAck, type RelayAck} from '../../format/relay-manifest.js'
import {assertPlainComponent} from '../../fs/contained.js'
import {Layout} from '../../layout.js'
import type {RelayManifest} from '../../model.js'
import {readCurrentTimeline, readWalHead} from '../node/state.js'
import {readRelayManifestChecked} from './append.js'
import {findingPath} from '../wal/state.js'

export interface RelayShowReport {
  replica_id: string
  manifest_path: string
  manifest: RelayManifest
  ack: RelayAck
  consistent: boolean
  /** relay.inconsistent for each way the segments disagree with the manifest. */
  findings: Finding[]
  /** This node's WAL head, and how far the replica's applied LSN trails it (saturating at 0). */
  wal_head_lsn: bigint | null
  lag_lsn: bigint | null
}

/** A replica's relay manifest, its positions and whether its segments back it up. */
export async function showRelay(layout: Layout, replicaId: string): Promise<RelayShowReport> {
  assertPlainComponent(replicaId, 'replica id')
  const timeline = await readCurrentTimeline(layout)
  const manifestPath = layout.relayManifestPath(timeline, replicaId)
  const checked = await readRelayManifestChecked(layout.relayDir(timeline, replicaId), manifestPath)
  if (checked === null) throw notFound(`no relay manifest for replica ${JSON.stringify(replicaId)} at ${manifestPath}`)
  const {manifest, problems} = checked
  const head = await readWalHead(layout, timeline)
  return {
    replica_id: replicaId,
    manifest_path: manifestPath,
    manifest,
    ack: relayManifestAck(manifest),
    consistent: problems.length === 0,
    findings: problems.map((problem) => finding('relay.inconsistent', findingPath(layout, manifestPath), problem)),
    wal_head_lsn: head,
    lag_lsn: head === null ? null : head > manifest.applied_lsn ? head - manifest.applied_lsn : 0n,
  }
}
