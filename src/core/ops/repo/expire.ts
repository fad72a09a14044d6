import {interruption} from '../../errors.js'
import type {BackupRetentionPolicy, RetentionCandidate} from '../../plan/backup-retention.js'
import {orphanCandidates, planOrphans, planRepoExpire, type OrphanCandidate, type OrphanPlan, type RepoExpirePlan} from '../../plan/repo-expire.js'
import {parseTimelineDirName} from '../../layout.js'
import {compareRepoExpirePlans, decodeSavedRepoExpirePlan, repoExpirePlanDocument, savedRepoExpirePlan, type RepoExpirePlanInputs, type SavedRepoExpirePlan} from '../../plan/saved-repo-expire-plan.js'
import {DEAD_TEMP_GRACE_MS, type RepoBackend, type TempSweep} from '../../repo/backend.js'
import {readRepoManifest, runPool, type RepoInventory, type RepoWalEntry} from '../../repo/inventory.js'
import {backupStorage, pieceKey} from '../../repo/pieces.js'
import type {RepoKeys} from '../../repo/keys.js'
import {readRepoBasis} from './facts.js'
import {localRepoDir, repositoryIdentity} from '../../repo/open.js'
import {appliedPlan, readPlanFile, writePlanFile, type AppliedExpirePlan} from '../node/plan-file.js'
import {stalePlan} from '../../plan/saved-plan-envelope.js'
import {describeBackups, isObjectDamage, type RepoBackupRow} from './list.js'
import type {EachRepository} from './set.js'

export interface RepoExpireReport {
  repository: string
  node: string
  dry_run: boolean
  /** snapshot_bytes 0 and damage set for a backup whose manifest cannot be read. */
  backups: Array<{key: string; timeline: bigint; checkpoint_lsn: bigint; snapshot_bytes: bigint; taken_unix_ms: bigint; usable: boolean; damage: string | null; action: 'keep' | 'delete'; reason: string}>
  wal_floor: {timeline: bigint; index: bigint} | null
  /** Each WAL object deleted (listed on a dry run), with the listing's entry for it. */
  wal_delete: Array<RepoWalEntry & {reason: string}>
  wal_kept: number
  objects_deleted: number
  /** Temps of dead writers in the node's namespace, removed with the rest (counted only on a dry run). */
  dead_temps: TempSweep
  /** How old an object no manifest names must be to be collected. */
  orphan_grace_ms: bigint
  /** Objects in the node's basebackup areas that no manifest names, older than the grace period: deleted (listed on a dry run). */
  orphans: Array<{key: string; size_bytes: bigint; modified_unix_ms: bigint; reason: string}>
  /** Unreferenced objects younger than the grace period, left alone: a push in progress writes its chunks before its manifest. */
  orphans_young: number
}

interface ExpireOptions {
  signal?: AbortSignal
  node: string
  orphanGraceMs: bigint
  policy: BackupRetentionPolicy
  confirm: boolean
  nowMs: bigint
  /** --segment-bytes: refused when the repository's facts say otherwise. */
  segmentBytes?: bigint
  jobs: number
}

type Candidate = RepoBackupRow & RetentionCandidate

interface ExpireBasis {
  keys: RepoKeys
  inventory: RepoInventory
  segmentBytes: bigint | null
  plan: RepoExpirePlan<Candidate, RepoWalEntry>
  orphanGraceMs: bigint
  orphanCandidates: OrphanCandidate[]
  orphans: OrphanPlan
}

/**
 * Every object the backups name (mark, before the sweep of orphans): each
 * listed manifest's chunks and piece index, and the pieces the indexes of
 * the backups `kept` name. A manifest that cannot be read (damaged, or gone
 * since the listing) names nothing for sure, so every object under its own
 * parts directory counts as its: its chunks go with its backup (when the
 * policy drops it), never as orphans. A kept backup's index that cannot be
 * read names nothing for sure either: then every piece counts as named.
 */
