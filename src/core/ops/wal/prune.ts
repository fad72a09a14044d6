/**
 * `wal prune`: the retention plan of `wal plan`, carried out unless it is a
 * dry run, reported as one document (the plan, whether it was a dry run, and
 * the segments actually removed).
 */
import {Layout} from '../../layout.js'
import {planWalRetention, pruneWal, type WalPlanOptions, type WalPlanReport} from './retention.js'

export interface WalPruneReport extends WalPlanReport {
  dry_run: boolean
  /** Empty on a dry run; a segment gone before its turn is left out. */
  removed_segments: Array<{index: bigint; path: string; bytes: bigint}>
}

export async function pruneWalRetention(layout: Layout, options: WalPlanOptions & {dryRun: boolean}): Promise<WalPruneReport> {
  const plan = await planWalRetention(layout, options)
  const removed = options.dryRun ? [] : await pruneWal(plan)
  return {...plan, dry_run: options.dryRun, removed_segments: removed}
}
