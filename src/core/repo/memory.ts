import {StoreError, noTemps, type PutOptions, type RepoBackend, type RepoObject, type StoreCapabilities, type TempSweep} from './backend.js'
import {checkKey} from './keys.js'

/**
 * A repository held in this process's memory: the store the backend test
 * suite runs beside the directory and S3 ones, with their semantics: a put
 * appears whole or not at all, a listing is sorted by key with sizes and
 * times, a missing object is `not-found`, and a delete of one is no error.
 * It keeps the CRC given at put, as S3 keeps it in metadata. Bounded: a put
 * that would take the store past `maxBytes` is refused as soon as its bytes
 * pass the cap, so a runaway body cannot take the process's memory.
 */

export interface MemoryOptions {
  /** The bytes every object together may hold (default 64 MiB). */
  maxBytes?: number
  /** The time an object is stamped with when its put completes (default: the wall clock). */
  now?: () => bigint
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
/** Pieces a read hands out, so a consumer meets piece boundaries as it does with the other stores. */
const READ_PIECE_BYTES = 64 * 1024

interface Held {
  bytes: Uint8Array
  checksum: number
  modified_unix_ms: bigint
}

export class MemoryBackend implements RepoBackend {
  readonly defaultJobs = 4
  readonly capabilities: StoreCapabilities = {localFile: false, storedChecksum: true, deadTempSweep: false, durableFlush: false, kernelCopy: false}
  private readonly objects = new Map<string, Held>()
  private readonly maxBytes: number
  private readonly now: () => bigint
  /** Bytes of every stored object, plus those of puts in flight (reserved as they arrive). */
  private used = 0

  constructor(
    readonly name = 'memory',
    options: MemoryOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
    this.now = options.now ?? (() => BigInt(Date.now()))
  }

  get location(): string {
    return `mem://${this.name}/`
  }

  describe(key: string): string {
    return `${this.location}${checkKey(key)}`
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    const held = this.objects.get(checkKey(key))
    return held === undefined ? null : {size: BigInt(held.bytes.length)}
  }

  async *list(prefix: string): AsyncIterable<RepoObject> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort()
    for (const key of keys) {
      const held = this.objects.get(key)
      // Deleted while the listing was handed out: a listing is of what is there as each key is reached.
      if (held !== undefined) yield {key, size: BigInt(held.bytes.length), modified_unix_ms: held.modified_unix_ms}
    }
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    const held = this.objects.get(checkKey(key))
    if (held === undefined) throw new StoreError('not-found', `${this.describe(key)}: no such object`, 'not-found')
    // Stored bytes are never changed in place (a put replaces the whole entry), so views of them can be handed out.
    for (let at = 0; at < held.bytes.length; at += READ_PIECE_BYTES) yield held.bytes.subarray(at, at + READ_PIECE_BYTES)
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const name = checkKey(key)
    const pieces: Uint8Array[] = []
    let size = 0
    try {
      for await (const piece of body()) {
        if (this.used + piece.length > this.maxBytes) {
          throw new StoreError('failure', `${this.describe(key)}: the store would hold more than its ${this.maxBytes} bytes`, 'other', {code: 'repo.store-full'})
        }
        this.used += piece.length
        size += piece.length
        // A piece is lent (RepoBackend.put): kept, it is copied.
        pieces.push(Uint8Array.prototype.slice.call(piece))
      }
    } catch (error) {
      this.used -= size
      throw error
    }
    const bytes = new Uint8Array(size)
    let at = 0
    for (const piece of pieces) {
      bytes.set(piece, at)
      at += piece.length
    }
    const previous = this.objects.get(name)
    if (previous !== undefined) this.used -= previous.bytes.length
    this.objects.set(name, {bytes, checksum: options.checksum, modified_unix_ms: this.now()})
  }

  async checksum(key: string): Promise<number | null> {
    return this.objects.get(checkKey(key))?.checksum ?? null
  }

  localFile(): undefined {
    return undefined
  }

  /** An object is in place when its put returns; nothing waits for a flush. */
  async flush(): Promise<void> {}

  async delete(key: string): Promise<void> {
    const name = checkKey(key)
    const held = this.objects.get(name)
    if (held === undefined) return
    this.objects.delete(name)
    this.used -= held.bytes.length
  }

  /** A put cut short leaves nothing behind. */
  async sweepDeadTemps(): Promise<TempSweep> {
    return noTemps()
  }

  /** The bytes held: every stored object and the puts in flight, which the cap bounds. */
  get storedBytes(): number {
    return this.used
  }

  async close(): Promise<void> {}
}
