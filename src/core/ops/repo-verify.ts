import {FormatError, RedreplError} from '../errors.js'
import {finding, type Finding} from '../findings.js'
import {MAX_SEGMENT_BYTES, MAX_TIMELINE_HISTORY_BYTES} from '../format/size-caps.js'
import type {RepoBackend} from '../repo/backend.js'
import {checkedStream, type Expected} from '../repo/integrity.js'
import {readInventory, readRepoManifest, runPool} from '../repo/inventory.js'
import {RepoKeys} from '../repo/keys.js'

export interface RepoVerifyReport {
  repository: string
  node: string
  quick: boolean
  ok: boolean
  backups: number
  wal_segments: number
  objects_read: number
  read_bytes: bigint
  /** repo.object-damaged for each object that is missing, of the wrong size, or fails its check (data.key: its key). */
  findings: Finding[]
}

/**
 * `repo verify`: every backup's manifest (CRC, decode, name) and the size
 * of every chunk it names in the listing; unless `quick`, every chunk,
 * WAL segment and the history downloaded and checked against its CRC.
 * Collects every problem instead of stopping at the first. Reads only.
 */
export async function verifyRepository(backend: RepoBackend, options: {node: string; quick: boolean; jobs: number}): Promise<RepoVerifyReport> {
  const keys = new RepoKeys(options.node)
  const inventory = await readInventory(backend, keys)
  const report: RepoVerifyReport = {
    repository: backend.location,
    node: options.node,
    quick: options.quick === true,
    ok: true,
    backups: inventory.manifests.length,
    wal_segments: inventory.wal.length,
    objects_read: 0,
    read_bytes: 0n,
    findings: [],
  }
  const problem = (key: string, text: string) => report.findings.push(finding('repo.object-damaged', backend.describe(key), text, {key}))
  const tasks: Array<() => Promise<void>> = []
  const read = (key: string, expected: Expected) =>
    tasks.push(async () => {
      try {
        for await (const piece of checkedStream(backend.get(key), expected, backend.describe(key))) report.read_bytes += BigInt(piece.length)
        report.objects_read++
      } catch (error) {
        if (!(error instanceof RedreplError) || error.kind === 'failure' || error.kind === 'refused') throw error
        problem(key, error instanceof FormatError ? error.problem : error.message)
      }
    })
  for (const entry of inventory.manifests) {
    let manifest
    try {
      manifest = await readRepoManifest(backend, entry)
      report.objects_read++
    } catch (error) {
      if (!(error instanceof FormatError)) throw error
      problem(entry.key, error.problem)
      continue
    }
    for (const chunk of manifest.chunks) {
      const key = keys.chunk(entry.timeline, chunk.relative_path)
      const listed = inventory.objects.get(key)
      if (listed === undefined) problem(key, `chunk ${chunk.ordinal} of ${entry.key} is missing`)
      else if (listed.size !== chunk.bytes) problem(key, `chunk ${chunk.ordinal} holds ${listed.size} bytes, the manifest says ${chunk.bytes}`)
      else if (!options.quick) read(key, {kind: 'chunk', size: chunk.bytes, checksum: chunk.checksum})
    }
  }
  // A size past what the kind can hold is damage the listing shows, found without a download (and never downloaded).
  const sealed = (key: string, size: bigint, limit: number, kind: string) => {
    if (size > BigInt(limit)) problem(key, `listed at ${size} bytes, more than any ${kind} can hold (${limit})`)
    else if (!options.quick) read(key, {kind: 'sealed', size})
  }
  for (const segment of inventory.wal) sealed(segment.key, segment.object.size, MAX_SEGMENT_BYTES, 'WAL segment')
  if (inventory.history) sealed(keys.history, inventory.history.size, MAX_TIMELINE_HISTORY_BYTES, 'timeline history')
  await runPool(tasks, options.jobs)
  report.findings.sort((a, b) => (a.data.key! < b.data.key! ? -1 : a.data.key! > b.data.key! ? 1 : 0))
  report.ok = report.findings.length === 0
  return report
}
