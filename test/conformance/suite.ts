import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {asUnsigned, isJsonObject, parseJson, stringifyJson, type JsonObject, type JsonValue} from '../../src/core/codec/json.js'
import {FormatError} from '../../src/core/errors.js'
import type {ArtifactKind} from '../../src/core/format/artifact.js'
import {CODECS, isArtifactKind} from '../../src/core/format/registry.js'
import {listWalSegments, readCurrentTimeline, readHistory, readSlotCatalog, readWalHead} from '../../src/core/ops/node/state.js'
import {planCatchup} from '../../src/core/plan/catchup.js'
import {isDurable} from '../../src/core/plan/durability.js'
import {promoteHistory, selectPromotionCandidate} from '../../src/core/plan/promotion.js'
import {planRejoin} from '../../src/core/plan/rejoin.js'
import {planRetention} from '../../src/core/plan/retention.js'
import {Layout} from '../../src/core/layout.js'
import type {BasebackupManifest, RedDBRelease, ReplicaAck, SlotCatalog, TimelineHistory} from '../../src/core/model.js'
import type {CodecContext} from '../../src/core/format/artifact.js'

/**
 * The conformance suite over any directory shaped like the golden fixtures:
 * valid artifacts decode to their JSON and re-encode byte for byte, invalid
 * and crash artifacts are rejected, decisions match, layouts verify.
 */

export interface CaseResult {
  name: string
  failure?: string
}

const NOW_MS = 1700000000000n

/**
 * The RedDB release that made a fixture set, from MANIFEST.json's
 * `produced_by` ("RedDB reddb-file 1.23.2 (…)"): an embedded database is
 * read and written by that release's rules (format.md §9).
 */
export function releaseOfFixtureSet(root: string): RedDBRelease {
  const manifest = obj(readJson(path.join(root, 'MANIFEST.json')))
  const produced = /reddb-file (\d+)\.(\d+)\./.exec(String(manifest.produced_by))
  const release = produced && `reddb-${produced[1]}.${produced[2]}`
  if (release !== 'reddb-1.12' && release !== 'reddb-1.23') throw new Error(`${root}: MANIFEST.json's produced_by ${JSON.stringify(manifest.produced_by)} names no RedDB release redrepl serves`)
  return release
}
const CRASH_TIME_LIMIT_MS = 2000

const EXTENSIONS: Record<ArtifactKind, string> = {
  'timeline-history': '.redtimeline',
  'slot-catalog': '.redslots',
  'slot-catalog-legacy': '.logical.slots.json',
  'wal-segment': '.redwal',
  'basebackup-manifest': '.redbase',
  'relay-segment': '.redwal',
  'relay-manifest': '.redmanifest',
  'rebootstrap-marker': '.rebootstrap.ready',
  'embedded-rdb': '.rdb',
}

const canonical = (value: JsonValue | unknown) => stringifyJson(value)
const readJson = (file: string) => parseJson(readFileSync(file, 'utf8'))
const subdirs = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((name) => !name.includes('.')).sort() : [])

