/**
 * What `wal prune` runs leave for monitoring: when the last prune went
 * through, and how many runs since found the layout lock held and did
 * nothing (exit 5). A throttled `basebackup create` can hold the lock for
 * hours; each skipped run is harmless alone, but a run of them is WAL that
 * is never released, and cron or systemd count exit 5 as success. `check`
 * reads the record and warns past a number of skipped runs in a row.
 */
import path from 'node:path'

import {asUnsigned, isJsonObject, parseJson, stringifyJson, type JsonValue} from '../../codec/json.js'
import {oneLine, RedreplError} from '../../errors.js'
import {writeFileAtomic} from '../../fs/atomic.js'
import {openRegularIfExists} from '../../fs/open.js'
import type {Layout} from '../../layout.js'
import {openLayout} from '../node/open-layout.js'

/** Beside the lock file, in the layout root; RedDB ignores names starting with a dot. */
export const PRUNE_RECORD_NAME = '.redrepl-prune.json'
/** The record is a few hundred bytes; anything larger is not one and is read as absent. */
const MAX_RECORD_BYTES = 4096

export interface PruneRecord {
  /** When a prune last ran to its end (dry runs do not count); null before the first. */
  last_success_unix_ms: bigint | null
  /** Runs since then that found the layout lock held and did nothing. */
  skipped_runs: bigint
  last_skipped_unix_ms: bigint | null
  /** The lock's holder as the last skipped run found it. */
  last_skipped_holder: string | null
}

export const pruneRecordPath = (layout: Layout) => path.join(layout.root, PRUNE_RECORD_NAME)

/** The record, or null when no prune has left one (or it does not parse: a record is advice, never a reason to fail). */
export async function readPruneRecord(layout: Layout): Promise<PruneRecord | null> {
  // A link, a FIFO or an unreadable file where the record belongs is no record: redrepl wrote none there.
  const opened = await openRegularIfExists(pruneRecordPath(layout), {noFollow: true}).catch((error: unknown) => {
    if (error instanceof RedreplError) return undefined
    throw error
  })
  if (opened === undefined) return null
  try {
    if (opened.size > MAX_RECORD_BYTES) return null
    const bytes = Buffer.alloc(opened.size)
    const {bytesRead} = await opened.handle.read(bytes, 0, bytes.length, 0)
    let value: JsonValue
    try {
      value = parseJson(bytes.subarray(0, bytesRead).toString('utf8'))
    } catch {
      return null
    }
    if (!isJsonObject(value)) return null
    const moment = (v: JsonValue | undefined) => (v === null ? null : asUnsigned(v) ?? null)
    const skipped = asUnsigned(value.skipped_runs)
    if (skipped === undefined) return null
    return {
      last_success_unix_ms: moment(value.last_success_unix_ms),
      skipped_runs: skipped,
      last_skipped_unix_ms: moment(value.last_skipped_unix_ms),
      last_skipped_holder: typeof value.last_skipped_holder === 'string' ? value.last_skipped_holder : null,
    }
  } finally {
    await opened.handle.close()
  }
}

/**
 * A killed run's temp is removed by the next write; only a dead writer's,
 * because a run that found the lock held writes the record without it, and
 * may overlap with another.
 */
async function write(layout: Layout, record: PruneRecord): Promise<void> {
  await writeFileAtomic(pruneRecordPath(layout), `${stringifyJson(record)}\n`, {label: 'prune-record', clearLeftovers: 'dead-writers'})
}

/** A prune went through (under the lock): the count of skipped runs starts again. */
export async function recordPruneDone(layout: Layout, nowMs: bigint): Promise<void> {
  await write(layout, {last_success_unix_ms: nowMs, skipped_runs: 0n, last_skipped_unix_ms: null, last_skipped_holder: null})
}

/**
 * A prune found the lock held. Written without the lock (another run holds
 * it): two skipped runs at the same instant may count as one, never as none
 * and never as a success.
 */
export async function recordPruneSkipped(layout: Layout, nowMs: bigint, holder: string): Promise<void> {
  const before = await readPruneRecord(layout)
  await write(layout, {
    last_success_unix_ms: before?.last_success_unix_ms ?? null,
    skipped_runs: (before?.skipped_runs ?? 0n) + 1n,
    last_skipped_unix_ms: nowMs,
    last_skipped_holder: oneLine(holder).slice(0, 512),
  })
}

/**
 * `wal prune` under the write guard, its outcome recorded: a run that went
 * through (not a dry run) resets the count, one that found the lock held
 * adds to it and still ends with the lock error. A record that cannot be
 * written is reported through `warn` and never changes the run's outcome.
 */
export async function guardedPrune<T>(
  dataPath: string,
  options: {nowMs: bigint; dryRun: boolean; warn: (message: string) => void},
  guard: (work: (layout: Layout) => Promise<T>) => Promise<T>,
  work: (layout: Layout) => Promise<T>,
): Promise<T> {
  const recordOrWarn = async (write: () => Promise<void>) => {
    try {
      await write()
    } catch (error) {
      options.warn(`${PRUNE_RECORD_NAME}: cannot record this run for monitoring: ${(error as Error).message}`)
    }
  }
  try {
    return await guard(async (layout) => {
      const result = await work(layout)
      if (!options.dryRun) await recordOrWarn(() => recordPruneDone(layout, options.nowMs))
      return result
    })
  } catch (error) {
    if (error instanceof RedreplError && error.kind === 'locked') {
      await recordOrWarn(async () => recordPruneSkipped(await openLayout(dataPath), options.nowMs, error.message))
    }
    throw error
  }
}
