import {parseJson, stringifyJson, type JsonValue} from './json.js'
import {expectConsumed, expectVersion, openSealed} from './sealed.js'
import {ByteWriter} from './writer.js'
import {FormatError} from '../errors.js'

/**
 * A small object of redrepl's own kept as a sealed envelope around a
 * lossless JSON body: magic[8] | u16 version | string json | u32 crc. The
 * CRC refuses a damaged or cut object before its body is read, and the
 * JSON keeps u64 values exact.
 */
export function sealJson(magic: string, version: number, body: JsonValue): Uint8Array {
  return new ByteWriter().ascii(magic).u16(version).string(stringifyJson(body, 0)).sealWithCrc().finish()
}

/** The JSON body of a sealed envelope (sealJson), its CRC, magic and version checked first. */
export function openSealedJson(bytes: Uint8Array, name: string, magic: string, versions: readonly number[]): JsonValue {
  const reader = openSealed(bytes, name)
  reader.magic(magic, `invalid ${name} magic`)
  expectVersion(reader.u16(), versions, name)
  const text = reader.string(`${name} body`)
  expectConsumed(reader, name)
  try {
    return parseJson(text)
  } catch (error) {
    throw new FormatError(`${name} body is not JSON: ${(error as Error).message}`)
  }
}
