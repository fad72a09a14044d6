import type {Layout} from '../../layout.js'
import {explainChoice, rankCandidates, type CandidateRow} from '../../plan/promotion.js'
import {readCurrentTimeline, readWalHead} from '../node/state.js'
import {readReplicaAcks} from '../node/replicas.js'

export interface CandidateWithLag extends CandidateRow {
  /** WAL head − applied LSN, saturating at 0; null without a WAL head. */
  lag_lsn: bigint | null
}

export interface CandidatesReport {
  timeline: bigint
  wal_head_lsn: bigint | null
  /** Which replica `timeline promote --auto` would choose, and why; null when none is eligible. */
  auto_choice: string | null
  catalog_timeline_adopted: boolean
  candidates: CandidateWithLag[]
  /** Where acks were looked for. */
  looked_in: string[]
}

/**
 * The replicas a failover could promote, before any is chosen (like
 * `patronictl list` or `pgo failover --query`): one row per replica with
 * its acknowledged positions, their source, its lag to the WAL head, whether
 * `--auto` may pick it and which one it would. Reads only.
 */
export async function listCandidates(layout: Layout, options: {dataPath: string; adoptCatalogTimeline: boolean; nowMs: bigint}): Promise<CandidatesReport> {
  const timeline = await readCurrentTimeline(layout)
  const found = await readReplicaAcks(layout, options.dataPath, timeline, options.nowMs)
  const rows = rankCandidates({timeline, acks: found.acks, adoptCatalogTimeline: options.adoptCatalogTimeline})
  const head = await readWalHead(layout, timeline)
  return {
    timeline,
    wal_head_lsn: head,
    auto_choice: explainChoice(rows),
    catalog_timeline_adopted: options.adoptCatalogTimeline === true,
    candidates: rows.map((row) => ({...row, lag_lsn: head === null ? null : head > row.applied_lsn ? head - row.applied_lsn : 0n})),
    looked_in: found.looked_in,
  }
}