async function referencedObjects(backend: RepoBackend, inventory: RepoInventory, kept: (key: string) => boolean): Promise<Set<string>> {
  const referenced = new Set<string>()
  const {keys} = inventory
  let everyPiece = false
  for (const entry of inventory.manifests) {
    const manifest = await readRepoManifest(backend, entry).catch((error: unknown) => {
      if (isObjectDamage(error)) return null
      throw error
    })
    if (manifest !== null) for (const chunk of manifest.chunks) referenced.add(keys.chunk(entry.timeline, chunk.relative_path))
    else for (const key of inventory.objects.keys()) if (key.startsWith(`${entry.key}.parts/`)) referenced.add(key)
    referenced.add(keys.pieceIndex(entry.key))
    if (!kept(entry.key)) continue
    const storage = await backupStorage(backend, keys, inventory.objects, entry.key).catch((error: unknown) => {
      if (isObjectDamage(error)) return null
      throw error
    })
    if (storage === null) everyPiece = true
    else if (storage.kind === 'pieces') for (const ref of storage.index.pieces) referenced.add(pieceKey(keys, ref))
  }
  if (everyPiece) for (const key of inventory.objects.keys()) if (key.startsWith(keys.piecesPrefix) || key.startsWith(keys.packsPrefix)) referenced.add(key)
  return referenced
}

async function expireBasis(backend: RepoBackend, node: string, policy: BackupRetentionPolicy, nowMs: bigint, segmentBytes: bigint | undefined, orphanGraceMs: bigint): Promise<ExpireBasis> {
  const basis = await readRepoBasis(backend, node, segmentBytes)
  const {keys, inventory} = basis
  const {backups} = await describeBackups(backend, basis)
  const inBasebackupArea = (key: string) => {
    const parts = key.slice(keys.prefix.length).split('/')
    return key.startsWith(keys.piecesPrefix) || key.startsWith(keys.packsPrefix) || (key.startsWith(keys.prefix) && parts.length >= 3 && parseTimelineDirName(parts[0]) !== undefined && parts[1] === 'basebackup')
  }
  const plan = planRepoExpire({
    backups: backups.map((b) => ({...b, id: b.key, usable_for_catchup: b.complete && b.wal_covered_from_checkpoint})),
    wal: basis.inventory.wal,
    policy,
    nowMs,
    segmentBytes: basis.segment_bytes,
    history: basis.history,
  })
  // Pieces only the backups this plan deletes name are swept with them (once past the grace period, as every orphan).
  const deleted = new Set(plan.backups.filter((v) => v.action === 'delete').map((v) => v.backup.key))
  const referenced = await referencedObjects(backend, inventory, (key) => !deleted.has(key))
  const candidates = orphanCandidates(inventory.objects.values(), inBasebackupArea, (key) => keys.classify(key).kind === 'manifest', referenced)
  return {keys, inventory, segmentBytes: basis.segment_bytes, plan, orphanGraceMs, orphanCandidates: candidates, orphans: planOrphans(candidates, nowMs, orphanGraceMs)}
}

/**
 * Deletes what the plan marks (none unless `confirm`): each backup's
 * manifest first (from then on no listing shows it), then its chunks, then
 * the WAL below the floor (plan/repo-expire.ts); and reports.
 */
