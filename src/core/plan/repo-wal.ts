import type {TimelineEntry} from '../model.js'

/**
 * Pure reasoning about the WAL a repository holds: which runs of segments
 * it has per timeline, where the gaps are, and whether a backup has every
 * segment from its checkpoint on (§5: segment i covers [i×S, (i+1)×S)).
 */

export interface WalRun {
  first_index: bigint
  last_index: bigint
}

export interface TimelineWal {
  timeline: bigint
  segments: number
  runs: WalRun[]
  /** Missing indexes between runs, as [from, to] inclusive. */
  gaps: WalRun[]
  from_lsn: bigint
  /** Null when the segment size is unknown: the end of segment 0 is then not known either. */
  to_lsn: bigint | null
}

/**
 * The segment holding an LSN. With the segment size unknown (the
 * repository's facts hold none: no member ever had a segment past 0, whose
 * header alone cannot state S), every LSN the set wrote lies in segment 0.
 */
export const segmentOf = (lsn: bigint, segmentBytes: bigint | null) => (segmentBytes === null ? 0n : lsn / segmentBytes)

export function walCoverage(timeline: bigint, indexes: bigint[], segmentBytes: bigint | null): TimelineWal {
  const sorted = [...indexes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const runs: WalRun[] = []
  for (const index of sorted) {
    const last = runs.at(-1)
    if (last && index === last.last_index + 1n) last.last_index = index
    else runs.push({first_index: index, last_index: index})
  }
  const gaps = runs.slice(1).map((run, i) => ({first_index: runs[i].last_index + 1n, last_index: run.first_index - 1n}))
  return {
    timeline,
    segments: sorted.length,
    runs,
    gaps,
    from_lsn: runs.length === 0 || segmentBytes === null ? 0n : runs[0].first_index * segmentBytes,
    to_lsn: runs.length === 0 ? 0n : segmentBytes === null ? null : (runs.at(-1)!.last_index + 1n) * segmentBytes,
  }
}

/** One timeline's stretch of the WAL a catch-up from a checkpoint reads, by segment index. */
export interface WalStretch {
  timeline: bigint
  first_index: bigint
  /** Null on the current timeline: up to the newest segment archived. */
  last_index: bigint | null
}

/** The timelines from `timeline` to the current one, with the LSN at which the history leaves each; null when `timeline` is not on the current one's path. */
function pathOf(history: readonly TimelineEntry[], timeline: bigint): Array<{timeline: bigint; enters_at: bigint | null; leaves_at: bigint | null}> | null {
  if (history.length === 0) return timeline === 1n ? [{timeline: 1n, enters_at: null, leaves_at: null}] : null
  const at = history.findIndex((entry) => entry.timeline === timeline)
  if (at < 0) return null
  return history.slice(at).map((entry, k, rest) => ({timeline: entry.timeline, enters_at: k === 0 ? null : entry.fork_lsn, leaves_at: rest[k + 1]?.fork_lsn ?? null}))
}

/**
 * The WAL a node restored from a checkpoint on `timeline` replays to reach
 * the archive's head: on its own timeline from the checkpoint's segment up
 * to the segment holding the fork LSN where the history leaves it, then on
 * each later timeline from the segment holding its fork LSN on (format.md
 * §3, §5). Null when the checkpoint is not on the current timeline's path
 * (a timeline the history does not know, or a checkpoint past the fork:
 * writes the current timeline never saw).
 */
export function walStretches(history: readonly TimelineEntry[], timeline: bigint, checkpointLsn: bigint, segmentBytes: bigint | null): WalStretch[] | null {
  const path = pathOf(history, timeline)
  if (path === null) return null
  if (path[0].leaves_at !== null && checkpointLsn > path[0].leaves_at) return null
  return path.map((step) => ({
    timeline: step.timeline,
    first_index: segmentOf(step.enters_at ?? checkpointLsn, segmentBytes),
    last_index: step.leaves_at === null ? null : segmentOf(step.leaves_at, segmentBytes),
  }))
}

export type WalCompleteness = {complete: true} | {complete: false; first_missing: {timeline: bigint; index: bigint} | null; reason: string}

/**
 * Whether the archive holds every segment of `stretches` (walStretches):
 * `archived` lists each timeline's archived indexes. The current timeline's
 * stretch ends at its newest archived segment (the archive's head); every
 * stretch needs at least its first segment.
 */
export function walCompleteness(stretches: WalStretch[] | null, archived: ReadonlyMap<bigint, ReadonlySet<bigint>>): WalCompleteness {
  if (stretches === null) return {complete: false, first_missing: null, reason: 'not on the current timeline\'s path'}
  for (const stretch of stretches) {
    const held = archived.get(stretch.timeline) ?? new Set<bigint>()
    // The first segment of each stretch is needed whatever the head: a checkpoint in a segment not yet archived is not covered.
    let last = stretch.last_index ?? stretch.first_index
    if (stretch.last_index === null) for (const index of held) if (index > last) last = index
    for (let index = stretch.first_index; index <= last; index++) {
      if (!held.has(index)) return {complete: false, first_missing: {timeline: stretch.timeline, index}, reason: `segment ${index} of timeline ${stretch.timeline} is not archived`}
    }
  }
  return {complete: true}
}

/** Each timeline's archived segment indexes, from a listing. */
export function archivedIndexes(wal: ReadonlyArray<{timeline: bigint; index: bigint}>): Map<bigint, Set<bigint>> {
  const byTimeline = new Map<bigint, Set<bigint>>()
  for (const {timeline, index} of wal) {
    const set = byTimeline.get(timeline) ?? new Set<bigint>()
    set.add(index)
    byTimeline.set(timeline, set)
  }
  return byTimeline
}

/**
 * Which local WAL segments the repository does not hold yet, with the
 * reason `not archived`: `wal prune` keeps those when the node pushes to a
 * repository. `archived` is the repository's listing of this node's WAL on
 * `timeline` (index → size); a segment archived with another size (a live
 * segment pushed early) is not archived yet.
 */
export const NOT_ARCHIVED_REASON = 'not archived'

export function unarchivedSegments(local: Array<{index: bigint; bytes: bigint}>, archived: ReadonlyMap<bigint, bigint>): Array<{index: bigint; reason: typeof NOT_ARCHIVED_REASON}> {
  return local.filter((segment) => archived.get(segment.index) !== segment.bytes).map((segment) => ({index: segment.index, reason: NOT_ARCHIVED_REASON}))
}

/** Why a segment is held for the base backups on disk (`--keep-wal-for-backups`). */
export const backupHoldReason = (checkpointLsn: bigint) => `base backup (checkpoint LSN ${checkpointLsn})`

/**
 * What redrepl keeps beyond RedDB's retention rule, by segment index:
 * segments the repository does not hold yet (`archived` null: no
 * repository, nothing held), and with `backupCheckpointLsn` every segment
 * from the one holding that checkpoint on, so the base backup it names
 * (the oldest usable one) can still catch up from WAL. `not archived` wins
 * where both apply: it is the one an operator can act on (push).
 */
export function walHolds(input: {
  segments: Array<{index: bigint; bytes: bigint}>
  archived: ReadonlyMap<bigint, bigint> | null
  backupCheckpointLsn: bigint | null
  segmentBytes: bigint
}): Map<bigint, string> {
  const holds = new Map<bigint, string>()
  if (input.backupCheckpointLsn !== null) {
    const from = input.backupCheckpointLsn / input.segmentBytes
    const reason = backupHoldReason(input.backupCheckpointLsn)
    for (const segment of input.segments) if (segment.index >= from) holds.set(segment.index, reason)
  }
  if (input.archived !== null) for (const {index, reason} of unarchivedSegments(input.segments, input.archived)) holds.set(index, reason)
  return holds
}

/** Why a segment is kept while some of several repositories lack it: the names of those that do. */
export const notArchivedInReason = (names: string[]) => `not archived in ${names.join(', ')}`

/**
 * walHolds over several repositories: a segment is released only once
 * every one of them holds it with the node's size (a repository that lags
 * must not lose the WAL it has yet to receive), and the reason of one kept
 * for that names the repositories that lack it, in the order given.
 */
export function walHoldsAcross(input: {
  segments: Array<{index: bigint; bytes: bigint}>
  archived: Array<{name: string; segments: ReadonlyMap<bigint, bigint>}>
  backupCheckpointLsn: bigint | null
  segmentBytes: bigint
}): Map<bigint, string> {
  const holds = walHolds({...input, archived: null})
  const reasons = new Map<string, string>()
  for (const segment of input.segments) {
    const lacking = input.archived.filter((repo) => repo.segments.get(segment.index) !== segment.bytes).map((repo) => repo.name)
    if (lacking.length === 0) continue
    // Built once per set of names: a WAL directory can hold 100,000 segments.
    const key = lacking.join('\0')
    if (!reasons.has(key)) reasons.set(key, notArchivedInReason(lacking))
    holds.set(segment.index, reasons.get(key)!)
  }
  return holds
}
