/**
 * The seam between the repository operations and where objects live: a
 * local directory (repo/local.ts) or an S3-compatible store (repo/s3.ts).
 * Keys are logical, `/`-separated and checked by repo/keys.ts; a backend
 * never sees a key that could leave its root.
 */
import {FormatError, RedreplError, type ErrorDetails, type ErrorKind} from '../errors.js'

/**
 * What a store makes of its own failure, so that a caller deciding "absent"
 * or "try again later" asks the store instead of reading its message:
 * `not-found`, the object (not the store) is not there; `permission`, the
 * store refuses who we are; `transient`, it may pass on its own (a timeout,
 * a reset, a store that is busy); `corrupt`, bytes that cannot be right;
 * `other`, anything else, a missing bucket included.
 */
export type StoreFault = 'not-found' | 'permission' | 'transient' | 'corrupt' | 'other'

/** A failure raised by a store, carrying the store's own classification beside the kind that sets the exit code. */
export class StoreError extends RedreplError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly fault: StoreFault,
    details: ErrorDetails = {},
  ) {
    super(kind, message, details)
    this.name = 'StoreError'
  }

  /** The same failure with its message rewritten (a path told another way). */
  withMessage(message: string): StoreError {
    return new StoreError(this.kind, message, this.fault, {code: this.code, hint: this.hint})
  }
}

/** How a store classified a failure; bytes that fail a check are corrupt wherever they were read; anything no store raised is `other`. */
export function faultOf(error: unknown): StoreFault {
  if (error instanceof StoreError) return error.fault
  if (error instanceof FormatError) return 'corrupt'
  return 'other'
}

/** Whether a read failed only because the object is not there. */
export const isAbsent = (error: unknown): boolean => faultOf(error) === 'not-found'

/** A store's failure as a StoreError classified `fault`, its kind, message, code and hint kept. */
export function classified(error: unknown, fault: StoreFault): unknown {
  // Only a plain RedreplError: its subclasses (an interruption, a format error, a store's own) are told apart by their class.
  if (!(error instanceof RedreplError) || error.constructor !== RedreplError) return error
  return new StoreError(error.kind, error.message, fault, {code: error.code, hint: error.hint})
}

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
   * The local file `body` reads, already open; given only to a store that
   * declares `kernelCopy`. Such a store may copy it inside the kernel
   * instead of taking the body, and then must pass its stored copy through
   * `check` (the body's own checks), which throws before the object may
   * take its key. A wrapper that transforms or paces the bytes drops it
   * (`bodyOnly`) and declares no `kernelCopy`.
   */
  localSource?: {fd: number; check: (stored: number) => Promise<void>}
}

/** The options without a local source, for a store that must take the body itself. */
export function bodyOnly({localSource: _, ...options}: PutOptions): PutOptions {
  return options
}

/**
 * What a store can do beyond the common calls, declared once so that a
 * caller asks a flag instead of probing for a method, and each wrapper
 * says which it passes through (wrapperCapabilities).
 */
export interface StoreCapabilities {
  /** Objects stored as they are may be plain files on this machine: `localFile` answers for each key. */
  localFile: boolean
  /** The store keeps the CRC given at put beside the object: `checksum` reads it without the body. */
  storedChecksum: boolean
  /** A put cut short may leave a temp file behind: `sweepDeadTemps` removes those of dead writers. */
  deadTempSweep: boolean
  /** A put may leave its name to be made durable by `flush`; without it, an object is durable when its put returns. */
  durableFlush: boolean
  /** `put` may copy `PutOptions.localSource` inside the kernel instead of taking the body. */
  kernelCopy: boolean
}

/**
 * What a wrapper over `inner` declares: each capability passed through
 * unless the wrapper takes it away (`removes`), since a wrapper that
 * changes the bytes cannot hand a caller the store's own file or copy.
 */
export function wrapperCapabilities(inner: StoreCapabilities, removes: ReadonlyArray<keyof StoreCapabilities> = []): StoreCapabilities {
  const out = {...inner}
  for (const name of removes) out[name] = false
  return out
}

/** A sweep that found nothing: what a store without `deadTempSweep` reports. */
export const noTemps = (): TempSweep => ({count: 0, bytes: 0n})

export interface RepoBackend {
  /** The repository as the operator named it (a directory, `s3://bucket/prefix`). */
  readonly location: string
  /** What the store can do beyond the common calls (StoreCapabilities). */
  readonly capabilities: StoreCapabilities
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
   * store keeps none for this object, and always without `storedChecksum`.
   */
  checksum(key: string): Promise<number | null>
  /**
   * The plain file on this machine that holds an object's bytes as they
   * are (a directory repository, uncompressed), so a reader can read it
   * like a local file; undefined where there is none, and always without
   * the `localFile` capability.
   */
  localFile(key: string): string | undefined
  /**
   * Removes (or, dry, counts) the temp files that dead writers left under
   * `prefix` (a directory, see repo/local.ts); nothing without the
   * `deadTempSweep` capability, where a put leaves nothing behind.
   */
  sweepDeadTemps(prefix: string, options: {nowMs: bigint; graceMs: bigint; dryRun: boolean}): Promise<TempSweep>
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