async function carryOut(backend: RepoBackend, basis: ExpireBasis, options: {node: string; confirm: boolean; jobs: number; nowMs: bigint; signal?: AbortSignal}): Promise<RepoExpireReport> {
  const {keys, inventory, plan} = basis
  const {signal} = options
  let deleted = 0
  // A signal stops the run between backups (a backup whose manifest went loses its chunks too) and between WAL or orphan objects.
  const stopIfInterrupted = () => {
    if (signal?.aborted) throw interruption(signal, `stopped after deleting ${deleted} object(s); every backup still listed is whole, and a re-run deletes the rest`)
  }
  const deadTemps = backend.capabilities.deadTempSweep ? await backend.sweepDeadTemps(keys.prefix, {nowMs: options.nowMs, graceMs: DEAD_TEMP_GRACE_MS, dryRun: !options.confirm}) : {count: 0, bytes: 0n}
  if (options.confirm) {
    for (const verdict of plan.backups) {
      if (verdict.action !== 'delete') continue
      stopIfInterrupted()
      const entry = inventory.manifests.find((m) => m.key === verdict.backup.key)!
      // A manifest gone or damaged since the listing still has its chunks deleted: those under its parts prefix.
      const manifest = await readRepoManifest(backend, entry).catch((error: unknown) => {
        if (isObjectDamage(error)) return null
        throw error
      })
      await backend.delete(entry.key)
      deleted++
      // Its piece index next; the pieces only it named are orphans now, swept below.
      const indexKey = keys.pieceIndex(entry.key)
      if (inventory.objects.has(indexKey)) {
        await backend.delete(indexKey)
        deleted++
      }
      const chunkKeys = manifest
        ? manifest.chunks.map((chunk) => keys.chunk(entry.timeline, chunk.relative_path)).filter((key) => inventory.objects.has(key))
        : [...inventory.objects.keys()].filter((key) => key.startsWith(`${entry.key}.parts/`))
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
        stopIfInterrupted()
        await backend.delete(w.key)
        deleted++
      }),
      options.jobs,
    )
    await runPool(
      basis.orphans.delete.map((o) => async () => {
        stopIfInterrupted()
        await backend.delete(o.key)
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
      damage: backup.damage,
      action,
      reason,
    })),
    wal_floor: plan.wal_floor,
    wal_delete: plan.wal_delete,
    wal_kept: plan.wal_kept,
    objects_deleted: deleted,
    dead_temps: deadTemps,
    orphan_grace_ms: basis.orphanGraceMs,
    orphans: basis.orphans.delete.map((o) => ({key: o.key, size_bytes: o.size, modified_unix_ms: o.modified_unix_ms, reason: o.reason})),
    orphans_young: basis.orphans.young,
  }
}

/**
 * `repo expire`: applies a retention policy to the node's backups in the
 * repository. A backup counts as usable when it is complete and the WAL
 * from its checkpoint on is archived without a gap. Deletes only when
 * `confirm`.
 */
export async function expireRepository(backend: RepoBackend, options: ExpireOptions): Promise<RepoExpireReport> {
  const basis = await expireBasis(backend, options.node, options.policy, options.nowMs, options.segmentBytes, options.orphanGraceMs)
  return carryOut(backend, basis, options)
}

function inputsOf(basis: ExpireBasis, policy: BackupRetentionPolicy): RepoExpirePlanInputs {
  const manifests = new Map(basis.inventory.manifests.map((m) => [m.key, m.object]))
  return {
    policy,
    // 0: unknown (no member ever had a segment past 0), as the plan file records it.
    segment_bytes: basis.segmentBytes ?? 0n,
    backups: basis.plan.backups.map(({backup}) => ({
      name: backup.key,
      size: manifests.get(backup.key)!.size,
      modified_unix_ms: manifests.get(backup.key)!.modified_unix_ms,
      checkpoint_lsn: backup.checkpoint_lsn,
      snapshot_bytes: backup.snapshot_bytes,
    })),
    wal: basis.inventory.wal.map((w) => ({name: w.key, size: w.object.size, modified_unix_ms: w.object.modified_unix_ms})),
    orphans: basis.orphanCandidates.map((o) => ({name: o.key, size: o.size, modified_unix_ms: o.modified_unix_ms})),
  }
}

/** A directory repository, where a plan must never be written. */
function repositoryArea(location: string) {
  const root = localRepoDir(location)
  return root === undefined ? undefined : {root, what: 'the repository'}
}

/** `repo expire`'s document for one repository: the expiry, and the plan --out saved or the one --plan applied. */
export type RepoExpireDocument = RepoExpireReport & {plan?: AppliedExpirePlan; plan_path?: string; inputs_fingerprint?: string}

/** `repo expire`'s document: one repository's, or each configured repository expired by its own retention. */
export type RepoExpireRun = RepoExpireDocument | EachRepository<RepoExpireReport>

