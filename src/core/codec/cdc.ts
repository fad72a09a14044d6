import {createHash} from 'node:crypto'

import {DATA_OFFSET, GEAR_OFFSET, gearScanModule} from './gear-wasm.js'

/**
 * Content-defined cutting of a byte stream into pieces (a gear rolling
 * hash with FastCDC's normalised cut masks): a cut falls where the bytes
 * just before it say so, not at a fixed offset, so inserting or removing
 * bytes moves the cuts near the change only and every piece after the next
 * cut is the same as before. The repository stores base backups as such
 * pieces (repo/pieces.ts). Pure: no I/O, no clock.
 */

/**
 * No cut before this many bytes: those are not even hashed, which is where much of the speed comes from.
 * The sizes are small because a piece is the unit of change: a 64 KiB run overwritten costs the three or so pieces
 * around it, not a megabyte; pieces that small are stored packed into larger objects (repo/pieces.ts).
 */
export const MIN_PIECE_BYTES = 8 * 1024
/** The cut masks aim here: a piece of random bytes averages a little over this. */
export const AVG_PIECE_BYTES = 32 * 1024
/** A piece is cut here at the latest, which also bounds the buffer a piece needs. */
export const MAX_PIECE_BYTES = 128 * 1024

/**
 * The gear table: 256 fixed pseudo-random u32 values, from SHA-256 of a
 * fixed label. It decides where every cut falls, so it never changes: a
 * different table would still restore everything, but share no piece with
 * what was stored before.
 */
export const GEAR = (() => {
  const table = new Uint32Array(256)
  for (let block = 0; block < 32; block++) {
    const digest = createHash('sha256').update(`redrepl piece gear ${block}`).digest()
    for (let i = 0; i < 8; i++) table[block * 8 + i] = digest.readUInt32LE(i * 4)
  }
  return table
})()

/** A gear hash's bit k depends on the last k+1 bytes; the masks test the top bits, which see the last 32. */
const topBits = (bits: number) => (0xffffffff << (32 - bits)) >>> 0
/** Before the average: harder to cut (2 bits more than log2 of the average), after it easier (2 fewer): sizes cluster near it. */
const AVG_BITS = Math.log2(AVG_PIECE_BYTES)
const MASK_HARD = topBits(AVG_BITS + 2)
const MASK_EASY = topBits(AVG_BITS - 2)
/** Bytes hashed before the first place a cut may fall, so that a cut there depends on the window, not on where the piece began. */
const WARMUP = 32

/** What decides the cuts: the piece sizes and the two masks. The loops take it whole, so a test can cut with small sizes. */
export interface CutRule {
  min: number
  avg: number
  max: number
  maskHard: number
  maskEasy: number
}

/** The repository's rule, from the constants above. */
export const CUT_RULE: CutRule = {min: MIN_PIECE_BYTES, avg: AVG_PIECE_BYTES, max: MAX_PIECE_BYTES, maskHard: MASK_HARD, maskEasy: MASK_EASY}

/*
 * The hash is kept as a signed 32-bit value (`| 0`), which V8 holds in a
 * register as a small integer; `>>> 0` made every value past 2^31 a heap
 * double. The low 32 bits, and so every mask test, are the same.
 */

/** The hash over the WARMUP bytes before the first place a cut may fall. */
function warmup(buffer: Uint8Array, from: number, to: number): number {
  const gear = GEAR
  let hash = 0
  for (let i = from; i < to; i++) hash = ((hash << 1) + gear[buffer[i]]) | 0
  return hash
}

/**
 * Where the piece starting at `start` of `buffer` ends: the offset just past
 * its last byte, or -1 when `buffer[start, end)` holds no cut and fewer
 * than `rule.max` bytes (more bytes are needed to decide). With `last`
 * the rest of the stream is `buffer[start, end)`, so it ends there at the
 * latest. This is the JavaScript loop; the Chunker runs the same loop
 * compiled to WebAssembly (codec/gear-wasm.ts) where it can.
 */
