/**
 * The gear hash's scanning loop of codec/cdc.ts as a WebAssembly module,
 * whose bytes this module writes out (no assembler at build time, no file
 * to ship). V8 runs it at about three times the speed of the best
 * JavaScript loop, and at a steady speed from the first call: the
 * JavaScript loop's speed depended on how V8 happened to tier it up.
 * Pure: it only builds bytes; codec/cdc.ts compiles and calls them.
 *
 * The module imports its memory as `env.memory`: the gear table, 256
 * little-endian u32, at GEAR_OFFSET, then the bytes to cut from
 * DATA_OFFSET. It exports one function,
 *
 *   scan(i, middle, limit, hash, maskHard, maskEasy) -> i32
 *
 * with i, middle and limit memory offsets: it rolls `hash` over the bytes
 * from i on, (hash << 1) + gear[byte] in u32 arithmetic, and returns the
 * offset just past the first byte after which `hash & maskHard` is zero
 * (before middle) or `hash & maskEasy` is zero (from middle to limit);
 * -1 when no byte before limit gives one. codec/cdc.ts `findCut` is the
 * same loop in JavaScript, and test/property/cdc-cuts.test.ts holds them
 * equal.
 */

export const GEAR_OFFSET = 0
/** The bytes to cut start past the table (256 × 4 bytes). */
export const DATA_OFFSET = 1024

const uleb = (value: number): number[] => {
  const out: number[] = []
  let rest = value >>> 0
  do {
    const byte = rest & 0x7f
    rest >>>= 7
    out.push(rest === 0 ? byte : byte | 0x80)
  } while (rest !== 0)
  return out
}

const sleb = (value: number): number[] => {
  const out: number[] = []
  let rest = value | 0
  for (;;) {
    const byte = rest & 0x7f
    rest >>= 7
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) return [...out, byte]
    out.push(byte | 0x80)
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const name = (text: string): number[] => [...uleb(text.length), ...Buffer.from(text, 'latin1')]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]

// The few opcodes the loop uses (WebAssembly core spec, §5.4).
const I32 = 0x7f
const BLOCK = 0x02
const LOOP = 0x03
const IF = 0x04
const END = 0x0b
const BR = 0x0c
const BR_IF = 0x0d
const RETURN = 0x0f
const EMPTY = 0x40
const getLocal = (index: number) => [0x20, ...uleb(index)]
const setLocal = (index: number) => [0x21, ...uleb(index)]
const teeLocal = (index: number) => [0x22, ...uleb(index)]
const i32Const = (value: number) => [0x41, ...sleb(value)]
const I32_EQZ = 0x45
const I32_GE_U = 0x4f
const I32_ADD = 0x6a
const I32_AND = 0x71
const I32_SHL = 0x74
/** i32.load8_u and i32.load with their alignment hint and offset. */
const load8 = (offset: number) => [0x2d, 0x00, ...uleb(offset)]
const load32 = (offset: number) => [0x28, 0x02, ...uleb(offset)]

// scan's parameters, by local index.
const AT = 0
const MIDDLE = 1
const LIMIT = 2
const HASH = 3
const MASK_HARD = 4
const MASK_EASY = 5

/** One phase: roll over [AT, end) and return AT+1 where hash & mask is zero; fall through at end. */
const phase = (end: number, mask: number): number[] => [
  BLOCK, EMPTY,
  LOOP, EMPTY,
  ...getLocal(AT), ...getLocal(end), I32_GE_U, BR_IF, 1,
  ...getLocal(HASH), ...i32Const(1), I32_SHL,
  ...getLocal(AT), ...load8(0), ...i32Const(2), I32_SHL, ...load32(GEAR_OFFSET),
  I32_ADD, ...teeLocal(HASH),
  ...getLocal(AT), ...i32Const(1), I32_ADD, ...setLocal(AT),
  ...getLocal(mask), I32_AND, I32_EQZ,
  IF, EMPTY, ...getLocal(AT), RETURN, END,
  BR, 0,
  END,
  END,
]

/** The module's bytes (WebAssembly binary format 1). */
export function gearScanModule(): Uint8Array {
  const body = [0 /* no locals past the parameters */, ...phase(MIDDLE, MASK_HARD), ...phase(LIMIT, MASK_EASY), ...i32Const(-1), END]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // type 0: six i32 in, one out
    ...section(1, vector([[0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32]]), ...vector([[I32]])]])),
    // import env.memory, at least one page
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    // function 0 of type 0
    ...section(3, vector([uleb(0)])),
    ...section(7, vector([[...name('scan'), 0x00, ...uleb(0)]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ])
}
