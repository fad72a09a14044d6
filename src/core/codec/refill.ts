/**
 * A fixed buffer a stream is poured into piece by piece, for a reader that
 * takes whole units (frames) from its front: bytes are copied in as far as
 * they fit, and what the reader used is dropped by moving the rest to the
 * front. It never grows, so a reader's memory is bounded by its size
 * whatever the stream holds.
 */
export class RefillBuffer {
  /** How many bytes at the front of `bytes` are held. */
  held = 0

  constructor(readonly bytes: Buffer) {}

  /** Copies what fits of `piece` from offset `at` on; returns the offset the next copy starts at. */
  fill(piece: Uint8Array, at: number): number {
    const take = Math.min(piece.length - at, this.bytes.length - this.held)
    this.bytes.set(piece.subarray(at, at + take), this.held)
    this.held += take
    return at + take
  }

  /** Drops the first `used` bytes held, moving the rest to the front. */
  drop(used: number): void {
    this.bytes.copyWithin(0, used, this.held)
    this.held -= used
  }
}