function attempt(name: string, body: () => string | undefined): CaseResult {
  try {
    const failure = body()
    return failure === undefined ? {name} : {name, failure}
  } catch (error) {
    return {name, failure: `threw ${(error as Error).name}: ${(error as Error).message}`}
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): string | undefined {
  if (a.length !== b.length) return `length ${a.length}, expected ${b.length}`
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at byte ${i}`
  return undefined
}

function validCases(root: string, context: CodecContext): CaseResult[] {
  const results: CaseResult[] = []
  for (const kind of subdirs(path.join(root, 'valid'))) {
    if (!isArtifactKind(kind)) {
      results.push({name: `valid/${kind}`, failure: 'unknown artifact kind'})
      continue
    }
    const codec = CODECS[kind]
    const ext = EXTENSIONS[kind]
    const dir = path.join(root, 'valid', kind)
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith(ext) || file.endsWith(`.reencoded${ext}`)) continue
      const base = file.slice(0, -ext.length)
      results.push(
        attempt(`valid/${kind}/${base}`, () => {
          const bytes = new Uint8Array(readFileSync(path.join(dir, file)))
          const expected = readJson(path.join(dir, `${base}.json`))
          const decoded = canonical(codec.toJson(codec.decode(bytes, context)))
          if (decoded !== canonical(expected)) return `decoded JSON differs:\n  got      ${shorten(decoded)}\n  expected ${shorten(canonical(expected))}`
          const reencodedFile = path.join(dir, `${base}.reencoded${ext}`)
          const target = existsSync(reencodedFile) ? new Uint8Array(readFileSync(reencodedFile)) : bytes
          const difference = sameBytes(codec.encode(codec.fromJson(expected), context), target)
          return difference && `re-encoded bytes differ from ${path.basename(existsSync(reencodedFile) ? reencodedFile : file)}: ${difference}`
        }),
      )
    }
  }
  return results
}

function rejectedCases(root: string, category: 'invalid' | 'crashes', context: CodecContext): CaseResult[] {
  const results: CaseResult[] = []
  for (const kind of subdirs(path.join(root, category))) {
    if (!isArtifactKind(kind)) {
      results.push({name: `${category}/${kind}`, failure: 'unknown artifact kind'})
      continue
    }
    const dir = path.join(root, category, kind)
    const ext = EXTENSIONS[kind]
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith(ext) || file.endsWith('.txt')) continue
      results.push(
        attempt(`${category}/${kind}/${file.slice(0, -ext.length)}`, () => {
          const bytes = new Uint8Array(readFileSync(path.join(dir, file)))
          const started = performance.now()
          try {
            CODECS[kind].decode(bytes, context)
          } catch (error) {
            if (!(error instanceof FormatError)) return `rejected with ${(error as Error).name} instead of a FormatError: ${(error as Error).message}`
            const elapsed = performance.now() - started
            return elapsed > CRASH_TIME_LIMIT_MS ? `rejected, but took ${elapsed.toFixed(0)} ms` : undefined
          }
          return 'accepted a file RedDB rejects'
        }),
      )
    }
  }
  return results
}

// --- decisions ---------------------------------------------------------------

const u = (value: JsonValue | undefined): bigint => {
  const n = asUnsigned(value, (1n << 128n) - 1n)
  if (n === undefined) throw new Error(`expected an unsigned integer, got ${canonical(value)}`)
  return n
}
const obj = (value: JsonValue | undefined): JsonObject => {
  if (!isJsonObject(value)) throw new Error(`expected an object, got ${canonical(value)}`)
  return value
}
const arr = (value: JsonValue | undefined): JsonValue[] => {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${canonical(value)}`)
  return value
}
const history = (value: JsonValue | undefined): TimelineHistory => CODECS['timeline-history'].fromJson(value!)
const catalog = (value: JsonValue | undefined): SlotCatalog => CODECS['slot-catalog'].fromJson(value!)
const manifest = (value: JsonValue): BasebackupManifest => CODECS['basebackup-manifest'].fromJson(value)
const ack = (value: JsonValue): ReplicaAck => {
  const a = obj(value)
  return {
    replica_id: String(a.replica_id),
    timeline: u(a.timeline),
    received_lsn: u(a.received_lsn),
    written_lsn: u(a.written_lsn),
    flushed_lsn: u(a.flushed_lsn),
    applied_lsn: u(a.applied_lsn),
  }
}

type Decision = (input: JsonObject) => unknown

function rejoinShape(plan: ReturnType<typeof planRejoin>): unknown {
  switch (plan.decision) {
    case 'follow_new_timeline':
      return {decision: plan.decision, target_timeline: plan.target_timeline, start_lsn: plan.start_lsn}
    case 'rewind':
      return {decision: plan.decision, target_timeline: plan.target_timeline, rewind_to_lsn: plan.rewind_to_lsn}
    default:
      return {decision: plan.decision}
  }
}

