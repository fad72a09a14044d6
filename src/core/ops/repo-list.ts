import {effectiveSegmentBytes} from '../format/wal-segment.js'
import {walCoverage, walCoveredFrom, type TimelineWal} from '../plan/repo-wal.js'
import type {RepoBackend} from '../repo/backend.js'
import {readInventory, readRepoManifest, type RepoInventory} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'

export interface RepoBackupRow {
  key: string
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  chunks: number
  taken_unix_ms: bigint
  /** Every chunk the manifest names is listed with its size. */
  complete: boolean
  /** The archived WAL runs without a gap from the checkpoint's segment to the newest archived segment. */
  wal_covered_from_checkpoint: boolean
}

export interface RepoListReport {
  repository: string
  node: string
  segment_bytes: bigint
  history: boolean
  backups: RepoBackupRow[]
  wal: TimelineWal[]
}

export async function describeBackups(backend: RepoBackend, inventory: RepoInventory, segmentBytes: bigint): Promise<{backups: RepoBackupRow[]; wal: TimelineWal[]}> {
  const timelines = [...new Set(inventory.wal.map((w) => w.timeline))]
  const wal = timelines.map((t) => walCoverage(t, inventory.wal.filter((w) => w.timeline === t).map((w) => w.index), segmentBytes))
  const backups: RepoBackupRow[] = []
  for (const entry of inventory.manifests) {
    const manifest = await readRepoManifest(backend, entry)
    backups.push({
      key: entry.key,
      timeline: entry.timeline,
      start_lsn: entry.start_lsn,
      checkpoint_lsn: entry.checkpoint_lsn,
      snapshot_bytes: manifest.snapshot_bytes,
      chunks: manifest.chunks.length,
      taken_unix_ms: entry.object.modified_unix_ms,
      complete: manifest.chunks.every((chunk) => inventory.objects.get(inventory.keys.chunk(entry.timeline, chunk.relative_path))?.size === chunk.bytes),
      wal_covered_from_checkpoint: walCoveredFrom(wal.find((w) => w.timeline === entry.timeline), entry.checkpoint_lsn, segmentBytes),
    })
  }
  return {backups, wal}
}

/** `repo list`: the node's backups in the repository and the WAL it holds per timeline, with gaps. Reads only. */
export async function listRepository(backend: RepoBackend, options: {node: string; segmentBytes: bigint}): Promise<RepoListReport> {
  const segmentBytes = effectiveSegmentBytes(options.segmentBytes)
  const inventory = await readInventory(backend, new RepoKeys(options.node))
  const {backups, wal} = await describeBackups(backend, inventory, segmentBytes)
  return {repository: backend.location, node: options.node, segment_bytes: segmentBytes, history: inventory.history !== null, backups, wal}
}
