import {asUnsigned, isJsonObject, JsonSyntaxError, parseJson} from '../codec/json.js'
import {fromHex} from '../codec/hex.js'
import {usageError} from '../errors.js'
import type {RelayRecord} from '../model.js'

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function payloadOf(entry: Record<string, unknown>, line: number): Uint8Array {
  if (typeof entry.payload_hex === 'string') {
    const bytes = fromHex(entry.payload_hex)
    if (bytes === undefined) throw usageError(`record line ${line}: payload_hex is not an even-length hex string`)
    return bytes
  }
  if (typeof entry.payload_base64 === 'string') {
    if (entry.payload_base64.length % 4 !== 0 || !BASE64.test(entry.payload_base64)) throw usageError(`record line ${line}: payload_base64 is not valid base64`)
    return new Uint8Array(Buffer.from(entry.payload_base64, 'base64'))
  }
  throw usageError(`record line ${line}: needs "payload_hex" or "payload_base64"`)
}

/**
 * Relay records as JSON lines: `{"lsn":N,"payload_hex":"…"}` or
 * `{"lsn":N,"payload_base64":"…"}`, one per line; blank lines are skipped.
 * Any bad line rejects the whole batch, naming the line.
 */
export function parseRecordLines(text: string): RelayRecord[] {
  const records: RelayRecord[] = []
  text.split('\n').forEach((raw, i) => {
    const line = i + 1
    if (raw.trim() === '') return
    let entry
    try {
      entry = parseJson(raw)
    } catch (error) {
      if (error instanceof JsonSyntaxError) throw usageError(`record line ${line} is not JSON: ${error.message}`)
      throw error
    }
    if (!isJsonObject(entry)) throw usageError(`record line ${line} must be a JSON object`)
    const lsn = asUnsigned(entry.lsn)
    if (lsn === undefined) throw usageError(`record line ${line}: "lsn" must be an unsigned 64-bit integer`)
    records.push({lsn, payload: payloadOf(entry, line)})
  })
  return records
}
