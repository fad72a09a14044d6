import {Layout} from '../../layout.js'
import {planCatchup} from '../../plan/catchup.js'
import {catchupNextSteps, type NextStep} from '../../plan/next-steps.js'
import type {Finding} from '../../findings.js'
import {assessBackups} from '../basebackup/usable.js'
import {readCurrentTimeline} from '../node/state.js'
import {gapFindings} from '../wal/findings.js'
import {readWalState, requireSoundWal, walAvailableFrom, walHeadOf} from '../wal/state.js'

export interface CatchupReport {
  timeline: bigint
  replica_lsn: bigint
  available_from_lsn: bigint
  /** Where available_from_lsn came from: the flag, or the oldest WAL segment on disk. */
  available_from_source: 'flag' | 'wal'
  mode: 'wal-only' | 'basebackup-then-wal' | 'reclone'
  selected_basebackup: {path: string; start_lsn: bigint; checkpoint_lsn: bigint; snapshot_bytes: bigint; chunks: number} | null
  basebackups_considered: number
  /** Other usable backups at the selected checkpoint, passed over for their lower start LSN. */
  passed_over_same_checkpoint: string[]
  /** wal.gap for every hole: WAL below one is not offered for catch-up. */
  findings: Finding[]
  /** The commands that carry the decision out on this layout, and what RedDB does at the replica's next start. */
  next_steps: NextStep[]
}

/** Data paths as the operator gave them, for the commands in next_steps; the replica's is null when not given. */
export interface CatchupPaths {
  primaryDataPath: string
  replicaDataPath: string | null
}

/** Which catch-up a replica at `replicaLsn` needs from this primary, by RedDB's rule. */
export async function planReplicaCatchup(layout: Layout, replicaLsn: bigint, availableFromLsn: bigint | undefined, paths: CatchupPaths): Promise<CatchupReport> {
  const timeline = await readCurrentTimeline(layout)
  const wal = await readWalState(layout, timeline)
  requireSoundWal(wal)
  const available = availableFromLsn ?? walAvailableFrom(wal)
  const assessed = await assessBackups(layout, timeline)
  // A damaged backup (a chunk gone, a manifest no writer makes) is never offered: it would not restore.
  const backups = assessed.filter((backup) => backup.damage === null)
  const plan = planCatchup({timeline, availableFromLsn: available, replicaLsn, basebackups: backups.map((backup) => backup.manifest)})
  const chosen = plan.selected === null ? undefined : backups.find((backup) => backup.manifest === plan.selected)
  const next_steps = catchupNextSteps({
    mode: plan.mode,
    timeline,
    replicaLsn,
    walHead: await walHeadOf(layout, wal),
    primaryDataPath: paths.primaryDataPath,
    replicaDataPath: paths.replicaDataPath,
    availableFromLsnGiven: availableFromLsn ?? null,
    backup: chosen ? {manifest_path: chosen.path, checkpoint_lsn: chosen.manifest.checkpoint_lsn, timeline: chosen.manifest.timeline} : null,
  })
  return {
    timeline,
    replica_lsn: replicaLsn,
    available_from_lsn: available,
    available_from_source: availableFromLsn === undefined ? 'wal' : 'flag',
    mode: plan.mode,
    selected_basebackup: chosen
      ? {
          path: chosen.path,
          start_lsn: chosen.manifest.start_lsn,
          checkpoint_lsn: chosen.manifest.checkpoint_lsn,
          snapshot_bytes: chosen.manifest.snapshot_bytes,
          chunks: chosen.manifest.chunks.length,
        }
      : null,
    basebackups_considered: assessed.length,
    passed_over_same_checkpoint: chosen
      ? backups.filter((backup) => backup !== chosen && backup.manifest.timeline === timeline && backup.manifest.checkpoint_lsn === chosen.manifest.checkpoint_lsn).map((backup) => backup.path)
      : [],
    findings: gapFindings(layout, wal),
    next_steps,
  }
}
