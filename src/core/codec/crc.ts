import zlib from 'node:zlib'

/** CRC-32/ISO-HDLC (zlib's), native. `previous` continues a running CRC. */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlib.crc32(data, previous) >>> 0
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`
}
