/**
 * `repo drill`: proves, before the day it is needed, that the repository
 * alone rebuilds a node. It restores a backup into a scratch directory,
 * fetches its WAL, verifies the result by `layout verify`'s rules, removes
 * the scratch copy, and records the outcome and its time in the repository
 * as one small object, so monitoring can alert when the last successful
 * drill is too old (`readDrillRecord`).
 */
import path from 'node:path'

import {crc32} from '../../codec/crc.js'
import {asUnsigned, isJsonObject, parseJson, stringifyJson} from '../../codec/json.js'
import {FormatError, RedreplError, refused} from '../../errors.js'
import {isProblem, type Finding} from '../../findings.js'
import {writeFailure} from '../../fs/atomic.js'
import {readdir} from '../../fs/metadata.js'
import {makeDirs, makeTempDir, removeTree} from '../../fs/tree.js'
import {Layout} from '../../layout.js'
import type {RdbFormat} from '../../model.js'
import {isAbsent, type RepoBackend} from '../../repo/backend.js'
import {collect} from '../../repo/integrity.js'
import {RepoKeys} from '../../repo/keys.js'
import {verifyLayout} from '../layout/verify.js'
import {fetchWal, restoreFromRepository, type RepoBackupChoice} from './restore.js'

/** The record's key under the node's namespace: beside the timelines, never taken for a backup or WAL. */
export const drillRecordKey = (node: string) => `${new RepoKeys(node).prefix}drill.json`
/** A record is a few hundred bytes; anything past this is not one. */
const MAX_RECORD_BYTES = 64n * 1024n
const RECORD_SCHEMA = 'redrepl.drill-record/1'

export interface DrillRecord {
  /** Whether the last drill restored, caught up and verified clean. */
  ok: boolean
  finished_unix_ms: bigint
  /** When a drill last succeeded (this one or an earlier); null when none has. */
  last_success_unix_ms: bigint | null
  checkpoint_lsn: bigint | null
  manifest_key: string | null
  /** Why it failed; null when it did not. */
  problem: string | null
}

export interface RepoDrillReport {
  repository: string
  node: string
  ok: boolean
  manifest_key: string | null
  checkpoint_lsn: bigint | null
  scratch_path: string
  /** WAL segments fetched after the restore. */
  wal_segments_fetched: number
  /** What layout verify found on the restored node (notes too); empty when it never got that far. */
  findings: Finding[]
  /** The error that stopped the drill; null when it ran through. */
  problem: string | null
  started_unix_ms: bigint
  duration_ms: bigint
  record_key: string
  last_success_unix_ms: bigint | null
}

export interface DrillOptions {
  node: string
  choice: RepoBackupChoice
  /** Where to rebuild the node: absent, a fresh directory under the system temp dir; given, it must not exist or be empty. */
  scratch?: string
  segmentBytes?: bigint
  rdbVersion: RdbFormat
  nowMs: () => bigint
}

/** A scratch directory that is ours to empty: a new one, or one given empty. Refused otherwise, before anything is written. */
async function prepareScratch(given: string | undefined): Promise<{dir: string; created: boolean}> {
  if (given === undefined) return {dir: await makeTempDir('redrepl-drill-'), created: true}
  const entries = await readdir(given).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    if (error.code === 'ENOTDIR') throw refused(`${given}: exists and is not a directory; a drill needs an empty scratch directory`)
    throw writeFailure(given, error)
  })
  if (entries === undefined) {
    await makeDirs(given).catch((error) => {
      throw writeFailure(given, error)
    })
    return {dir: given, created: true}
  }
  if (entries.length > 0) throw refused(`${given}: is not empty (${entries.length} entries); a drill removes what it restores there, so it needs an empty directory`, {hint: 'name a new or empty directory with --scratch'})
  return {dir: given, created: false}
}

/** Removes what the drill made: the directory it created, or the contents of the empty one it was given. */
async function removeScratch(scratch: {dir: string; created: boolean}): Promise<void> {
  if (scratch.created) return removeTree(scratch.dir)
  for (const name of await readdir(scratch.dir)) await removeTree(path.join(scratch.dir, name))
}

