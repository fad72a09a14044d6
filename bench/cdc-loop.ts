import {createHash} from 'node:crypto'
import zlib from 'node:zlib'

import {CUT_RULE, findCut, GearCutter, MAX_PIECE_BYTES} from '../src/core/codec/cdc.js'
import {referenceCut} from '../test/support/reference-cut.js'

/**
 * The CPU cost of each step a pushed byte takes through the piece cutter,
 * alone, on the same pseudo-random bytes: the cutting loop as JavaScript
 * (findCut), as WebAssembly (GearCutter, which the Chunker runs), and as
 * first written (u32 arithmetic through `>>> 0`); SHA-256 of each piece
 * with a hash object per piece; CRC-32 of each piece; and the copy of each
 * piece into the cutter's buffer. Each figure is MiB of the stream per CPU
 * second (process.cpuUsage, so other processes on the machine count for
 * little), the median of ROUNDS rounds.
 *
 *   node dist/bench/cdc-loop.js [MiB] [ROUNDS]
 */

const MiB = 1024 * 1024
const size = Number(process.argv[2] ?? 256) * MiB
const rounds = Number(process.argv[3] ?? 5)

/** xorshift32: the same bytes every run, without the cost of a CSPRNG in the figures. */
const stream = new Uint8Array(size)
{
  const words = new Uint32Array(stream.buffer)
  let x = 0x9e3779b9
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x
  }
}


/** Runs `cut` over the whole stream through a MAX_PIECE_BYTES window, as the Chunker does; returns the cuts. */
function cutAll(cutter: GearCutter, cut: (end: number, last: boolean) => number): number[] {
  const cuts: number[] = []
  for (let start = 0; start < size; ) {
    const end = Math.min(size, start + MAX_PIECE_BYTES)
    cutter.bytes.set(stream.subarray(start, end))
    const at = cut(end - start, end === size)
    if (at <= 0) throw new Error(`no cut in a window of ${end - start} bytes`)
    cuts.push(start + at)
    start += at
  }
  return cuts
}

const cutter = new GearCutter()
const plain = new Uint8Array(MAX_PIECE_BYTES)
/** What a piece of random bytes averages about (the cut rule's average). */
const PIECE = CUT_RULE.avg
const contenders: Record<string, () => unknown> = {
  [`copy into the cutter (${MAX_PIECE_BYTES / 1024} KiB windows)`]: () => cutAll(cutter, (end) => end),
  'cut, JavaScript, as first written (incl. copy)': () => cutAll(cutter, (end, last) => referenceCut(cutter.bytes, 0, end, last, CUT_RULE)),
  'cut, JavaScript (incl. copy)': () => cutAll(cutter, (end, last) => findCut(cutter.bytes, 0, end, last)),
  'cut, WebAssembly (incl. copy)': () => cutAll(cutter, (end, last) => cutter.cut(0, end, last)),
  [`SHA-256, one hash object per average piece (${PIECE / 1024} KiB)`]: () => {
    for (let at = 0; at < size; at += PIECE) createHash('sha256').update(stream.subarray(at, at + PIECE)).digest()
  },
  [`CRC-32, per average piece (${PIECE / 1024} KiB)`]: () => {
    for (let at = 0; at < size; at += PIECE) zlib.crc32(stream.subarray(at, at + PIECE))
  },
  'copy a largest piece at a time (Buffer.from of a piece)': () => {
    for (let at = 0; at < size; at += plain.length) plain.set(stream.subarray(at, at + plain.length))
  },
}

const reference = JSON.stringify(cutAll(cutter, (end, last) => referenceCut(cutter.bytes, 0, end, last, CUT_RULE)))
for (const name of ['cut, JavaScript (incl. copy)', 'cut, WebAssembly (incl. copy)']) {
  if (JSON.stringify(contenders[name]()) !== reference) throw new Error(`${name}: cuts differ from the first loop's`)
}

const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    const before = process.cpuUsage()
    run()
    const used = process.cpuUsage(before)
    seconds[name].push((used.user + used.system) / 1e6)
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
process.stdout.write(`${size / MiB} MiB, ${rounds} rounds, MiB of stream per CPU second (median; min-max of the rounds)\n`)
for (const [name, values] of Object.entries(seconds)) {
  const rate = (s: number) => (size / MiB / s).toFixed(0)
  process.stdout.write(`${name.padEnd(50)} ${rate(median(values)).padStart(6)}  (${rate(Math.max(...values))}-${rate(Math.min(...values))})\n`)
}
