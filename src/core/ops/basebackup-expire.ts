import {Layout} from '../layout.js'
import {planBackupRetention, type BackupRetentionPolicy} from '../plan/backup-retention.js'
import {listLocalBackups, removeBasebackup} from './basebackup-delete.js'

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
    action: 'keep' | 'delete'
    reason: string
  }>
  deleted: number
  freed_bytes: bigint
}

/**
 * `basebackup expire`: applies a retention policy to the current timeline's
 * backups, oldest first, each removed manifest-first (see removeBasebackup).
 * Deletes only when `confirm`; otherwise it reports what it would delete.
 */
export async function expireBasebackups(layout: Layout, policy: BackupRetentionPolicy, options: {confirm: boolean; nowMs: bigint}): Promise<BasebackupExpireReport> {
  const {timeline, available_from_lsn, backups} = await listLocalBackups(layout)
  const verdicts = planBackupRetention(
    backups.map((backup) => ({...backup, id: backup.path, timeline: backup.manifest.timeline, checkpoint_lsn: backup.manifest.checkpoint_lsn})),
    policy,
    options.nowMs,
  )
  let deleted = 0
  let freed = 0n
  if (options.confirm) {
    for (const verdict of verdicts) {
      if (verdict.action !== 'delete') continue
      await removeBasebackup(verdict.backup.path, verdict.backup.manifest)
      deleted++
      freed += verdict.backup.manifest.snapshot_bytes
    }
  }
  return {
    timeline,
    available_from_lsn,
    dry_run: !options.confirm,
    backups: verdicts.map(({backup, action, reason}) => ({
      manifest_path: backup.path,
      checkpoint_lsn: backup.manifest.checkpoint_lsn,
      snapshot_bytes: backup.manifest.snapshot_bytes,
      taken_unix_ms: backup.taken_unix_ms,
      usable_for_catchup: backup.usable_for_catchup,
      action,
      reason,
    })),
    deleted,
    freed_bytes: freed,
  }
}
