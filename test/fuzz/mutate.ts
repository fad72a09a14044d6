import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {crc32} from '../../src/core/codec/crc.js'
import {FormatError} from '../../src/core/errors.js'
import type {ArtifactKind} from '../../src/core/format/artifact.js'
import {ARTIFACT_KINDS, CODECS} from '../../src/core/format/registry.js'
import {fixturePath, fixturesDir123, NOW_MS} from '../support/fixtures.js'
import type {RedDBRelease} from '../../src/core/model.js'

/**
 * Mutation fuzzing of every decoder over the valid fixtures: bit flips,
 * truncation, insertion, fields overwritten with extreme counts and lengths,
 * most of them re-sealed with a correct CRC so they reach the deeper rules.
 * A decode must either succeed or throw a one-line FormatError, quickly,
 * without growing memory for a lying header.
 */

const SEALED: ReadonlySet<ArtifactKind> = new Set(['timeline-history', 'slot-catalog', 'wal-segment', 'basebackup-manifest', 'relay-segment', 'relay-manifest'])
const MAX_DECODE_MS = 1000
const MAX_HEAP_GROWTH = 256 * 1024 * 1024
const EXTREMES = [0xff, 0x7f, 0x80, 0x00]

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Valid fixtures of a kind; embedded databases of both formats (RedDB 1.23's set has format 2). */
function seeds(kind: ArtifactKind): Uint8Array[] {
  const dirs = kind === 'embedded-rdb' ? [fixturePath('valid', kind), path.join(fixturesDir123, 'valid', kind)] : [fixturePath('valid', kind)]
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => (!name.endsWith('.json') || name.endsWith('.logical.slots.json')) && !name.includes('.reencoded.'))
      .map((name) => new Uint8Array(readFileSync(path.join(dir, name)))),
  )
}

/** Embedded databases are opened by each release's rules in turn, and by what the file shows. */
const RULES: ReadonlyArray<RedDBRelease | undefined> = [undefined, 'reddb-1.12', 'reddb-1.23']

/** Both superblock copies with a correct CRC again, so a mutation reaches the manifest, snapshot and WAL rules. */
function resealSuperblocks(file: Uint8Array): void {
  for (const start of [0, 4096]) if (file.length >= start + 4096) new DataView(file.buffer, file.byteOffset).setUint32(start + 4092, crc32(file.subarray(start, start + 4092)), true)
}

export function mutate(seed: Uint8Array, rand: () => number, sealed: boolean): Uint8Array {
  let out = Uint8Array.from(seed)
  const pick = (n: number) => Math.floor(rand() * n)
  const edits = 1 + pick(4)
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = pick(out.length)
    switch (pick(5)) {
      case 0:
        out[at] ^= 1 << pick(8)
        break
      case 1: {
        // A count or length field claiming the maximum.
        const width = [2, 4, 8][pick(3)]
        out.fill(EXTREMES[pick(EXTREMES.length)], at, Math.min(out.length, at + width))
        break
      }
      case 2:
        out = out.slice(0, at)
        break
      case 3: {
        const extra = Uint8Array.from({length: 1 + pick(16)}, () => pick(256))
        out = Buffer.concat([out.subarray(0, at), extra, out.subarray(at)])
        break
      }
      default:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + pick(8)))])
    }
  }
  if (sealed && out.length >= 4 && rand() < 0.8) new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true)
  return out
}

export interface FuzzResult {
  kind: ArtifactKind
  runs: number
  decoded: number
  rejected: number
  failures: string[]
}

export function fuzzKind(kind: ArtifactKind, iterations: number, seed: number): FuzzResult {
  const rand = random(seed)
  const pool = seeds(kind)
  const codec = CODECS[kind]
  const result: FuzzResult = {kind, runs: 0, decoded: 0, rejected: 0, failures: []}
  const heapBefore = process.memoryUsage().heapUsed
  for (let i = 0; i < iterations; i++) {
    const input = mutate(pool[Math.floor(rand() * pool.length)], rand, SEALED.has(kind))
    if (kind === 'embedded-rdb' && rand() < 0.8) resealSuperblocks(input)
    const started = performance.now()
    result.runs++
    try {
      codec.decode(input, {nowMs: NOW_MS, reddb: RULES[i % RULES.length]})
      result.decoded++
    } catch (error) {
      if (!(error instanceof FormatError)) result.failures.push(`${kind} #${i} (seed ${seed}): ${(error as Error).name}: ${(error as Error).message}`)
      else if (error.message.includes('\n')) result.failures.push(`${kind} #${i}: a rejection of more than one line`)
      else result.rejected++
    }
    const elapsed = performance.now() - started
    if (elapsed > MAX_DECODE_MS) result.failures.push(`${kind} #${i} (seed ${seed}): decode took ${elapsed.toFixed(0)} ms`)
    if (process.memoryUsage().heapUsed - heapBefore > MAX_HEAP_GROWTH) {
      result.failures.push(`${kind} #${i} (seed ${seed}): heap grew past ${MAX_HEAP_GROWTH} bytes`)
      break
    }
  }
  return result
}

export {ARTIFACT_KINDS}
