/**
 * `rejoin apply`: carries out the rejoin decisions redrepl can carry out on
 * disk. A reclone is staged as a rebootstrap of the old node from the newest
 * usable base backup of the new timeline, by basebackup materialize's own
 * operation and safety checks; the other decisions need nothing written
 * (already current) or are carried out by RedDB at the node's next start.
 */
import {notFound, refused} from '../../errors.js'
import {dataPathArtifacts, Layout} from '../../layout.js'
import type {RdbFormat} from '../../model.js'
import {materializeBasebackup, type MaterializeReport} from '../basebackup/materialize.js'
import {withWriteGuard} from '../node/guard.js'
import {planNodeRejoin, readNodePosition, type RejoinReport} from './rejoin.js'

export interface RejoinApplyReport extends RejoinReport {
  node_data_path: string
  /** stage-rebootstrap: the reclone, staged (or, with dry_run, what would be); none: nothing to write. */
  action: 'stage-rebootstrap' | 'none'
  dry_run: boolean
  /** Where the rebootstrap goes (D's pending database and ready marker); null when there is nothing to stage. */
  pending_path: string | null
  marker_path: string | null
  /** What was written: the materialize report; null in a dry run and when there is nothing to stage. */
  rebootstrap: MaterializeReport | null
}

/**
 * Decides, and refuses what redrepl cannot carry out: follow_new_timeline and
 * rewind are RedDB's to do at the node's next start (exit 4); a reclone
 * without a usable backup has nothing to restore (exit 6). Writes nothing.
 */
export async function planRejoinApply(primary: Layout, primaryDataPath: string, nodeDataPath: string, availableFromLsn?: bigint): Promise<RejoinApplyReport> {
  const node = await readNodePosition(nodeDataPath)
  const report = await planNodeRejoin(primary, node, availableFromLsn, primaryDataPath)
  const base = {...report, node_data_path: nodeDataPath, dry_run: true, rebootstrap: null}
  switch (report.decision) {
    case 'already_current':
      return {...base, action: 'none', pending_path: null, marker_path: null}
    case 'follow_new_timeline':
    case 'rewind': {
      const what = report.decision === 'rewind' ? `a rewind to LSN ${report.rejoin_rewind_to_lsn}` : `following timeline ${report.rejoin_target_timeline} from LSN ${report.rejoin_start_lsn}, which RedDB does when the node starts as a replica`
      throw refused(`${nodeDataPath}: the node rejoins by ${what} (state ${report.state}); that is not a step redrepl carries out on disk, so nothing was written`, {
        code: 'rejoin.not-on-disk',
        hint: `see the next steps: redrepl rejoin plan --data-path ${primaryDataPath} --node-data-path ${nodeDataPath}`,
      })
    }
    case 'reclone': {
      if (report.reclone_basebackup === null) {
        throw notFound(`${primary.root}: no base backup of timeline ${report.timeline} the node could catch up from, so there is nothing to rebuild it from; nothing was written`, {
          code: 'rejoin.no-backup',
          hint: `take one first: redrepl basebackup create --data-path ${primaryDataPath} --from ${primaryDataPath}`,
        })
      }
      const paths = dataPathArtifacts(nodeDataPath)
      // The plan's first step is the staging this command does itself: run as a dry run, the step is this command without --dry-run.
      const again = [...(availableFromLsn === undefined ? [] : ['--available-from-lsn', String(availableFromLsn)])]
      const stage = {
        description: `stage the reclone: run rejoin apply without --dry-run (it stages base backup ${report.reclone_basebackup.manifest_path} as the node's rebootstrap, asking first on a terminal)`,
        argv: ['redrepl', 'rejoin', 'apply', '--data-path', primaryDataPath, '--node-data-path', nodeDataPath, ...again],
      }
      return {...base, action: 'stage-rebootstrap', pending_path: paths.rebootstrapPending, marker_path: paths.rebootstrapReady, next_steps: [stage, ...report.next_steps.slice(1)]}
    }
  }
}

export interface StageOptions {
  nowMs: bigint
  /** Act although a RedDB process holds the node's data file. */
  force: boolean
  waitMs: number
  rdbVersion?: RdbFormat
  onProgress?: (done: bigint, total: bigint) => void
  signal?: AbortSignal
}

/** Stages the reclone decided by planRejoinApply, as `basebackup materialize --manifest M --rebootstrap` on the node would. */
export async function stageRejoinReclone(plan: RejoinApplyReport, options: StageOptions): Promise<RejoinApplyReport> {
  const backup = plan.reclone_basebackup
  if (plan.action !== 'stage-rebootstrap' || backup === null) return {...plan, dry_run: false}
  const rebootstrap = await withWriteGuard({dataPath: plan.node_data_path, command: 'rejoin apply', force: options.force, waitMs: options.waitMs, signal: options.signal}, (layout) =>
    materializeBasebackup(layout, {manifestPath: backup.manifest_path}, {kind: 'rebootstrap', dataPath: plan.node_data_path, rdbVersion: options.rdbVersion}, options.nowMs, false, options.onProgress, options.signal),
  )
  // The first next step was this staging; what is left is the node's start.
  return {...plan, dry_run: false, rebootstrap, next_steps: plan.next_steps.slice(1)}
}
