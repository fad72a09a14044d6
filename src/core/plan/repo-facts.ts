/**
 * Whether a node belongs to the replica set whose namespace it pushes to,
 * and the facts the namespace holds once it has pushed. Pure: the facts the
 * repository holds and what the node's files show go in; new facts or a
 * refusal come out.
 *
 * RedDB has no system identifier, so a replica set is what its files pin
 * together: one WAL segment size (format.md §5: it never changes for a
 * node's life), one timeline history that only ever grows at its end (§3: a
 * promotion appends an entry with its fork LSN and creation time, so two
 * independent promotions never produce equal entries), and WAL segments
 * whose bytes agree where two members hold the same one (checked by CRC in
 * repo push). Two members of one set always satisfy these; a node of
 * another set, or of the same set after a split brain, breaks one as soon
 * as its files differ, and is refused before it writes.
 */
import {refused} from '../errors.js'
import {RELEASES} from '../format/embedded-rdb.js'
import type {FactsWriter, RepoFacts} from '../format/repo-facts.js'
import type {RedDBRelease, TimelineEntry} from '../model.js'

/** What a node's files show, read by repo push. */
export interface NodeFacts {
  segment_bytes: bigint | null
  segment_bytes_from: {timeline: bigint; index: bigint} | null
  /** null: no database at the data path to tell. */
  rdb_release: RedDBRelease | null
  /** Empty when the node has no history file (timeline 1). */
  history: TimelineEntry[]
  writer: FactsWriter
}

const describeEntry = (entry: TimelineEntry | undefined) =>
  entry === undefined ? 'no such entry' : entry.parent_timeline === null ? `timeline ${entry.timeline} (initial, created ${entry.created_at_unix_ms})` : `timeline ${entry.timeline} forked from ${entry.parent_timeline} at LSN ${entry.fork_lsn} (${entry.reason}, created ${entry.created_at_unix_ms})`

const sameEntry = (a: TimelineEntry, b: TimelineEntry) =>
  a.timeline === b.timeline && a.parent_timeline === b.parent_timeline && a.fork_lsn === b.fork_lsn && a.created_at_unix_ms === b.created_at_unix_ms && a.reason === b.reason

const currentOf = (history: TimelineEntry[]) => history.at(-1)?.timeline ?? 1n

/** Who the repository's facts come from, for messages. */
export const writerOf = (facts: RepoFacts) => `last pushed by ${facts.last_writer.host}:${facts.last_writer.data_path} on timeline ${facts.last_writer.timeline}`

export type HistoryRelation = {kind: 'same'} | {kind: 'ahead'} | {kind: 'behind'; next: TimelineEntry} | {kind: 'forked'; at: number}

/**
 * How a node's history stands to the repository's: the same, ahead (the
 * repository's is a prefix of it: a failover the repository has not heard
 * of), behind (the node's is a prefix: the set moved on without it), or
 * forked (they differ at entry `at`: two promotions, a split brain, or
 * another replica set). An empty history is timeline 1's, a prefix of every
 * history.
 */
export function historyRelation(repository: TimelineEntry[], node: TimelineEntry[]): HistoryRelation {
  const shared = Math.min(repository.length, node.length)
  for (let i = 0; i < shared; i++) if (!sameEntry(repository[i], node[i])) return {kind: 'forked', at: i}
  if (node.length > repository.length) return {kind: 'ahead'}
  // A node with no history file is on timeline 1; the repository's initial entry alone leaves it there.
  if (currentOf(node) === currentOf(repository)) return {kind: 'same'}
  return {kind: 'behind', next: repository[node.length === 0 ? 1 : node.length]}
}

/**
 * The facts after `node` pushes to a namespace holding `existing` (null: a
 * new namespace, or one an older redrepl wrote). Throws `refused` (exit 4)
 * when the node contradicts them, naming both sides.
 */
