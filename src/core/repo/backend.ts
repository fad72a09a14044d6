/**
 * The seam between the repository operations and where objects live: a
 * local directory (repo/local.ts) or an S3-compatible store (repo/s3.ts).
 * Keys are logical, `/`-separated and checked by repo/keys.ts; a backend
 * never sees a key that could leave its root.
 */

export interface RepoObject {
  key: string
  size: bigint
  /** When the object was written, as the store reports it. */
  modified_unix_ms: bigint
}

export interface PutOptions {
  size: bigint
  /** The object's CRC-32 as RedDB's own files record it; `body` throws before it ends when the bytes disagree. */
  checksum: number
  /**
   * The local file `body` reads, already open. A store on this machine that
   * keeps objects as they are may copy it inside the kernel instead of
   * taking the body, and then must pass its stored copy through `check`
   * (the body's own checks), which throws before the object may take its
   * key. A store that transforms or paces the bytes drops it (`bodyOnly`).
   */
  localSource?: {fd: number; check: (stored: number) => Promise<void>}
}

/** The options without a local source, for a store that must take the body itself. */
export function bodyOnly({localSource: _, ...options}: PutOptions): PutOptions {
  return options
}

export interface RepoBackend {
  /** The repository as the operator named it (a directory, `s3://bucket/prefix`). */
  readonly location: string
  /**
   * Transfers to run at once when the operator does not say (--jobs): a
   * directory's copy waits mostly on fsync, so more in flight hide it; an
   * S3 transfer holds part buffers, so fewer keep memory bounded.
   */
  readonly defaultJobs: number
  /** Where a key lives, for messages (a path, an s3:// URL). */
  describe(key: string): string
  stat(key: string): Promise<{size: bigint} | null>
  list(prefix: string): AsyncIterable<RepoObject>
  get(key: string): AsyncIterable<Uint8Array>
  /**
   * `length` bytes of an object from `offset`, without reading the rest
   * (a pread, a ranged GET), or fewer when the object ends first (the
   * caller checks the size). Optional: without it, readRange reads the
   * object from its start and drops the bytes before `offset`.
   */
  getRange?(key: string, offset: bigint, length: bigint): AsyncIterable<Uint8Array>
  /**
   * Stores an object so that it appears whole or not at all. `body` returns
   * a fresh stream each call, so a retry can start again; if it throws, no
   * object is left under `key`. A piece of the body is lent, not given: it
   * is valid until the next piece is asked for (the source reads into one
   * buffer), so a backend that keeps pieces longer copies them (`owned`).
   */
  put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void>
  /**
   * Makes every object put so far durable under its key. A put returns with
   * its object whole, but a store may leave its name to be made durable
   * here, for many objects at once; a caller whose next step counts on
   * objects being there after a crash flushes first.
   */
  flush(): Promise<void>
  delete(key: string): Promise<void>
  close(): Promise<void>
  /**
   * The CRC recorded with the object when it was stored (`PutOptions.checksum`:
   * RedDB's CRC of the logical bytes), without reading it; null when the
   * store keeps none for this object. Optional: a store without it is read.
   */
  checksum?(key: string): Promise<number | null>
  /**
   * The plain file on this machine that holds an object's bytes as they
   * are (a directory repository, uncompressed), so a reader can read it
   * like a local file; undefined where there is none.
   */
  localFile?(key: string): string | undefined
  /**
   * Removes (or, dry, counts) the temp files that dead writers left under
   * `prefix`: a store whose puts can be cut short leaving one (a directory,
   * see repo/local.ts); absent where a put leaves nothing behind.
   */
  sweepDeadTemps?(prefix: string, options: {nowMs: bigint; graceMs: bigint; dryRun: boolean}): Promise<TempSweep>
}

/**
 * How long a temp file must have gone unwritten before a sweep takes its
 * writer for dead when its pid cannot be checked (another host shares the
 * directory). A live writer writes its temp as it goes, so a day without
 * a write is no transfer in progress.
 */
export const DEAD_TEMP_GRACE_MS = 24n * 60n * 60n * 1000n

/** What a temp sweep removed (or, dry, would remove). */
export interface TempSweep {
  count: number
  bytes: bigint
}

/** A body whose pieces the consumer may keep: each lent piece copied (see RepoBackend.put). */
export async function* owned(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of pieces) yield Uint8Array.prototype.slice.call(piece)
}

/** A range of an object: the store's own ranged read where it has one, else the object read from its start with the bytes before the range dropped. */
export async function* readRange(backend: RepoBackend, key: string, offset: bigint, length: bigint): AsyncGenerator<Uint8Array> {
  if (backend.getRange !== undefined) {
    yield* backend.getRange(key, offset, length)
    return
  }
  let at = 0n
  const end = offset + length
  for await (const piece of backend.get(key)) {
    const from = at
    at += BigInt(piece.length)
    if (at <= offset) continue
    yield piece.subarray(Number(from < offset ? offset - from : 0n), Number((at > end ? end : at) - from))
    if (at >= end) return
  }
}
