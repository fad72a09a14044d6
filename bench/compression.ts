import {randomBytes} from 'node:crypto'
import zlib from 'node:zlib'

import {through} from '../src/core/repo/pipe.js'
import {defaultEngine, zstdCompress, zstdDecompress} from '../src/core/repo/zstd.js'

/**
 * `npm run bench compression`: what each --compress and level stores of a
 * snapshot like a data file (pages of rows as text, zeroed free pages,
 * random blobs), and what it costs in wall time and CPU seconds, through
 * the same stream codecs `repo push` and `repo restore` run.
 */

export interface CompressionRow {
  what: string
  ours: string
  baseline: string
  ratio: string
  target: string
}

const MIB = Number(process.env.BENCH_COMPRESS_MIB ?? 64)
const PAGE = 8192

/** A data-file-like snapshot: per 8 KiB page, half text rows, a quarter zeros, a quarter random. */
export function snapshot(bytes: number): Buffer {
  const out = Buffer.alloc(bytes)
  let row = 0
  for (let at = 0; at < bytes; at += PAGE) {
    const kind = (at / PAGE) % 4
    if (kind < 2) {
      let text = ''
      while (text.length < PAGE) text += `{"id":${row},"user":"user${row % 977}","status":"${row % 3 ? 'active' : 'idle'}","balance":${(row * 7919) % 100000}}\n`, row++
      out.write(text.slice(0, PAGE), at)
    } else if (kind === 3) randomBytes(Math.min(PAGE, bytes - at)).copy(out, at)
  }
  return out
}

async function* pieces(bytes: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 1 << 20) yield bytes.subarray(at, at + (1 << 20))
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<{bytes: number; ms: number; cpu: number}> {
  const start = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  let bytes = 0
  for await (const piece of source) bytes += piece.length
  const used = process.cpuUsage(cpu)
  return {bytes, ms: Number(process.hrtime.bigint() - start) / 1e6, cpu: (used.user + used.system) / 1e6}
}

async function* gathered(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const piece of source) out.push(piece)
  return out
}

export async function compressionBench(): Promise<CompressionRow[]> {
  const input = snapshot(MIB << 20)
  const rows: CompressionRow[] = []
  const engine = defaultEngine()
  const codecs: Array<[string, () => AsyncIterable<Uint8Array>, (stored: Uint8Array[]) => AsyncIterable<Uint8Array>]> = [
    ['none', () => pieces(input), (stored) => gathered(stored)],
    ...[1, 6].map((level): [string, () => AsyncIterable<Uint8Array>, (stored: Uint8Array[]) => AsyncIterable<Uint8Array>] => [`gzip ${level}`, () => through(pieces(input), zlib.createGzip({level}), (e) => e), (stored) => through(gathered(stored), zlib.createGunzip(), (e) => e)]),
    ...[3, 19].map((level): [string, () => AsyncIterable<Uint8Array>, (stored: Uint8Array[]) => AsyncIterable<Uint8Array>] => [`zstd ${level} (${engine})`, () => zstdCompress(pieces(input), level, engine), (stored) => zstdDecompress(gathered(stored), 'bench', engine)]),
  ]
  for (const [name, compress, decompress] of codecs) {
    const cpu = process.cpuUsage()
    const start = process.hrtime.bigint()
    const stored = await collect(compress())
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    const used = process.cpuUsage(cpu)
    const storedBytes = stored.reduce((sum, piece) => sum + piece.length, 0)
    const back = await drain(decompress(stored))
    if (back.bytes !== input.length) throw new Error(`${name}: read back ${back.bytes} of ${input.length} bytes`)
    rows.push({
      what: `compression ${name}, ${MIB} MiB data-file-like snapshot: stored bytes; compress time, CPU; decompress time, CPU`,
      ours: `${(storedBytes / 2 ** 20).toFixed(1)} MiB; ${ms.toFixed(0)} ms, ${((used.user + used.system) / 1e6).toFixed(2)} s CPU; ${back.ms.toFixed(0)} ms, ${back.cpu.toFixed(2)} s CPU`,
      baseline: `${MIB} MiB`,
      ratio: `${(input.length / storedBytes).toFixed(2)}:1`,
      target: '-',
    })
  }
  return rows
}