const DECISIONS: Record<string, Decision> = {
  retention(input) {
    const policy = obj(input.policy)
    const plan = planRetention({
      segmentBytes: u(input.segment_bytes),
      timeline: u(input.timeline),
      policy: {min_segments: u(policy.min_segments), max_bytes: u(policy.max_bytes), keep_until_replicas_ack: policy.keep_until_replicas_ack === true},
      catalog: input.slots === null ? null : catalog(input.slots),
      forkLsns: arr(input.fork_lsns).map(u),
      currentLsn: u(input.current_lsn),
      segments: arr(input.segments).map((s) => ({index: u(obj(s).index), bytes: u(obj(s).bytes)})),
    })
    return retentionShape(plan)
  },
  rejoin(input) {
    return rejoinShape(
      planRejoin({
        history: history(input.history),
        nodeTimeline: u(input.node_timeline),
        nodeFlushedLsn: u(input.node_flushed_lsn),
        availableFromLsn: u(input.available_from_lsn),
      }),
    )
  },
  catchup(input) {
    const plan = planCatchup({
      timeline: u(input.timeline),
      availableFromLsn: u(input.available_from_lsn),
      replicaLsn: u(input.replica_lsn),
      basebackups: arr(input.basebackups).map(manifest),
    })
    return {mode: plan.mode, selected_checkpoint_lsn: plan.selected?.checkpoint_lsn ?? null}
  },
  promote(input) {
    const next = promoteHistory(input.history === null ? null : history(input.history), String(input.replica_id), u(input.applied_lsn), u(input.now_ms))
    return CODECS['timeline-history'].toJson(next)
  },
  'select-candidate'(input) {
    const chosen = selectPromotionCandidate(u(input.timeline), arr(input.acks).map(ack))
    return chosen && {replica_id: chosen.replica_id, timeline: chosen.timeline, received_lsn: chosen.received_lsn, flushed_lsn: chosen.flushed_lsn, applied_lsn: chosen.applied_lsn}
  },
  durability(input) {
    const mode = String(input.mode) as Parameters<typeof isDurable>[0]['mode']
    return {satisfied: isDurable({mode, quorum: u(input.quorum), commitLsn: u(input.commit_lsn), acks: arr(input.acks).map(ack)})}
  },
}

function retentionShape(plan: ReturnType<typeof planRetention>): unknown {
  return {
    oldest_required_lsn: plan.oldest_required_lsn,
    retained_bytes_before_prune: plan.retained_bytes_before_prune,
    retained_bytes_after_prune: plan.retained_bytes_after_prune,
    removable_segment_indexes: plan.removable_segment_indexes,
  }
}

/** Compares an outcome with `expected` or `expected_error` (the RedDB text, prefix dropped). */
function judge(run: () => unknown, expectation: JsonObject): string | undefined {
  let outcome: unknown
  try {
    outcome = run()
  } catch (error) {
    if (!('expected_error' in expectation)) return `threw: ${(error as Error).message}`
    const wanted = String(expectation.expected_error).replace(/^[A-Z_]+: /, '')
    return (error as Error).message.includes(wanted) ? undefined : `error "${(error as Error).message}" does not say "${wanted}"`
  }
  if ('expected_error' in expectation) return `expected error "${expectation.expected_error}", got ${shorten(canonical(outcome))}`
  const got = canonical(outcome)
  const expected = canonical(expectation.expected)
  return got === expected ? undefined : `got ${shorten(got)}, expected ${shorten(expected)}`
}

function decisionCases(root: string): CaseResult[] {
  const results: CaseResult[] = []
  for (const command of subdirs(path.join(root, 'decisions'))) {
    const decide = DECISIONS[command]
    const dir = path.join(root, 'decisions', command)
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
      const name = `decisions/${command}/${file.slice(0, -5)}`
      if (!decide) {
        results.push({name, failure: `no decision named ${command}`})
        continue
      }
      results.push(
        attempt(name, () => {
          const fixture = obj(readJson(path.join(dir, file)))
          return judge(() => decide(obj(fixture.input)), fixture)
        }),
      )
    }
  }
  return results
}

// --- layouts -----------------------------------------------------------------

