import {FormatError} from '../errors.js'

const utf8 = new TextDecoder('utf-8', {fatal: true})

/**
 * Sequential little-endian reader over a byte array. Every read checks its
 * bounds first, so a header that lies about a length fails here instead of
 * allocating or reading past the end.
 */
export class ByteReader {
  private readonly view: DataView
  offset = 0

  constructor(
    readonly bytes: Uint8Array,
    private readonly truncatedMessage = 'truncated',
    readonly end = bytes.length,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get remaining(): number {
    return this.end - this.offset
  }

  /** Throws unless `count` more bytes are available. */
  need(count: number): void {
    if (count > this.remaining) throw new FormatError(this.truncatedMessage)
  }

  u8(): number {
    this.need(1)
    return this.view.getUint8(this.offset++)
  }

  u16(): number {
    this.need(2)
    const value = this.view.getUint16(this.offset, true)
    this.offset += 2
    return value
  }

  u32(): number {
    this.need(4)
    const value = this.view.getUint32(this.offset, true)
    this.offset += 4
    return value
  }

  u64(): bigint {
    this.need(8)
    const value = this.view.getBigUint64(this.offset, true)
    this.offset += 8
    return value
  }

  u128(): bigint {
    const low = this.u64()
    const high = this.u64()
    return (high << 64n) | low
  }

  bool(): boolean {
    return this.u8() !== 0
  }

  /** A view (not a copy) of the next `count` bytes. */
  bytesView(count: number): Uint8Array {
    this.need(count)
    const out = this.bytes.subarray(this.offset, this.offset + count)
    this.offset += count
    return out
  }

  /** A copy of the next `count` bytes, independent of the source buffer. */
  bytesCopy(count: number): Uint8Array {
    return Uint8Array.from(this.bytesView(count))
  }

  magic(expected: string, message: string): void {
    this.need(expected.length)
    for (let i = 0; i < expected.length; i++) {
      if (this.bytes[this.offset + i] !== expected.charCodeAt(i)) throw new FormatError(message)
    }
    this.offset += expected.length
  }

  string(what = 'string'): string {
    const length = this.u32()
    try {
      return utf8.decode(this.bytesView(length))
    } catch (error) {
      if (error instanceof FormatError) throw error
      throw new FormatError(`${what} is not valid UTF-8`)
    }
  }

  private tag(what: string): boolean {
    const tag = this.u8()
    if (tag > 1) throw new FormatError(`invalid optional tag ${tag} for ${what}`)
    return tag === 1
  }

  optString(what = 'string'): string | null {
    return this.tag(what) ? this.string(what) : null
  }

  optU128(what = 'u128'): bigint | null {
    return this.tag(what) ? this.u128() : null
  }
}