export function findCut(buffer: Uint8Array, start: number, end: number, last: boolean, rule: CutRule = CUT_RULE): number {
  const length = end - start
  if (length <= rule.min) return last ? end : -1
  const limit = start + Math.min(length, rule.max)
  const middle = Math.min(limit, start + rule.avg)
  const hard = rule.maskHard | 0
  const easy = rule.maskEasy | 0
  const gear = GEAR
  let i = start + rule.min
  let hash = warmup(buffer, i - WARMUP, i)
  for (; i < middle; i++) {
    hash = ((hash << 1) + gear[buffer[i]]) | 0
    if ((hash & hard) === 0) return i + 1
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + gear[buffer[i]]) | 0
    if ((hash & easy) === 0) return i + 1
  }
  return limit - start === rule.max || last ? limit : -1
}

/** The little of WebAssembly's JavaScript API used here (the project's TypeScript libraries do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Memory: new (descriptor: {initial: number}) => {buffer: ArrayBuffer}
  Instance: new (module: object, imports: object) => {exports: Record<string, unknown>}
}

const wasm = (globalThis as {WebAssembly?: Wasm}).WebAssembly
let scanModule: object | null | undefined

/** The compiled scanning loop, once per process; null where this Node has no WebAssembly (`--jitless`). */
function compiledScan(): object | null {
  if (scanModule === undefined) scanModule = wasm === undefined ? null : new wasm.Module(gearScanModule())
  return scanModule
}

type Scan = (at: number, middle: number, limit: number, hash: number, maskHard: number, maskEasy: number) => number

/**
 * A buffer of `rule.max` bytes and the loop that cuts it: the buffer lives
 * in the WebAssembly module's memory, so the bytes are copied in once and
 * scanned, hashed and stored from there. Without WebAssembly, a plain
 * buffer and findCut.
 */
export class GearCutter {
  readonly bytes: Uint8Array
  private readonly scan: Scan | null

  constructor(readonly rule: CutRule = CUT_RULE) {
    const compiled = compiledScan()
    if (compiled === null || wasm === undefined) {
      this.bytes = new Uint8Array(rule.max)
      this.scan = null
      return
    }
    const memory = new wasm.Memory({initial: Math.ceil((DATA_OFFSET + rule.max) / 65_536)})
    new Uint32Array(memory.buffer, GEAR_OFFSET, 256).set(GEAR)
    this.bytes = new Uint8Array(memory.buffer, DATA_OFFSET, rule.max)
    this.scan = new wasm.Instance(compiled, {env: {memory}}).exports.scan as Scan
  }

  /** findCut over this cutter's bytes. */
  cut(start: number, end: number, last: boolean): number {
    const {rule, scan} = this
    if (scan === null) return findCut(this.bytes, start, end, last, rule)
    const length = end - start
    if (length <= rule.min) return last ? end : -1
    const limit = start + Math.min(length, rule.max)
    const middle = Math.min(limit, start + rule.avg)
    const from = start + rule.min
    const cut = scan(DATA_OFFSET + from, DATA_OFFSET + middle, DATA_OFFSET + limit, warmup(this.bytes, from - WARMUP, from), rule.maskHard, rule.maskEasy)
    if (cut >= 0) return cut - DATA_OFFSET
    return limit - start === rule.max || last ? limit : -1
  }
}

/**
 * Cuts a stream fed in any sizes into pieces. It owns one buffer of
 * `rule.max` bytes; a piece handed to `onPiece` is a view of it, valid
 * until `onPiece`'s promise settles (the caller copies or finishes with it).
 */
export class Chunker {
  private readonly cutter: GearCutter
  private filled = 0

  constructor(
    private readonly onPiece: (piece: Uint8Array) => Promise<void>,
    rule: CutRule = CUT_RULE,
  ) {
    this.cutter = new GearCutter(rule)
  }

  async push(bytes: Uint8Array): Promise<void> {
    const buffer = this.cutter.bytes
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(bytes.length - at, buffer.length - this.filled)
      buffer.set(bytes.subarray(at, at + take), this.filled)
      this.filled += take
      at += take
      if (this.filled === buffer.length) await this.drain(false)
    }
  }

  /** The rest as its last piece(s); an empty stream yields no piece. */
  async finish(): Promise<void> {
    await this.drain(true)
  }

  private async drain(last: boolean): Promise<void> {
    const buffer = this.cutter.bytes
    let start = 0
    while (start < this.filled) {
      const cut = this.cutter.cut(start, this.filled, last)
      if (cut < 0) break
      await this.onPiece(buffer.subarray(start, cut))
      start = cut
    }
    if (start > 0) {
      buffer.copyWithin(0, start, this.filled)
      this.filled -= start
    }
  }
}