export function mergeRepoFacts(existing: RepoFacts | null, node: NodeFacts, namespace: string, where: string): RepoFacts {
  const nodeSide = `this node (${node.writer.data_path}, timeline ${node.writer.timeline})`
  if (existing !== null) {
    const repoSide = `the repository (${writerOf(existing)})`
    if (existing.namespace !== namespace) {
      throw refused(`${where}: the facts object names namespace ${existing.namespace}, not ${namespace}: it was copied from another namespace`, {code: 'repo.identity', hint: 'restore the namespace\'s own facts object, or push to a new namespace'})
    }
    if (existing.segment_bytes !== null && node.segment_bytes !== null && existing.segment_bytes !== node.segment_bytes) {
      const r = existing.segment_bytes_from!
      const n = node.segment_bytes_from!
      throw refused(
        `${where}: ${repoSide} has WAL segments of ${existing.segment_bytes} bytes (segment ${r.index} of timeline ${r.timeline}); ${nodeSide} has ${node.segment_bytes} (segment ${n.index} of timeline ${n.timeline}): not one replica set`,
        {code: 'repo.identity', hint: 'push each replica set to its own namespace (--cluster NAME)'},
      )
    }
    const relation = historyRelation(existing.history, node.history)
    if (relation.kind === 'forked') {
      throw refused(
        `${where}: the timeline histories fork: ${repoSide} has ${describeEntry(existing.history[relation.at])}, ${nodeSide} has ${describeEntry(node.history[relation.at])}: a split brain or another replica set; nothing was pushed`,
        {code: 'repo.identity', hint: 'rejoin this node to the current primary, or push another replica set to its own namespace (--cluster NAME)'},
      )
    }
    if (relation.kind === 'behind') {
      throw refused(
        `${where}: ${nodeSide} is on timeline ${currentOf(node.history)}, which the replica set left at LSN ${relation.next.fork_lsn} for timeline ${relation.next.timeline} (${relation.next.reason}; ${repoSide}): a former primary cannot write the current timeline's archive; nothing was pushed`,
        {code: 'repo.timeline-behind', hint: 'rejoin this node (redrepl rejoin plan), then push from the current primary'},
      )
    }
  }
  const release = newerRelease(existing?.rdb_release ?? null, node.rdb_release)
  const sizeKnown = existing?.segment_bytes ?? null
  return {
    namespace,
    segment_bytes: sizeKnown ?? node.segment_bytes,
    segment_bytes_from: sizeKnown !== null ? existing!.segment_bytes_from : node.segment_bytes_from,
    rdb_release: release,
    history: node.history.length >= (existing?.history.length ?? 0) ? node.history : existing!.history,
    created_unix_ms: existing?.created_unix_ms ?? node.writer.unix_ms,
    updated_unix_ms: node.writer.unix_ms,
    last_writer: node.writer,
    live_segment: existing?.live_segment ?? null,
  }
}

/**
 * A replica set that has run RedDB 1.23 stays a 1.23 set: a member whose
 * file shows only layout-1 superblocks proves nothing (1.23 reads format 1
 * and leaves it so until it appends), and forgetting 1.23 would let a
 * restore write format 1, which 1.23.2 wrecks at its first checkpoint.
 */
export function newerRelease(a: RedDBRelease | null, b: RedDBRelease | null): RedDBRelease | null {
  if (a === null) return b
  if (b === null) return a
  return RELEASES[a].writes >= RELEASES[b].writes ? a : b
}

/** The segment size a repository command works with: the facts', a flag only where they say nothing. */
export function factsSegmentBytes(facts: RepoFacts | null, requested: bigint | undefined, where: string): {segment_bytes: bigint; source: 'repository' | 'flag'} | {unknown: true} {
  if (facts?.segment_bytes != null) {
    if (requested !== undefined && requested !== facts.segment_bytes) {
      const from = facts.segment_bytes_from!
      throw refused(`${where}: the repository records WAL segments of ${facts.segment_bytes} bytes (from the header of segment ${from.index} of timeline ${from.timeline}), not ${requested}`, {
        code: 'repo.facts-conflict',
        hint: 'leave out --segment-bytes: the repository knows the size',
      })
    }
    return {segment_bytes: facts.segment_bytes, source: 'repository'}
  }
  return requested === undefined ? {unknown: true} : {segment_bytes: requested, source: 'flag'}
}
