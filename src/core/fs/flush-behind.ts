import type {FileHandle} from 'node:fs/promises'

/** Dirty bytes after which a flush of a file being streamed is started. */
export const FLUSH_BEHIND_BYTES = 64 * 1024 * 1024

/**
 * Starts an fdatasync of a file being streamed every `everyBytes` written,
 * one at a time, without waiting for it: the disk writes back what is
 * already written while the next pieces are copied, so the final fsync
 * has only the tail left instead of the whole file. (Linux starts its own
 * write-back only past dirty_background_ratio of memory, which a multi-GB
 * restore on a large machine may never reach.)
 */
export class FlushBehind {
  private unflushed = 0
  private inFlight: Promise<void> | undefined
  private failure: unknown

  constructor(
    private readonly handle: FileHandle,
    private readonly everyBytes = FLUSH_BEHIND_BYTES,
  ) {}

  /** Notes `bytes` more written; throws the error of an earlier flush, if one failed. */
  wrote(bytes: number): void {
    if (this.failure !== undefined) throw this.failure
    this.unflushed += bytes
    if (this.unflushed < this.everyBytes || this.inFlight !== undefined) return
    this.unflushed = 0
    this.inFlight = this.handle.datasync().then(
      () => {
        this.inFlight = undefined
      },
      (error: unknown) => {
        this.failure = error
        this.inFlight = undefined
      },
    )
  }

  /** Waits for the flush in flight; the caller's own fsync makes the file durable. */
  async settle(): Promise<void> {
    await this.inFlight
    if (this.failure !== undefined) throw this.failure
  }
}
