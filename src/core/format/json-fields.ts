import {asUnsigned, type JsonValue} from '../codec/json.js'
import {U128_MAX, U32_MAX, U64_MAX} from '../codec/limits.js'
import {fromHex} from '../codec/hex.js'
import {FormatError} from '../errors.js'

/** Readers for the canonical JSON model: exact types, or a FormatError naming the field. */

export function jsonU64(value: JsonValue | undefined, field: string): bigint {
  const n = asUnsigned(value, U64_MAX)
  if (n === undefined) throw new FormatError(`${field} must be an unsigned 64-bit integer`)
  return n
}

export function jsonU128(value: JsonValue | undefined, field: string): bigint {
  const n = asUnsigned(value, U128_MAX)
  if (n === undefined) throw new FormatError(`${field} must be an unsigned 128-bit integer`)
  return n
}

export function jsonU32(value: JsonValue | undefined, field: string): number {
  const n = asUnsigned(value, BigInt(U32_MAX))
  if (n === undefined) throw new FormatError(`${field} must be an unsigned 32-bit integer`)
  return Number(n)
}

export function jsonString(value: JsonValue | undefined, field: string): string {
  if (typeof value !== 'string') throw new FormatError(`${field} must be a string`)
  return value
}

export function jsonBool(value: JsonValue | undefined, field: string): boolean {
  if (typeof value !== 'boolean') throw new FormatError(`${field} must be a boolean`)
  return value
}

export function jsonHex(value: JsonValue | undefined, field: string): Uint8Array {
  const bytes = typeof value === 'string' ? fromHex(value) : undefined
  if (bytes === undefined) throw new FormatError(`${field} must be a hex string`)
  return bytes
}

export function jsonArray(value: JsonValue | undefined, field: string): JsonValue[] {
  if (!Array.isArray(value)) throw new FormatError(`${field} must be an array`)
  return value
}

export function jsonNullable<T>(value: JsonValue | undefined, read: (value: JsonValue) => T): T | null {
  return value === null || value === undefined ? null : read(value)
}
