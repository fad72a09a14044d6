import {effectiveSegmentBytes} from '../format/wal-segment.js'
import type {BackupRetentionPolicy} from '../plan/backup-retention.js'
import {planRepoExpire} from '../plan/repo-expire.js'
import type {RepoBackend} from '../repo/backend.js'
import {readInventory, readRepoManifest, runPool} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'
import {describeBackups} from './repo-list.js'

export interface RepoExpireReport {
  repository: string
  node: string
  dry_run: boolean
  backups: Array<{key: string; timeline: bigint; checkpoint_lsn: bigint; snapshot_bytes: bigint; taken_unix_ms: bigint; usable: boolean; action: 'keep' | 'delete'; reason: string}>
  wal_floor: {timeline: bigint; index: bigint} | null
  wal_delete: Array<{key: string; timeline: bigint; index: bigint; reason: string}>
  wal_kept: number
  objects_deleted: number
}

/**
 * `repo expire`: applies a retention policy to the node's backups in the
 * repository. A backup counts as usable when it is complete and the WAL
 * from its checkpoint on is archived without a gap. Deletes only when
 * `confirm`: each backup's manifest first (from then on no listing shows
 * it), then its chunks, then the WAL below the floor (plan/repo-expire.ts).
 */
export async function expireRepository(backend: RepoBackend, options: {node: string; policy: BackupRetentionPolicy; confirm: boolean; nowMs: bigint; segmentBytes: bigint; jobs: number}): Promise<RepoExpireReport> {
  const segmentBytes = effectiveSegmentBytes(options.segmentBytes)
  const keys = new RepoKeys(options.node)
  const inventory = await readInventory(backend, keys)
  const {backups} = await describeBackups(backend, inventory, segmentBytes)
  const plan = planRepoExpire({
    backups: backups.map((b) => ({...b, id: b.key, usable_for_catchup: b.complete && b.wal_covered_from_checkpoint})),
    wal: inventory.wal,
    policy: options.policy,
    nowMs: options.nowMs,
    segmentBytes,
  })
  let deleted = 0
  if (options.confirm) {
    for (const verdict of plan.backups) {
      if (verdict.action !== 'delete') continue
      const entry = inventory.manifests.find((m) => m.key === verdict.backup.key)!
      const manifest = await readRepoManifest(backend, entry)
      await backend.delete(entry.key)
      deleted++
      const chunkKeys = manifest.chunks.map((chunk) => keys.chunk(entry.timeline, chunk.relative_path)).filter((key) => inventory.objects.has(key))
      await runPool(
        chunkKeys.map((key) => async () => {
          await backend.delete(key)
          deleted++
        }),
        options.jobs,
      )
    }
    await runPool(
      plan.wal_delete.map((w) => async () => {
        await backend.delete(w.key)
        deleted++
      }),
      options.jobs,
    )
  }
  return {
    repository: backend.location,
    node: options.node,
    dry_run: !options.confirm,
    backups: plan.backups.map(({backup, action, reason}) => ({
      key: backup.key,
      timeline: backup.timeline,
      checkpoint_lsn: backup.checkpoint_lsn,
      snapshot_bytes: backup.snapshot_bytes,
      taken_unix_ms: backup.taken_unix_ms,
      usable: backup.usable_for_catchup,
      action,
      reason,
    })),
    wal_floor: plan.wal_floor,
    wal_delete: plan.wal_delete,
    wal_kept: plan.wal_kept,
    objects_deleted: deleted,
  }
}