/** The dry run, saved to `planPath` for `repo expire --plan` to apply exactly. */
export async function saveRepoExpirePlan(backend: RepoBackend, options: Omit<ExpireOptions, 'confirm'>, planPath: string): Promise<RepoExpireReport & {plan_path: string; inputs_fingerprint: string}> {
  const basis = await expireBasis(backend, options.node, options.policy, options.nowMs, options.segmentBytes, options.orphanGraceMs)
  const saved = savedRepoExpirePlan({
    repository: repositoryIdentity(backend.location),
    node: options.node,
    planned_at_unix_ms: options.nowMs,
    inputs: inputsOf(basis, options.policy),
    deleted_backups: basis.plan.backups.filter((v) => v.action === 'delete').map((v) => v.backup.key),
    deleted_wal: basis.plan.wal_delete.map((w) => w.key),
    orphan_grace_ms: basis.orphanGraceMs,
    deleted_orphans: basis.orphans.delete.map((o) => o.key),
  })
  await writePlanFile(planPath, repoExpirePlanDocument(saved), repositoryArea(backend.location))
  return {...(await carryOut(backend, basis, {...options, confirm: false})), plan_path: planPath, inputs_fingerprint: saved.inputs_fingerprint}
}

export const loadRepoExpirePlan = (planPath: string) => readPlanFile(planPath, decodeSavedRepoExpirePlan)

/**
 * Plans again with the saved policy and segment size and deletes exactly
 * the saved backups and WAL objects (with `confirm`), or nothing and
 * refuses (exit 4) naming what changed.
 */
export async function expireRepositoryByPlan(
  backend: RepoBackend,
  planPath: string,
  saved: SavedRepoExpirePlan,
  options: {node: string; confirm: boolean; nowMs: bigint; jobs: number; signal?: AbortSignal},
): Promise<RepoExpireReport & {plan: AppliedExpirePlan}> {
  // The segment size is the repository's now: a plan made with another one no longer fits its inputs and is refused as changed.
  const basis = await expireBasis(backend, options.node, saved.policy, options.nowMs, undefined, saved.orphan_grace_ms)
  const walDeleted = new Set(basis.plan.wal_delete.map((w) => w.key))
  const orphansDeleted = new Set(basis.orphans.delete.map((o) => o.key))
  const comparison = compareRepoExpirePlans(saved, {
    repository: repositoryIdentity(backend.location),
    node: options.node,
    inputs: inputsOf(basis, saved.policy),
    backup_verdicts: basis.plan.backups.map((v) => ({name: v.backup.key, action: v.action, reason: v.reason})),
    wal_verdicts: basis.inventory.wal.map((w) => (walDeleted.has(w.key) ? {name: w.key, action: 'delete', reason: 'below the WAL floor'} : {name: w.key, action: 'keep', reason: 'at or above the WAL floor'})),
    orphan_verdicts: basis.orphanCandidates.map((o) => (orphansDeleted.has(o.key) ? {name: o.key, action: 'delete', reason: 'unreferenced and older than the grace period'} : {name: o.key, action: 'keep', reason: 'younger than the grace period'})),
  })
  if (!comparison.applies) throw stalePlan(planPath, {where: 'repository', nothing: 'deleted', replan: 'repo expire'}, comparison.changes)
  const chosenBackups = new Set(saved.backups.map((b) => b.name))
  const chosenWal = new Set(saved.wal.map((w) => w.name))
  const chosenOrphans = new Set(saved.orphans.map((o) => o.name))
  const narrowed: ExpireBasis = {
    ...basis,
    plan: {
      ...basis.plan,
      backups: basis.plan.backups.map((v) => (v.action === 'delete' && !chosenBackups.has(v.backup.key) ? {...v, action: 'keep' as const, reason: `${v.reason}, but not in the plan`} : v)),
      wal_delete: basis.plan.wal_delete.filter((w) => chosenWal.has(w.key)),
      wal_kept: basis.inventory.wal.length - chosenWal.size,
    },
    orphans: {...basis.orphans, delete: basis.orphans.delete.filter((o) => chosenOrphans.has(o.key))},
  }
  return {
    ...(await carryOut(backend, narrowed, options)),
    plan: appliedPlan('more_released_manifests', planPath, saved.inputs_fingerprint, comparison),
  }
}
