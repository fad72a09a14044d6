import {RedreplError, refused} from '../../errors.js'
import {Layout} from '../../layout.js'
import {walHolds, walHoldsAcross} from '../../plan/repo-wal.js'
import type {RepoSettings} from '../../repo/open.js'
import {assessBackups, isUsableBackup} from '../basebackup/usable.js'
import {readOldestAvailableLsn, type WalSegmentFile} from '../node/state.js'

/**
 * The WAL redrepl keeps beyond RedDB's retention rule, as a keep set for
 * the planner: segments the repository does not hold yet (as PostgreSQL
 * keeps WAL until archive_command succeeds), and with
 * `keepWalForBackups` the WAL the base backups on disk need to catch up.
 */

export interface WalHoldOptions {
  /** The repository this node pushes to; a segment it does not list with the segment's size is kept. */
  repository?: {settings: RepoSettings; node: string}
  /**
   * Several repositories the node pushes to (the config file's [repo.NAME]
   * sections), instead of `repository`: a segment is kept until each of
   * them holds it, and the reason names those that do not.
   */
  repositories?: Array<{name: string; settings: RepoSettings; node: string}>
  /** Keep every segment from the checkpoint of the oldest base backup usable for catch-up. */
  keepWalForBackups?: boolean
}

export interface WalHoldsReport {
  /** Null without a repository. */
  repository: {location: string; node: string; archived_segments: number; not_archived_segments: number} | null
  /** With several repositories: each one's count, by name; absent otherwise, so a one-repository report is as it was. */
  repositories?: Array<{name: string; location: string; node: string; archived_segments: number; not_archived_segments: number}>
  /** The checkpoint whose WAL --keep-wal-for-backups keeps; null when off or when no backup is usable. */
  backup_hold_checkpoint_lsn: bigint | null
  holds: Map<bigint, string>
}

export async function readWalHolds(
  layout: Layout,
  timeline: bigint,
  segments: WalSegmentFile[],
  segmentBytes: bigint,
  options: WalHoldOptions,
): Promise<WalHoldsReport> {
  const several = options.repositories ?? []
  const archived = options.repository && several.length === 0 ? await archivedSegments(options.repository, timeline, segments) : null
  // One after another: each listing is bounded by its own repository's deadline, and any unreadable one refuses the plan.
  const each: Array<{name: string; node: string; location: string; segments: Map<bigint, bigint>}> = []
  for (const repository of several) each.push({name: repository.name, node: repository.node, ...(await archivedSegments(repository, timeline, segments))})
  let backupCheckpoint: bigint | null = null
  if (options.keepWalForBackups) {
    const available = await readOldestAvailableLsn(layout, timeline, segments)
    const usable = (await assessBackups(layout, timeline)).filter((b) => isUsableBackup(b, timeline, available))
    // Sorted by checkpoint: the oldest usable backup needs the most; the newer ones need a suffix of it.
    backupCheckpoint = usable[0]?.manifest.checkpoint_lsn ?? null
  }
  const local = segments.map((s) => ({index: s.index, bytes: s.bytes}))
  const count = (held: Map<bigint, bigint>) => ({archived_segments: local.filter((s) => held.get(s.index) === s.bytes).length, not_archived_segments: local.filter((s) => held.get(s.index) !== s.bytes).length})
  if (each.length > 0) {
    return {
      repository: null,
      repositories: each.map((repo) => ({name: repo.name, location: repo.location, node: repo.node, ...count(repo.segments)})),
      backup_hold_checkpoint_lsn: backupCheckpoint,
      holds: walHoldsAcross({segments: local, archived: each, backupCheckpointLsn: backupCheckpoint, segmentBytes}),
    }
  }
  const holds = walHolds({segments: local, archived: archived?.segments ?? null, backupCheckpointLsn: backupCheckpoint, segmentBytes})
  return {
    repository: archived && {
      location: archived.location,
      node: options.repository!.node,
      archived_segments: local.filter((s) => archived.segments.get(s.index) === s.bytes).length,
      not_archived_segments: local.filter((s) => archived.segments.get(s.index) !== s.bytes).length,
    },
    backup_hold_checkpoint_lsn: backupCheckpoint,
    holds,
  }
}

/**
 * The repository's WAL of `timeline` (index → size) that holds the node's
 * own bytes: listed with the node's segment's size and stored with its CRC
 * (the checksum the store kept, or the object's sealed trailer). A copy with
 * other bytes (another node's, in a shared namespace) archives nothing of
 * this node's, and leaves its segment kept.
 * A repository that cannot be read is a refusal: planning as if nothing
 * were archived would be safe, but as if everything were would lose WAL,
 * and an operator who named a repository must hear that it is not there.
 */
async function archivedSegments(repository: NonNullable<WalHoldOptions['repository']> & {name?: string}, timeline: bigint, local: WalSegmentFile[]): Promise<{location: string; segments: Map<bigint, bigint>}> {
  let location = repository.settings.url
  // The repository's modules load only when a plan names a repository: a plan of the local WAL starts without them.
  const [{openRepository}, {readInventory}, {RepoKeys}, {storedChecksum}, {trailerChecksum}] = await Promise.all([import('../../repo/open.js'), import('../../repo/inventory.js'), import('../../repo/keys.js'), import('../../repo/stored-crc.js'), import('../repo/push.js')])
  try {
    const backend = await openRepository(repository.settings)
    location = backend.location
    try {
      const inventory = await readInventory(backend, new RepoKeys(repository.node))
      const listed = new Map(inventory.wal.filter((w) => w.timeline === timeline).map((w) => [w.index, w]))
      const segments = new Map<bigint, bigint>()
      for (const segment of local) {
        const copy = listed.get(segment.index)
        if (copy === undefined || copy.object.size !== segment.bytes) continue
        if ((await storedChecksum(backend, copy.key, copy.object.size, 'sealed')) === (await trailerChecksum(segment.path, segment.bytes))) segments.set(segment.index, segment.bytes)
      }
      return {location, segments}
    } finally {
      await backend.close()
    }
  } catch (error) {
    if (!(error instanceof RedreplError) || error.kind === 'usage') throw error
    throw refused(`${location}${repository.name === undefined ? '' : ` (repository ${repository.name})`}: cannot read the repository (${error.message}), so which WAL segments are archived is unknown and none is released`, {
      code: 'wal.repo-unreachable',
      hint: 'make the repository reachable (or fix its credentials) and run again',
    })
  }
}
