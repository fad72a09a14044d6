/**
 * What every `repo` command knows of a namespace before it acts: one
 * listing, the facts object (format/repo-facts.ts) and the segment size and
 * history taken from it, never from a default. A namespace an older
 * redrepl wrote has no facts object; its facts are then read from what it
 * holds (one archived segment's header states S, format.md §5; the history
 * object), so old repositories stay readable and nothing is guessed.
 */
import {FormatError, refused} from '../../errors.js'
import {factsHistory, type RepoFacts} from '../../format/repo-facts.js'
import {decodeWalSegmentHeader, effectiveSegmentBytes, MIN_SEGMENT_BYTES, WAL_SEGMENT_HEADER_BYTES} from '../../format/wal-segment.js'
import {currentTimeline, timelineHistoryCodec} from '../../format/timeline-history.js'
import type {TimelineEntry} from '../../model.js'
import {factsSegmentBytes} from '../../plan/repo-facts.js'
import type {RepoBackend} from '../../repo/backend.js'
import {readRepoFacts} from '../../repo/facts-store.js'
import {checkedStream, collect} from '../../repo/integrity.js'
import {readInventory, type RepoInventory, type RepoWalEntry} from '../../repo/inventory.js'
import {RepoKeys} from '../../repo/keys.js'

export type SegmentBytesSource = 'repository' | 'headers' | 'flag' | 'unknown'

export interface RepoBasis {
  keys: RepoKeys
  inventory: RepoInventory
  facts: RepoFacts | null
  /** Null when unknown: no member ever had a segment past 0, so every LSN lies in segment 0. */
  segment_bytes: bigint | null
  segment_bytes_source: SegmentBytesSource
  history: TimelineEntry[]
  current_timeline: bigint
}

/** Lists the namespace and reads its facts; `requestedSegmentBytes` (a flag) is refused when the repository says otherwise. */
export async function readRepoBasis(backend: RepoBackend, node: string, requestedSegmentBytes?: bigint): Promise<RepoBasis> {
  // RedDB raises a configured size below 1 MiB to 1 MiB: the flag means what RedDB would make of it.
  if (requestedSegmentBytes !== undefined) requestedSegmentBytes = effectiveSegmentBytes(requestedSegmentBytes)
  const keys = new RepoKeys(node)
  const inventory = await readInventory(backend, keys)
  const facts = await readRepoFacts(backend, inventory)
  const where = backend.describe(keys.facts)
  let size = factsSegmentBytes(facts, requestedSegmentBytes, where)
  let source: SegmentBytesSource = 'unknown'
  // Without facts (an older redrepl), an archived header states S all the same, and outranks a flag.
  if (facts === null) {
    const fromHeaders = await segmentBytesFromArchive(backend, inventory)
    if (fromHeaders !== null) {
      if (requestedSegmentBytes !== undefined && requestedSegmentBytes !== fromHeaders.bytes) {
        throw refused(`${backend.describe(fromHeaders.key)}: the archived segment's header says the segment size is ${fromHeaders.bytes}, not ${requestedSegmentBytes}`, {
          code: 'repo.facts-conflict',
          hint: 'leave out --segment-bytes: the repository knows the size',
        })
      }
      size = {segment_bytes: fromHeaders.bytes, source: 'repository'}
      source = 'headers'
    }
  }
  if (!('unknown' in size) && source === 'unknown') source = size.source
  const history = facts !== null ? facts.history : await historyFromArchive(backend, inventory)
  return {
    keys,
    inventory,
    facts,
    segment_bytes: 'unknown' in size ? null : size.segment_bytes,
    segment_bytes_source: source,
    history,
    current_timeline: currentTimeline(facts !== null ? factsHistory(facts) : history.length === 0 ? null : {entries: history}),
  }
}

/** S from the header of the lowest archived segment past 0 (one small read); null when there is none. */
async function segmentBytesFromArchive(backend: RepoBackend, inventory: RepoInventory): Promise<{bytes: bigint; key: string} | null> {
  const candidate = inventory.wal.filter((w) => w.index > 0n).sort((a, b) => (a.index < b.index ? -1 : 1))[0]
  if (candidate === undefined) return null
  const header = await readArchivedHeader(backend, candidate)
  const name = backend.describe(candidate.key)
  if (header.segment_index !== candidate.index || header.start_lsn % candidate.index !== 0n || header.start_lsn / candidate.index < MIN_SEGMENT_BYTES) {
    throw new FormatError(`its header (segment ${header.segment_index}, start LSN ${header.start_lsn}) does not state a segment size for segment ${candidate.index}`, name)
  }
  return {bytes: header.start_lsn / candidate.index, key: candidate.key}
}

/** The header of an archived segment, from the first bytes of the object (the rest is not read). */
export async function readArchivedHeader(backend: RepoBackend, entry: RepoWalEntry) {
  const name = backend.describe(entry.key)
  const head = new Uint8Array(WAL_SEGMENT_HEADER_BYTES)
  let filled = 0
  for await (const piece of backend.get(entry.key)) {
    const take = Math.min(piece.length, head.length - filled)
    head.set(piece.subarray(0, take), filled)
    filled += take
    if (filled === head.length) break
  }
  try {
    return decodeWalSegmentHeader(head.subarray(0, filled))
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

async function historyFromArchive(backend: RepoBackend, inventory: RepoInventory): Promise<TimelineEntry[]> {
  if (inventory.history === null) return []
  const name = backend.describe(inventory.keys.history)
  const bytes = await collect(checkedStream(backend.get(inventory.keys.history), {kind: 'sealed', size: inventory.history.size}, name), 16n * 1024n * 1024n, name)
  try {
    return timelineHistoryCodec.decode(bytes, {nowMs: 0n}).entries
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}
