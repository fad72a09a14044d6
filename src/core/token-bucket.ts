/**
 * The rate limit of `--max-rate`, as a token bucket that never reads the
 * clock: the caller passes the time. Tokens are bytes; they accrue at
 * `bytesPerSecond` up to `burstBytes`, and taking more than the bucket holds
 * runs it into debt that the caller waits off, so over any stretch longer
 * than the burst the bytes passed stay within the rate. It starts empty,
 * so even a short run does not exceed the limit.
 */
export class TokenBucket {
  private tokens = 0
  private lastMs: number

  constructor(
    private readonly bytesPerSecond: number,
    private readonly burstBytes: number,
    startMs: number,
  ) {
    if (!(bytesPerSecond > 0) || !(burstBytes > 0)) throw new RangeError('a token bucket needs a positive rate and burst')
    this.lastMs = startMs
  }

  /** Takes `bytes` at time `nowMs`; returns how many ms to wait before passing them on (0: at once). */
  take(bytes: number, nowMs: number): number {
    // A clock that steps back gives nothing and takes nothing away.
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burstBytes, this.tokens + ((nowMs - this.lastMs) * this.bytesPerSecond) / 1000)
      this.lastMs = nowMs
    }
    this.tokens -= bytes
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.bytesPerSecond
  }
}
