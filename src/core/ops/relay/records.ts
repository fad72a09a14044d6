import {asUnsigned, isJsonObject, JsonSyntaxError, parseJson} from '../../codec/json.js'
import {fromHex} from '../../codec/hex.js'
import {usageError} from '../../errors.js'
import {ioError} from '../../fs/io-error.js'
import type {RelayRecord} from '../../model.js'

/**
 * The most stdin one `relay append` takes. A batch becomes one relay segment,
 * encoded in memory and under the segment cap (size-caps.ts): hex spells a
 * payload in twice its bytes, so 256 MiB of lines is at most 128 MiB of
 * payload, well inside it. Larger batches are split by the caller.
 */
export const MAX_STDIN_BATCH_BYTES = 256 * 1024 * 1024

/** Reads a batch of record lines from a stream (stdin), refusing one past `maxBytes` as soon as it gets there. */
export async function readRecordBatch(input: AsyncIterable<Uint8Array | string>, maxBytes = MAX_STDIN_BATCH_BYTES): Promise<string> {
  const pieces: Buffer[] = []
  let total = 0
  try {
    for await (const piece of input) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
      total += bytes.length
      if (total > maxBytes) {
        throw usageError(`stdin: the record batch is larger than ${maxBytes} bytes, the most one relay append takes`, {hint: 'split the records into several batches'})
      }
      pieces.push(bytes)
    }
  } catch (error) {
    throw ioError('read', 'stdin', error)
  }
  return Buffer.concat(pieces, total).toString('utf8')
}

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
