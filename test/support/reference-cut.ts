import {GEAR, type CutRule} from '../../src/core/codec/cdc.js'

/**
 * The cutting loop as first written, byte by byte in u32 arithmetic: where
 * every stored piece of a repository was cut. Every faster loop must cut
 * exactly here, or a push after an upgrade would share no piece with the
 * ones before it.
 */
export function referenceCut(buffer: Uint8Array, start: number, end: number, last: boolean, rule: CutRule): number {
  const length = end - start
  if (length <= rule.min) return last ? end : -1
  const limit = start + Math.min(length, rule.max)
  const middle = Math.min(limit, start + rule.avg)
  let hash = 0
  let i = start + rule.min - 32
  for (const stop = start + rule.min; i < stop; i++) hash = ((hash << 1) + GEAR[buffer[i]]) >>> 0
  for (; i < middle; i++) {
    hash = ((hash << 1) + GEAR[buffer[i]]) >>> 0
    if ((hash & rule.maskHard) >>> 0 === 0) return i + 1
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + GEAR[buffer[i]]) >>> 0
    if ((hash & rule.maskEasy) >>> 0 === 0) return i + 1
  }
  if (limit - start === rule.max || last) return limit
  return -1
}

