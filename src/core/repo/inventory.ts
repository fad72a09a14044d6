import {FormatError} from '../errors.js'
import {basebackupManifestCodec} from '../format/basebackup-manifest.js'
import type {BasebackupManifest} from '../model.js'
import type {RepoBackend, RepoObject} from './backend.js'
import {checkedStream, collect} from './integrity.js'
import {RepoKeys} from './keys.js'

/** A base backup's manifest can name up to 1,000,000 chunks (§6): about 70 MiB at most. */
export const MAX_MANIFEST_BYTES = 128n * 1024n * 1024n

export interface RepoManifestEntry {
  key: string
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  object: RepoObject
}

export interface RepoWalEntry {
  key: string
  timeline: bigint
  index: bigint
  object: RepoObject
}

/** One listing of a node's namespace, sorted into what it holds. */
export interface RepoInventory {
  keys: RepoKeys
  objects: Map<string, RepoObject>
  history: RepoObject | null
  /** Sorted by (timeline, checkpoint). */
  manifests: RepoManifestEntry[]
  /** Sorted by (timeline, index). */
  wal: RepoWalEntry[]
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0)

export async function readInventory(backend: RepoBackend, keys: RepoKeys): Promise<RepoInventory> {
  const inventory: RepoInventory = {keys, objects: new Map(), history: null, manifests: [], wal: []}
  for await (const object of backend.list(keys.prefix)) {
    inventory.objects.set(object.key, object)
    const what = keys.classify(object.key)
    if (what.kind === 'history') inventory.history = object
    else if (what.kind === 'manifest') inventory.manifests.push({key: object.key, timeline: what.timeline, start_lsn: what.start_lsn, checkpoint_lsn: what.checkpoint_lsn, object})
    else if (what.kind === 'wal') inventory.wal.push({key: object.key, timeline: what.timeline, index: what.index, object})
  }
  inventory.manifests.sort((a, b) => cmp(a.timeline, b.timeline) || cmp(a.checkpoint_lsn, b.checkpoint_lsn))
  inventory.wal.sort((a, b) => cmp(a.timeline, b.timeline) || cmp(a.index, b.index))
  return inventory
}

/** Downloads a manifest, checks its CRC on the way, decodes it, and checks that its name matches what it says. */
export async function readRepoManifest(backend: RepoBackend, entry: RepoManifestEntry): Promise<BasebackupManifest> {
  return (await readRepoManifestBytes(backend, entry)).manifest
}

/** readRepoManifest, with the bytes it decoded: for a caller that stores them again (`repo copy`). */
export async function readRepoManifestBytes(backend: RepoBackend, entry: RepoManifestEntry): Promise<{bytes: Uint8Array; manifest: BasebackupManifest}> {
  const name = backend.describe(entry.key)
  if (entry.object.size > MAX_MANIFEST_BYTES) throw new FormatError(`manifest of ${entry.object.size} bytes is larger than any RedDB writes`, name)
  const bytes = await collect(checkedStream(backend.get(entry.key), {kind: 'sealed', size: entry.object.size}, name), MAX_MANIFEST_BYTES, name)
  let manifest: BasebackupManifest
  try {
    manifest = basebackupManifestCodec.decode(bytes, {nowMs: 0n})
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
  if (manifest.timeline !== entry.timeline || manifest.start_lsn !== entry.start_lsn || manifest.checkpoint_lsn !== entry.checkpoint_lsn) {
    throw new FormatError(`manifest says timeline ${manifest.timeline}, start ${manifest.start_lsn}, checkpoint ${manifest.checkpoint_lsn}, not what its name says`, name)
  }
  return {bytes, manifest}
}

/** Runs tasks with at most `jobs` at once; the first failure is thrown once the running ones have settled. */
export async function runPool(tasks: Array<() => Promise<void>>, jobs: number): Promise<void> {
  let next = 0
  let failure: unknown
  const worker = async () => {
    while (failure === undefined && next < tasks.length) {
      const task = tasks[next++]
      try {
        await task()
      } catch (error) {
        failure ??= error
      }
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(jobs, tasks.length))}, worker))
  if (failure !== undefined) throw failure
}
