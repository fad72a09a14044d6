import path from 'node:path'

import {Layout} from '../../layout.js'
import {planBackupRetention, type BackupRetentionPolicy, type BackupVerdict, type RetentionCandidate} from '../../plan/backup-retention.js'
import {compareExpirePlans, decodeSavedExpirePlan, expirePlanDocument, savedExpirePlan, type ExpirePlanInputs, type PinnedBackup, type SavedExpirePlan} from '../../plan/saved-basebackup-expire-plan.js'
import {stalePlan} from '../../plan/saved-plan-envelope.js'
import {chunksNamedByOthers, listLocalBackups, removeBasebackup, type LocalBackup} from './delete.js'
import {appliedPlan, readPlanFile, writePlanFile, type AppliedExpirePlan} from '../node/plan-file.js'

export interface BasebackupExpireReport {
  timeline: bigint
  available_from_lsn: bigint
  dry_run: boolean
  backups: Array<{
    manifest_path: string
    checkpoint_lsn: bigint
    snapshot_bytes: bigint
    taken_unix_ms: bigint
    usable_for_catchup: boolean
    /** What makes it unrestorable; null when complete. */
    damage: string | null
    action: 'keep' | 'delete'
    reason: string
  }>
  deleted: number
  freed_bytes: bigint
}

type Candidate = LocalBackup & RetentionCandidate

interface ExpireBasis {
  timeline: bigint
  available_from_lsn: bigint
  verdicts: Array<BackupVerdict<Candidate>>
}

async function expireBasis(layout: Layout, policy: BackupRetentionPolicy, nowMs: bigint): Promise<ExpireBasis> {
  const {timeline, available_from_lsn, backups} = await listLocalBackups(layout)
  const verdicts = planBackupRetention(
    backups.map((backup) => ({...backup, id: backup.path, timeline: backup.manifest.timeline, checkpoint_lsn: backup.manifest.checkpoint_lsn})),
    policy,
    nowMs,
  )
  return {timeline, available_from_lsn, verdicts}
}

/** Deletes the backups marked delete, oldest first (none unless `confirm`), and reports. */
async function carryOut(basis: ExpireBasis, confirm: boolean): Promise<BasebackupExpireReport> {
  let deleted = 0
  let freed = 0n
  const gone = new Set<string>()
  if (confirm) {
    for (const verdict of basis.verdicts) {
      if (verdict.action !== 'delete') continue
      // A chunk another manifest still there names stays: a crash between two removals leaves every remaining backup whole.
      await removeBasebackup(verdict.backup.path, verdict.backup.manifest, chunksNamedByOthers(basis.verdicts.filter((v) => !gone.has(v.backup.path)).map((v) => v.backup), verdict.backup.path))
      gone.add(verdict.backup.path)
      deleted++
      freed += verdict.backup.manifest.snapshot_bytes
    }
  }
  return {
    timeline: basis.timeline,
    available_from_lsn: basis.available_from_lsn,
    dry_run: !confirm,
    backups: basis.verdicts.map(({backup, action, reason}) => ({
      manifest_path: backup.path,
      checkpoint_lsn: backup.manifest.checkpoint_lsn,
      snapshot_bytes: backup.manifest.snapshot_bytes,
      taken_unix_ms: backup.taken_unix_ms,
      usable_for_catchup: backup.usable_for_catchup,
      damage: backup.damage,
      action,
      reason,
    })),
    deleted,
    freed_bytes: freed,
  }
}

/**
 * `basebackup expire`: applies a retention policy to the current timeline's
 * backups, oldest first, each removed manifest-first (see removeBasebackup).
 * Deletes only when `confirm`; otherwise it reports what it would delete.
 */
export async function expireBasebackups(layout: Layout, policy: BackupRetentionPolicy, options: {confirm: boolean; nowMs: bigint}): Promise<BasebackupExpireReport> {
  return carryOut(await expireBasis(layout, policy, options.nowMs), options.confirm)
}

const pinned = (backup: LocalBackup): PinnedBackup => ({
  name: path.basename(backup.path),
  checkpoint_lsn: backup.manifest.checkpoint_lsn,
  snapshot_bytes: backup.manifest.snapshot_bytes,
  snapshot_checksum: backup.manifest.snapshot_checksum,
})

const inputsOf = (basis: ExpireBasis, policy: BackupRetentionPolicy): ExpirePlanInputs => ({
  policy,
  available_from_lsn: basis.available_from_lsn,
  backups: basis.verdicts.map((verdict) => pinned(verdict.backup)),
})

const rootOf = (layout: Layout) => path.resolve(layout.root)

/** `basebackup expire`'s document: the expiry, and the plan --out saved or the one --plan applied. */
export type BasebackupExpireDocument = BasebackupExpireReport & {plan?: AppliedExpirePlan; plan_path?: string; inputs_fingerprint?: string}

/** The dry run, saved to `planPath` for `basebackup expire --plan` to apply exactly. */
export async function saveExpirePlan(layout: Layout, dataPath: string, policy: BackupRetentionPolicy, nowMs: bigint, planPath: string): Promise<BasebackupExpireReport & {plan_path: string; inputs_fingerprint: string}> {
  const basis = await expireBasis(layout, policy, nowMs)
  const saved = savedExpirePlan({
    data_path: dataPath,
    root_path: rootOf(layout),
    timeline: basis.timeline,
    planned_at_unix_ms: nowMs,
    inputs: inputsOf(basis, policy),
    deleted: basis.verdicts.filter((v) => v.action === 'delete').map((v) => path.basename(v.backup.path)),
  })
  await writePlanFile(planPath, expirePlanDocument(saved), layout)
  return {...(await carryOut(basis, false)), plan_path: planPath, inputs_fingerprint: saved.inputs_fingerprint}
}

export const loadExpirePlan = (planPath: string) => readPlanFile(planPath, decodeSavedExpirePlan)

/**
 * Plans again with the saved policy and deletes exactly the saved backups
 * (with `confirm`), or nothing and refuses (exit 4) naming what changed.
 */
export async function expireByPlan(layout: Layout, planPath: string, saved: SavedExpirePlan, options: {confirm: boolean; nowMs: bigint}): Promise<BasebackupExpireReport & {plan: AppliedExpirePlan}> {
  const basis = await expireBasis(layout, saved.policy, options.nowMs)
  const comparison = compareExpirePlans(saved, {
    root_path: rootOf(layout),
    timeline: basis.timeline,
    inputs: inputsOf(basis, saved.policy),
    verdicts: basis.verdicts.map((v) => ({name: path.basename(v.backup.path), action: v.action, reason: v.reason})),
  })
  if (!comparison.applies) throw stalePlan(planPath, {where: 'layout', nothing: 'deleted', replan: 'basebackup expire'}, comparison.changes)
  const chosen = new Set(saved.backups.map((b) => b.name))
  const narrowed: ExpireBasis = {
    ...basis,
    verdicts: basis.verdicts.map((v) => (v.action === 'delete' && !chosen.has(path.basename(v.backup.path)) ? {...v, action: 'keep' as const, reason: `${v.reason}, but not in the plan`} : v)),
  }
  return {
    ...(await carryOut(narrowed, options.confirm)),
    plan: appliedPlan('more_released_manifests', planPath, saved.inputs_fingerprint, comparison),
  }
}
