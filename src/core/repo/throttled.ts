import {createPace, type Pace} from '../fs/pace.js'
import {bodyOnly, wrapperCapabilities, type PutOptions, type RepoBackend} from './backend.js'

/**
 * `--max-rate` for repository transfers: a backend with the same interface
 * whose object bodies, both ways, pass through one token bucket
 * (fs/pace.ts), so the bytes every transfer of the run moves together stay
 * within the rate, however many run at once.
 */
export function throttledBackend(inner: RepoBackend, maxRate: number, signal?: AbortSignal): RepoBackend {
  const pace = createPace({maxRate, signal})
  return {
    location: inner.location,
    defaultJobs: inner.defaultJobs,
    // Paced bytes pass through this process: neither a kernel copy nor a reader of the store's own files would keep to the pace.
    capabilities: wrapperCapabilities(inner.capabilities, ['kernelCopy', 'localFile']),
    describe: (key) => inner.describe(key),
    stat: (key) => inner.stat(key),
    checksum: (key) => inner.checksum(key),
    localFile: () => undefined,
    list: (prefix) => inner.list(prefix),
    get: (key) => paced(inner.get(key), pace),
    getRange: inner.getRange && ((key, offset, length) => paced(inner.getRange!(key, offset, length), pace)),
    put: (key, body, options: PutOptions) => inner.put(key, () => paced(body(), pace), bodyOnly(options)),
    flush: () => inner.flush(),
    sweepDeadTemps: (prefix, options) => inner.sweepDeadTemps(prefix, options),
    delete: (key) => inner.delete(key),
    close: () => inner.close(),
  }
}

async function* paced(pieces: AsyncIterable<Uint8Array>, pace: Pace): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) {
    await pace.pass(piece.length)
    yield piece
  }
}
