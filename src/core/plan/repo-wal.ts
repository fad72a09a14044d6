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
  to_lsn: bigint
}

export function walCoverage(timeline: bigint, indexes: bigint[], segmentBytes: bigint): TimelineWal {
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
    from_lsn: runs.length === 0 ? 0n : runs[0].first_index * segmentBytes,
    to_lsn: runs.length === 0 ? 0n : (runs.at(-1)!.last_index + 1n) * segmentBytes,
  }
}

/** Whether the archived WAL runs without a gap from the segment holding `checkpointLsn` to the newest archived one. */
export function walCoveredFrom(coverage: TimelineWal | undefined, checkpointLsn: bigint, segmentBytes: bigint): boolean {
  if (!coverage || coverage.runs.length === 0) return false
  const last = coverage.runs.at(-1)!
  const needed = checkpointLsn / segmentBytes
  return needed >= last.first_index && needed <= last.last_index
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