async function layoutCases(root: string, context: CodecContext): Promise<CaseResult[]> {
  const dir = path.join(root, 'layouts')
  if (!existsSync(dir)) return []
  const results: CaseResult[] = []
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.expected.json')).sort()) {
    const name = file.slice(0, -'.expected.json'.length)
    const expected = obj(readJson(path.join(dir, file)))
    const dataPath = path.join(dir, name, String(expected.data_path))
    const layout = Layout.fromDataPath(dataPath)
    const label = `layouts/${name}`
    try {
      const timeline = await readCurrentTimeline(layout)
      const segments = await listWalSegments(layout, timeline)
      const head = await readWalHead(layout, timeline, segments)
      results.push({name: `${label}/current-timeline`, failure: timeline === u(expected.current_timeline) ? undefined : `current timeline ${timeline}, expected ${expected.current_timeline}`})
      results.push({name: `${label}/wal-head`, failure: (head ?? 0n) === u(expected.wal_head) ? undefined : `WAL head ${head}, expected ${expected.wal_head}`})
      for (const entry of arr(expected.verify).map(obj)) {
        results.push(
          attempt(`${label}/verify/${entry.path}`, () => {
            const kind = String(entry.kind) as ArtifactKind
            let error: string | null = null
            try {
              CODECS[kind].decode(new Uint8Array(readFileSync(path.join(layout.root, String(entry.path)))), context)
            } catch (caught) {
              error = (caught as Error).message
            }
            const ok = error === null
            return ok === entry.ok ? undefined : ok ? 'decoded, but RedDB rejects it' : `rejected: ${error}`
          }),
        )
      }
      if (existsSync(dataPath)) {
        // The node's own database, written by the release that made the set (§9).
        results.push(
          attempt(`${label}/data-file`, () => {
            CODECS['embedded-rdb'].decode(new Uint8Array(readFileSync(dataPath)), context)
            return undefined
          }),
        )
      }
      const slots = await readSlotCatalog(layout, timeline)
      const history = await readHistory(layout)
      for (const [i, entry] of arr(expected.retention ?? []).map(obj).entries()) {
        const policy = obj(entry.policy)
        results.push(
          attempt(`${label}/retention/${i}`, () =>
            judge(
              () =>
                retentionShape(
                  planRetention({
                    segmentBytes: u(expected.segment_bytes),
                    timeline,
                    policy: {min_segments: u(policy.min_segments), max_bytes: u(policy.max_bytes), keep_until_replicas_ack: policy.keep_until_replicas_ack === true},
                    catalog: slots,
                    forkLsns: [],
                    currentLsn: u(entry.current_lsn),
                    segments: segments.map((s) => ({index: s.index, bytes: s.bytes})),
                  }),
                ),
              entry,
            ),
          ),
        )
      }
      for (const [i, entry] of arr(expected.rejoin ?? []).map(obj).entries()) {
        results.push(
          attempt(`${label}/rejoin/${i}`, () => {
            if (history === null) return 'layout has no timeline history'
            return judge(
              () =>
                rejoinShape(
                  planRejoin({history, nodeTimeline: u(entry.node_timeline), nodeFlushedLsn: u(entry.node_flushed_lsn), availableFromLsn: u(entry.available_from_lsn)}),
                ),
              entry,
            )
          }),
        )
      }
    } catch (error) {
      results.push({name: label, failure: `threw: ${(error as Error).message}`})
    }
  }
  return results
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ')
  return flat.length > 400 ? `${flat.slice(0, 400)}…` : flat
}

export async function runConformance(root: string): Promise<CaseResult[]> {
  let context: CodecContext
  try {
    context = {nowMs: NOW_MS, reddb: releaseOfFixtureSet(root)}
  } catch (error) {
    return [{name: 'MANIFEST.json', failure: (error as Error).message}]
  }
  return [...validCases(root, context), ...rejectedCases(root, 'invalid', context), ...rejectedCases(root, 'crashes', context), ...decisionCases(root), ...(await layoutCases(root, context))]
}
