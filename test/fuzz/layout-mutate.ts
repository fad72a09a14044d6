import {cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {crc32} from '../../src/core/codec/crc.js'
import {parseJson} from '../../src/core/codec/json.js'
import type {Finding} from '../../src/core/findings.js'
import type {ArtifactKind} from '../../src/core/format/artifact.js'
import {CODECS, detectKind} from '../../src/core/format/registry.js'
import {relaySegmentChecksum, relaySegmentCodec} from '../../src/core/format/relay-segment.js'
import {verifyLayout, type VerifyReport} from '../../src/core/ops/layout/verify.js'
import {runCli} from '../support/cli.js'
import {fixturePath, listFixtures, NOW_MS, readFixtureJson} from '../support/fixtures.js'
import {mutate, random} from './mutate.js'

/**
 * Layout-level fuzzing: one artifact of a fixture layout is mutated (bit
 * flips, truncation, insertion, re-sealed CRCs, manifest paths given a NUL
 * byte, a `..` component or a leading `/`), and `layout verify` must still
 * print its whole report. Whenever the mutated file no longer decodes on its
 * own (or is a chunk or relay segment whose checksum its manifest holds), the
 * report must flag it, or the manifest that references it, and fail.
 */

const SEALED: ReadonlySet<ArtifactKind> = new Set(['timeline-history', 'slot-catalog', 'wal-segment', 'basebackup-manifest', 'relay-segment', 'relay-manifest'])

/** A chunk has no codec: its manifest holds its size and CRC. */
type FileKind = ArtifactKind | 'chunk'

interface Target {
  /** Relative to the copy of the layout (the directory holding the data path). */
  relative: string
  kind: FileKind
  original: Uint8Array
}

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(file, base) : [path.relative(base, file)]
  })
}

function kindOf(relative: string, bytes: Uint8Array): FileKind {
  if (relative.endsWith('.redchunk')) return 'chunk'
  return detectKind(bytes, path.basename(relative))
}

/** A stored path (`relay-…`, `base-…`) in a sealed manifest made illegal at the same length, then re-sealed. */
function corruptStoredPath(bytes: Uint8Array, rand: () => number): Uint8Array | undefined {
  const text = Buffer.from(bytes).toString('latin1')
  const starts = [...text.matchAll(/(relay|base)-\d{20}/g)].map((match) => match.index)
  if (starts.length === 0) return undefined
  const at = starts[Math.floor(rand() * starts.length)]
  const out = Uint8Array.from(bytes)
  const tricks: Array<() => void> = [
    () => (out[at + 1 + Math.floor(rand() * 8)] = 0),
    () => out.set(Buffer.from('../'), at),
    () => (out[at] = '/'.charCodeAt(0)),
    () => (out[at + 2] = '\n'.charCodeAt(0)),
  ]
  tricks[Math.floor(rand() * tricks.length)]()
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true)
  return out
}

/**
 * Whether the mutated bytes must be reported: they fail their own decoder, or
 * break what the manifest referencing them holds. A chunk's CRC is in its
 * manifest. A relay segment's is too, but it is the CRC of the whole file,
 * trailer included, which for any sealed file is the same constant (the
 * CRC-32 residue): a re-sealed segment is caught only by its range.
 */
function mustBeFlagged(kind: FileKind, bytes: Uint8Array, original: Uint8Array): boolean {
  if (kind === 'chunk') return true
  try {
    const model = CODECS[kind].decode(bytes, {nowMs: NOW_MS})
    if (kind !== 'relay-segment') return false
    const before = relaySegmentCodec.decode(original, {nowMs: NOW_MS})
    return model.timeline !== before.timeline || model.start_lsn !== before.start_lsn || model.end_lsn !== before.end_lsn || relaySegmentChecksum(bytes) !== relaySegmentChecksum(original)
  } catch {
    return true
  }
}

