/**
 * When each node of a cluster was last seen answering (pure): the time of
 * this run for the nodes that answered, the time a previous run saw them for
 * the nodes that did not, and nothing for a node never seen. The times a
 * previous run saw are kept in a small state file per cluster
 * (ops/cluster/seen.ts).
 */

/** Node name → the last time (ms since the epoch) a run saw it answer. */
export type SeenTimes = ReadonlyMap<string, bigint>

export interface LastSeen {
  /** One per node, in the order given: null for a node never seen answering. */
  last_seen_unix_ms: Array<bigint | null>
  /** What the state file holds after this run: every node seen now or before, including nodes no longer listed. */
  next: Map<string, bigint>
  /** Whether `next` differs from what was read, i.e. the state file needs writing. */
  changed: boolean
}

export function lastSeen(nodes: ReadonlyArray<{name: string; reached: boolean}>, previous: SeenTimes, nowMs: bigint): LastSeen {
  const next = new Map(previous)
  let changed = false
  const times = nodes.map((node) => {
    if (!node.reached) return previous.get(node.name) ?? null
    // A clock set back must not make a node look seen earlier than it already was.
    const before = previous.get(node.name)
    const time = before !== undefined && before > nowMs ? before : nowMs
    if (before !== time) changed = true
    next.set(node.name, time)
    return time
  })
  return {last_seen_unix_ms: times, next, changed}
}
