import {isUsableForCatchup} from '../format/basebackup-manifest.js'
import type {BasebackupManifest, TimelineHistory} from '../model.js'

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
 * Two usable backups at the same checkpoint (different start LSNs): the
 * higher start LSN wins, whatever order they were listed in.
 */
export function planCatchup(input: CatchupInput): {mode: CatchupMode; selected: BasebackupManifest | null} {
  if (input.replicaLsn >= input.availableFromLsn) return {mode: 'wal-only', selected: null}
  let best: BasebackupManifest | null = null
  for (const manifest of input.basebackups) {
    if (!isUsableForCatchup(manifest, input.timeline, input.availableFromLsn)) continue
    if (best === null || compareBackupPreference(manifest, best) < 0) best = manifest
  }
  return best === null ? {mode: 'reclone', selected: null} : {mode: 'basebackup-then-wal', selected: best}
}

/**
 * Why a backup does not lie on the path of the history's current timeline
 * (behaviour.md "basebackup materialize"), or null when it does: its
 * timeline must be the current one or an ancestor, and its checkpoint at or
 * below the fork LSN where the history leaves that timeline — past it, the
 * backup holds writes the current timeline never saw.
 */
export function offTimelinePath(history: TimelineHistory | null, manifest: Pick<BasebackupManifest, 'timeline' | 'checkpoint_lsn'>): string | null {
  const entries = new Map((history?.entries ?? []).map((entry) => [entry.timeline, entry]))
  const current = history?.entries.at(-1)?.timeline ?? 1n
  if (manifest.timeline === current) return null
  let child = entries.get(current)
  while (child !== undefined && child.parent_timeline !== null) {
    if (child.parent_timeline === manifest.timeline) {
      if (manifest.checkpoint_lsn <= child.fork_lsn) return null
      return `its checkpoint ${manifest.checkpoint_lsn} lies past LSN ${child.fork_lsn}, where timeline ${child.timeline} forked from its timeline ${manifest.timeline}: it holds writes the current timeline ${current} never saw`
    }
    child = entries.get(child.parent_timeline)
  }
  return `its timeline ${manifest.timeline} is not the current timeline ${current} nor one of its ancestors in the history`
}

/** Orders backups for selection: higher checkpoint first, then (a tie) the higher start LSN, so a choice never depends on directory order. */
export function compareBackupPreference(a: BasebackupManifest, b: BasebackupManifest): number {
  if (a.checkpoint_lsn !== b.checkpoint_lsn) return a.checkpoint_lsn > b.checkpoint_lsn ? -1 : 1
  if (a.start_lsn !== b.start_lsn) return a.start_lsn > b.start_lsn ? -1 : 1
  return 0
}
