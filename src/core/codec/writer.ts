import {crc32} from './crc.js'

const utf8 = new TextEncoder()

/** Growable little-endian writer; `finish()` returns exactly the bytes written. */
export class ByteWriter {
  private buffer: Uint8Array
  private view: DataView
  length = 0

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity)
    this.view = new DataView(this.buffer.buffer)
  }

  private reserve(count: number): void {
    const needed = this.length + count
    if (needed <= this.buffer.length) return
    let capacity = this.buffer.length * 2
    while (capacity < needed) capacity *= 2
    const grown = new Uint8Array(capacity)
    grown.set(this.buffer.subarray(0, this.length))
    this.buffer = grown
    this.view = new DataView(grown.buffer)
  }

  u8(value: number): this {
    this.reserve(1)
    this.view.setUint8(this.length, value)
    this.length += 1
    return this
  }

  u16(value: number): this {
    this.reserve(2)
    this.view.setUint16(this.length, value, true)
    this.length += 2
    return this
  }

  u32(value: number): this {
    this.reserve(4)
    this.view.setUint32(this.length, value >>> 0, true)
    this.length += 4
    return this
  }

  u64(value: bigint): this {
    this.reserve(8)
    this.view.setBigUint64(this.length, BigInt.asUintN(64, value), true)
    this.length += 8
    return this
  }

  u128(value: bigint): this {
    this.u64(BigInt.asUintN(64, value))
    return this.u64(BigInt.asUintN(64, value >> 64n))
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0)
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length)
    this.buffer.set(data, this.length)
    this.length += data.length
    return this
  }

  ascii(text: string): this {
    for (let i = 0; i < text.length; i++) this.u8(text.charCodeAt(i))
    return this
  }

  string(text: string): this {
    const encoded = utf8.encode(text)
    this.u32(encoded.length)
    return this.bytes(encoded)
  }

  optString(text: string | null): this {
    return text === null ? this.u8(0) : this.u8(1).string(text)
  }

  optU128(value: bigint | null): this {
    return value === null ? this.u8(0) : this.u8(1).u128(value)
  }

  /** CRC of everything written so far. */
  crc(): number {
    return crc32(this.buffer.subarray(0, this.length))
  }

  /** Appends the u32 CRC of everything before it, as most artifacts end. */
  sealWithCrc(): this {
    return this.u32(this.crc())
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length)
  }
}
