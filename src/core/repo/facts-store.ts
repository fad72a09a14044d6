/**
 * Reading and writing a namespace's facts object (format/repo-facts.ts).
 * It is read whole, with a bound, its CRC checked as it streams; it is
 * written as one object (a put appears whole or not at all), after every
 * object it describes, so facts never speak of objects not yet stored.
 */
import {FormatError} from '../errors.js'
import {decodeRepoFacts, encodeRepoFacts, MAX_REPO_FACTS_BYTES, type RepoFacts} from '../format/repo-facts.js'
import {decodeRepoStatus, encodeRepoStatus, MAX_REPO_STATUS_BYTES, type RepoPushStatus} from '../format/repo-status.js'
import type {RepoBackend} from './backend.js'
import {checkedStream, collect, sealedChecksum} from './integrity.js'
import type {RepoInventory} from './inventory.js'
import type {RepoKeys} from './keys.js'

/** The facts of the namespace an inventory lists; null when it holds none (a new namespace, or one an older redrepl wrote). */
export async function readRepoFacts(backend: RepoBackend, inventory: RepoInventory): Promise<RepoFacts | null> {
  const key = inventory.keys.facts
  const object = inventory.objects.get(key)
  if (object === undefined) return null
  const name = backend.describe(key)
  if (object.size > MAX_REPO_FACTS_BYTES) throw new FormatError(`${object.size} bytes is larger than any facts object`, name)
  const bytes = await collect(checkedStream(backend.get(key), {kind: 'sealed', size: object.size}, name), MAX_REPO_FACTS_BYTES, name)
  try {
    return decodeRepoFacts(bytes)
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** Stores the facts (whole or not at all) and makes them durable. */
export async function writeRepoFacts(backend: RepoBackend, keys: RepoKeys, facts: RepoFacts): Promise<void> {
  const bytes = encodeRepoFacts(facts)
  const size = BigInt(bytes.length)
  await backend.put(keys.facts, () => checkedStream(once(bytes), {kind: 'sealed', size}, keys.facts), {size, checksum: sealedChecksum(bytes)})
  await backend.flush()
}

/** The namespace's push status; null when no push recorded one. A damaged one is refused by its CRC. */
export async function readRepoStatus(backend: RepoBackend, keys: RepoKeys, listing?: RepoInventory): Promise<RepoPushStatus | null> {
  const key = keys.status
  let object = listing?.objects.get(key)
  if (listing === undefined) for await (const listed of backend.list(key)) if (listed.key === key) object = listed
  if (object === undefined) return null
  const name = backend.describe(key)
  if (object.size > MAX_REPO_STATUS_BYTES) throw new FormatError(`${object.size} bytes is larger than any push status`, name)
  const bytes = await collect(checkedStream(backend.get(key), {kind: 'sealed', size: object.size}, name), MAX_REPO_STATUS_BYTES, name)
  try {
    return decodeRepoStatus(bytes)
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

export async function writeRepoStatus(backend: RepoBackend, keys: RepoKeys, status: RepoPushStatus): Promise<void> {
  const bytes = encodeRepoStatus(status)
  const size = BigInt(bytes.length)
  await backend.put(keys.status, () => checkedStream(once(bytes), {kind: 'sealed', size}, keys.status), {size, checksum: sealedChecksum(bytes)})
  await backend.flush()
}
