import {isUsableForCatchup} from '../format/basebackup-manifest.js'
import type {BasebackupManifest} from '../model.js'

export type CatchupMode = 'wal-only' | 'basebackup-then-wal' | 'reclone'

export interface CatchupInput {
  timeline: bigint
  availableFromLsn: bigint
  replicaLsn: bigint
  basebackups: BasebackupManifest[]
}

/**
 * RedDB's catch-up rule: WAL alone when the replica is at or past the oldest
 * available LSN; else the usable base backup (current timeline, checkpoint
 * ≥ the oldest available LSN) with the highest checkpoint; else reclone.
 */
export function planCatchup(input: CatchupInput): {mode: CatchupMode; selected: BasebackupManifest | null} {
  if (input.replicaLsn >= input.availableFromLsn) return {mode: 'wal-only', selected: null}
  let best: BasebackupManifest | null = null
  for (const manifest of input.basebackups) {
    if (!isUsableForCatchup(manifest, input.timeline, input.availableFromLsn)) continue
    if (best === null || manifest.checkpoint_lsn > best.checkpoint_lsn) best = manifest
  }
  return best === null ? {mode: 'reclone', selected: null} : {mode: 'basebackup-then-wal', selected: best}
}
