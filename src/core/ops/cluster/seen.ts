import path from 'node:path'

import {isJsonObject, parseJson, stringifyJson, asUnsigned, JsonSyntaxError} from '../../codec/json.js'
import {RedreplError} from '../../errors.js'
import {mkdirDurable, writeFileAtomic} from '../../fs/atomic.js'
import {readBoundedIfExists} from '../../fs/open.js'
import type {SeenTimes} from '../../plan/cluster-seen.js'

/**
 * The state file `cluster status` keeps per cluster in its state directory,
 * `cluster-<name>.json`: when each node was last seen answering, so a node
 * that stops answering is shown with the last time it did. Read under a
 * size cap and never through a symbolic link (a link planted there could
 * make redrepl read, then replace, a file it does not own); written
 * atomically. A file that is not this document is refused, not reset, so a
 * mistaken --state-dir never overwrites someone else's file.
 */

const SCHEMA = 'redrepl.cluster-seen/1'

/** Far above what any inventory needs (about 60 bytes a node). */
export const MAX_SEEN_FILE_BYTES = 1 << 20

/** The cluster's file in `stateDir`; the name is escaped so any cluster name stays one file name there. */
export function seenFilePath(stateDir: string, cluster: string): string {
  return path.join(stateDir, `cluster-${encodeURIComponent(cluster)}.json`)
}

const bad = (file: string, what: string) => new RedreplError('corrupt', `${file}: not a cluster state file: ${what}`, {hint: 'remove it, or point --state-dir elsewhere'})

/** The times a previous run saw each node; empty when the file does not exist. */
export async function readSeenTimes(file: string, cluster: string): Promise<Map<string, bigint>> {
  const bytes = await readBoundedIfExists(file, MAX_SEEN_FILE_BYTES, 'cluster state file', {noFollow: true})
  if (bytes === undefined) return new Map()
  let document
  try {
    document = parseJson(new TextDecoder('utf-8', {fatal: true}).decode(bytes))
  } catch (error) {
    if (error instanceof JsonSyntaxError || error instanceof TypeError) throw bad(file, `not JSON (${(error as Error).message})`)
    throw error
  }
  if (!isJsonObject(document) || document.schema !== SCHEMA) throw bad(file, `schema is not "${SCHEMA}"`)
  if (document.cluster !== cluster) throw bad(file, `it is the state of cluster ${JSON.stringify(document.cluster ?? null)}, not ${JSON.stringify(cluster)}`)
  const nodes = document.nodes
  if (!isJsonObject(nodes)) throw bad(file, 'nodes is not an object')
  const times = new Map<string, bigint>()
  for (const [name, entry] of Object.entries(nodes)) {
    const time = isJsonObject(entry) ? asUnsigned(entry.last_seen_unix_ms) : undefined
    if (time === undefined) throw bad(file, `nodes.${name}.last_seen_unix_ms is not an unsigned integer`)
    times.set(name, time)
  }
  return times
}

export async function writeSeenTimes(file: string, cluster: string, times: SeenTimes): Promise<void> {
  const nodes = Object.fromEntries([...times].map(([name, time]) => [name, {last_seen_unix_ms: time}]))
  await mkdirDurable(path.dirname(file))
  await writeFileAtomic(file, `${stringifyJson({schema: SCHEMA, cluster, nodes})}\n`, {label: 'cluster-seen', clearLeftovers: 'dead-writers'})
}