/** The finding paths that count as flagging `relative`: itself, or the manifest beside it that references it. */
function flags(finding: Finding, target: Target): boolean {
  if (finding.severity === 'note') return false
  if (finding.path === target.relative) return true
  if (target.kind === 'relay-segment') return finding.path === path.join(path.dirname(target.relative), 'relay.redmanifest')
  if (target.kind === 'chunk') return finding.path === path.dirname(target.relative).replace(/\.parts$/, '')
  return false
}

export interface LayoutFuzzResult {
  layout: string
  runs: number
  flagged: number
  cliRuns: number
  failures: string[]
}

/**
 * Mutates the layout's artifacts `iterations` times (one file each time,
 * restored afterwards); every `cliEvery`-th run also goes through the built
 * CLI with --json (0: never).
 */
export async function fuzzLayout(layout: string, iterations: number, seed: number, cliEvery = 0): Promise<LayoutFuzzResult> {
  const expected = readFixtureJson('layouts', `${layout}.expected.json`) as {data_path: string}
  const copy = mkdtempSync(path.join(os.tmpdir(), `redrepl-layout-fuzz-${layout}-`))
  const result: LayoutFuzzResult = {layout, runs: 0, flagged: 0, cliRuns: 0, failures: []}
  try {
    cpSync(fixturePath('layouts', layout), copy, {recursive: true})
    const dataPath = path.join(copy, expected.data_path)
    const targets: Target[] = filesUnder(copy).map((relative) => {
      const original = new Uint8Array(readFileSync(path.join(copy, relative)))
      return {relative, original, kind: kindOf(relative, original)}
    })
    const rand = random(seed)
    for (let i = 0; i < iterations; i++) {
      const target = targets[Math.floor(rand() * targets.length)]
      const manifest = target.kind === 'relay-manifest' || target.kind === 'basebackup-manifest'
      const bytes = (manifest && rand() < 0.3 && corruptStoredPath(target.original, rand)) || mutate(target.original, rand, target.kind !== 'chunk' && SEALED.has(target.kind))
      if (Buffer.from(bytes).equals(target.original)) continue
      const label = `${layout} #${i} (seed ${seed}): ${target.relative}`
      const file = path.join(copy, target.relative)
      writeFileSync(file, bytes)
      try {
        result.runs++
        const expectFlag = mustBeFlagged(target.kind, bytes, target.original)
        let report: VerifyReport
        try {
          report = await verifyLayout(dataPath, NOW_MS)
        } catch (error) {
          result.failures.push(`${label}: verify threw ${(error as Error).name}: ${(error as Error).message}`)
          continue
        }
        if (expectFlag) {
          if (report.ok || !report.findings.some((finding) => flags(finding, target))) {
            result.failures.push(`${label}: not flagged; findings: ${JSON.stringify(report.findings.map((f) => [f.path, f.code]))}`)
          } else result.flagged++
        }
        if (cliEvery > 0 && i % cliEvery === 0) {
          result.cliRuns++
          const cli = await runCli(['layout', 'verify', '--data-path', dataPath, '--json'])
          let printed: {ok?: boolean} | undefined
          try {
            printed = parseJson(cli.stdout) as {ok?: boolean}
          } catch {
            printed = undefined
          }
          if (printed === undefined) result.failures.push(`${label}: CLI printed no report (exit ${cli.exitCode}): ${cli.stderr.trim()}`)
          else if (cli.exitCode !== (report.ok ? 0 : 3) || printed.ok !== report.ok) result.failures.push(`${label}: CLI exit ${cli.exitCode}, ok ${printed.ok}; the library said ok ${report.ok}`)
        }
      } finally {
        writeFileSync(file, target.original)
      }
    }
  } finally {
    rmSync(copy, {recursive: true, force: true})
  }
  return result
}

/** The fixture layouts, by name. */
export function fixtureLayouts(): string[] {
  return listFixtures('layouts').filter((name) => !name.endsWith('.json'))
}