export async function drillRepository(backend: RepoBackend, options: DrillOptions): Promise<RepoDrillReport> {
  const started = options.nowMs()
  const scratch = await prepareScratch(options.scratch)
  const data = path.join(scratch.dir, 'data.rdb')
  const report: RepoDrillReport = {
    repository: backend.location,
    node: options.node,
    ok: false,
    manifest_key: null,
    checkpoint_lsn: null,
    scratch_path: scratch.dir,
    wal_segments_fetched: 0,
    findings: [],
    problem: null,
    started_unix_ms: started,
    duration_ms: 0n,
    record_key: drillRecordKey(options.node),
    last_success_unix_ms: null,
  }
  let failure: unknown
  try {
    const restored = await restoreFromRepository(backend, {
      node: options.node,
      choice: options.choice,
      destination: {kind: 'file', path: data, overwrite: false, dataPath: data, rdbVersion: options.rdbVersion},
      nowMs: started,
    })
    report.manifest_key = restored.manifest_key
    report.checkpoint_lsn = restored.checkpoint_lsn
    const fetched = await fetchWal(Layout.fromDataPath(data), backend, {node: options.node, fromLsn: restored.checkpoint_lsn, segmentBytes: options.segmentBytes})
    report.wal_segments_fetched = fetched.fetched.length + fetched.already_present
    const verified = await verifyLayout(data, started)
    report.findings = verified.findings
    report.ok = verified.ok
    if (!verified.ok) report.problem = `the restored node fails layout verify: ${verified.findings.filter(isProblem).map((f) => `${f.code} ${f.path}`).join(', ')}`
  } catch (error) {
    if (!(error instanceof RedreplError)) throw error
    failure = error
    report.problem = error.message
  } finally {
    await removeScratch(scratch)
  }
  const finished = options.nowMs()
  report.duration_ms = finished > started ? finished - started : 0n
  const previous = await readDrillRecord(backend, options.node).catch(() => null)
  report.last_success_unix_ms = report.ok ? finished : (previous?.last_success_unix_ms ?? null)
  await writeDrillRecord(backend, options.node, {
    ok: report.ok,
    finished_unix_ms: finished,
    last_success_unix_ms: report.last_success_unix_ms,
    checkpoint_lsn: report.checkpoint_lsn,
    manifest_key: report.manifest_key,
    problem: report.problem,
  })
  // The outcome is recorded either way; the error that stopped the drill is still the run's answer.
  if (failure !== undefined) throw failure
  return report
}

/** One small object, replaced whole (a directory repository writes it atomically; an S3 PUT is whole or nothing). */
async function writeDrillRecord(backend: RepoBackend, node: string, record: DrillRecord): Promise<void> {
  const bytes = new TextEncoder().encode(`${stringifyJson({schema: RECORD_SCHEMA, ...record})}\n`)
  await backend.put(drillRecordKey(node), async function* () {
    yield bytes
  }, {size: BigInt(bytes.length), checksum: crc32(bytes)})
}

/**
 * The last drill's record, or null when the node has none. A record that
 * does not parse is refused (exit 3) naming the object, so monitoring never
 * reads a damaged record as "never drilled".
 */
export async function readDrillRecord(backend: RepoBackend, node: string): Promise<DrillRecord | null> {
  const key = drillRecordKey(node)
  const name = backend.describe(key)
  let bytes: Uint8Array
  try {
    bytes = await collect(backend.get(key), MAX_RECORD_BYTES, name)
  } catch (error) {
    if (isAbsent(error)) return null
    throw error
  }
  let json
  try {
    json = parseJson(new TextDecoder('utf-8', {fatal: true}).decode(bytes))
  } catch (error) {
    throw new FormatError(`not a drill record: ${(error as Error).message}`, name)
  }
  if (!isJsonObject(json) || json.schema !== RECORD_SCHEMA || typeof json.ok !== 'boolean') throw new FormatError(`not a ${RECORD_SCHEMA} record`, name)
  const u64OrNull = (value: unknown, field: string): bigint | null => {
    if (value === null) return null
    const parsed = asUnsigned(value as never)
    if (parsed === undefined) throw new FormatError(`${field} must be an unsigned integer or null`, name)
    return parsed
  }
  const stringOrNull = (value: unknown, field: string): string | null => {
    if (value === null || typeof value === 'string') return value
    throw new FormatError(`${field} must be a string or null`, name)
  }
  const finished = u64OrNull(json.finished_unix_ms, 'finished_unix_ms')
  if (finished === null) throw new FormatError('finished_unix_ms is missing', name)
  return {
    ok: json.ok,
    finished_unix_ms: finished,
    last_success_unix_ms: u64OrNull(json.last_success_unix_ms, 'last_success_unix_ms'),
    checkpoint_lsn: u64OrNull(json.checkpoint_lsn, 'checkpoint_lsn'),
    manifest_key: stringOrNull(json.manifest_key, 'manifest_key'),
    problem: stringOrNull(json.problem, 'problem'),
  }
}
