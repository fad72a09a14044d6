import zlib from 'node:zlib'

/** CRC-32/ISO-HDLC (zlib's), native. `previous` continues a running CRC. */
export function crc32(data: Uint8Array, previous = 0): number {
  return zlib.crc32(data, previous) >>> 0
}

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`
}

function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0
  for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i]
  return sum >>> 0
}

function gf2Square(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(matrix, matrix[n])
}

/**
 * The CRC of A followed by B from crc(A), crc(B) and B's length (zlib's
 * crc32_combine, which Node does not expose): O(log length) small matrix
 * steps, so a snapshot's CRC follows from its chunks' without a second pass
 * over the bytes.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: bigint): number {
  if (lengthB <= 0n) return crcA >>> 0
  const odd = new Uint32Array(32)
  const even = new Uint32Array(32)
  odd[0] = 0xedb88320
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row
  gf2Square(even, odd)
  gf2Square(odd, even)
  let crc = crcA >>> 0
  let length = lengthB
  for (;;) {
    gf2Square(even, odd)
    if (length & 1n) crc = gf2Times(even, crc)
    length >>= 1n
    if (length === 0n) break
    gf2Square(odd, even)
    if (length & 1n) crc = gf2Times(odd, crc)
    length >>= 1n
    if (length === 0n) break
  }
  return (crc ^ crcB) >>> 0
}
