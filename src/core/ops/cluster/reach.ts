import {execa} from 'execa'

import {parseJson, type JsonObject, type JsonValue} from '../../codec/json.js'
import type {InventoryNode} from '../../config/inventory.js'
import {oneLine} from '../../errors.js'
import type {ClusterNodeReport} from '../../plan/cluster.js'

/**
 * Reaches each node of a cluster through its transport and reads its
 * `cluster node --json` document: argv only (never a shell string built
 * from config values; for ssh, whose remote side is a shell, each word is
 * quoted), a deadline per node that kills the transport's whole process
 * group, and a limit on how many run at once. A node that fails is a reason,
 * never an exception, so one node cannot stop or stall the view of the others.
 */

export type NodeReach = {name: string; reached: true; state: ClusterNodeReport} | {name: string; reached: false; reason: string}

export interface ReachOptions {
  /** How this very redrepl is started, for nodes on this machine without a `redrepl` key. */
  self: string[]
  timeoutMs: number
  concurrency: number
}

/** A --json document larger than this is not a node's state. */
const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/
const quoteForShell = (word: string) => (PLAIN.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)

export function nodeArgv(node: InventoryNode, self: string[], args = ['cluster', 'node', '--data-path', node.data_path, '--json']): string[] {
  const command = [...(node.redrepl ?? self), ...args]
  return [...node.transport, ...(node.remote_shell ? command.map(quoteForShell) : command)]
}

export async function reachNodes(nodes: InventoryNode[], options: ReachOptions): Promise<NodeReach[]> {
  const results: NodeReach[] = new Array(nodes.length)
  let next = 0
  const worker = async () => {
    while (next < nodes.length) {
      const index = next++
      results[index] = await reachNode(nodes[index], options)
    }
  }
  await Promise.all(Array.from({length: Math.max(1, Math.min(options.concurrency, nodes.length))}, worker))
  return results
}

async function reachNode(node: InventoryNode, options: ReachOptions): Promise<NodeReach> {
  const ran = await runOnNode(node, ['cluster', 'node', '--data-path', node.data_path, '--json'], options, 'a cluster node document')
  if (!ran.ok) return {name: node.name, reached: false, reason: ran.reason}
  try {
    return {name: node.name, reached: true, state: checkNodeDocument(ran.document)}
  } catch (error) {
    return {name: node.name, reached: false, reason: oneLine(`the transport's answer is not a cluster node document: ${(error as Error).message}`).slice(0, 400)}
  }
}

/** A redrepl run on a node: its --json document, or why there is none (with its exit code when it ran to one). */
export type NodeRun = {ok: true; document: JsonValue} | {ok: false; reason: string; exitCode: number | null}

/**
 * Runs `redrepl ARGS` on the node through its transport (argv; quoted word by
 * word for ssh's remote shell) under the per-node deadline, and parses what
 * it prints as a lossless JSON document.
 */
export async function runOnNode(node: InventoryNode, args: string[], options: Pick<ReachOptions, 'self' | 'timeoutMs'>, expected = 'a JSON document'): Promise<NodeRun> {
  const argv = nodeArgv(node, options.self, args)
  const fail = (reason: string, exitCode: number | null = null): NodeRun => ({ok: false, reason: oneLine(reason).slice(0, 400), exitCode})
  // Its own process group, so the deadline also ends what the transport started (ssh's children, a shell's sleep).
  const child = execa(argv[0], argv.slice(1), {detached: true, reject: false, stdin: 'ignore', maxBuffer: MAX_DOCUMENT_BYTES, stripFinalNewline: false, encoding: 'utf8'})
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }, options.timeoutMs)
  const result = await child
  clearTimeout(timer)
  if (timedOut) return fail(`no answer within ${options.timeoutMs / 1000}s (${argv[0]})`)
  if (result.failed && result.exitCode === undefined) return fail(`cannot run ${argv[0]}: ${result.shortMessage}`)
  const stderr = String(result.stderr).trim().split('\n').filter((line) => line.trim() !== '').at(-1)
  if (result.exitCode !== 0) return fail(`${argv[0]} exited ${result.exitCode}${stderr ? `: ${stderr}` : ''}`, result.exitCode ?? null)
  try {
    return {ok: true, document: parseJson(String(result.stdout))}
  } catch (error) {
    return fail(`the transport's answer is not ${expected}: ${(error as Error).message}`, 0)
  }
}

const isObject = (value: JsonValue | undefined): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

function u64(object: JsonObject, key: string, nullable = false): void {
  const value = object[key]
  if (nullable && value === null) return
  if (typeof value !== 'bigint' || value < 0n) throw new Error(`${key} is not an unsigned integer`)
}

function str(object: JsonObject, key: string, nullable = false): void {
  if (nullable && object[key] === null) return
  if (typeof object[key] !== 'string') throw new Error(`${key} is not a string`)
}

/** The fields the cluster view reads, checked before any is used: what a transport prints is not trusted. */
export function checkNodeDocument(value: JsonValue): ClusterNodeReport {
  if (!isObject(value)) throw new Error('not a JSON object')
  if (value.schema !== 'redrepl.cluster-node/1') throw new Error(`schema is ${JSON.stringify(value.schema ?? null)}, not "redrepl.cluster-node/1"`)
  str(value, 'data_path')
  if (!['primary', 'replica', 'unknown'].includes(value.role as string)) throw new Error('role is not primary, replica or unknown')
  u64(value, 'timeline')
  u64(value, 'wal_head_lsn', true)
  u64(value, 'oldest_wal_lsn', true)
  if (!Array.isArray(value.history) || value.history.length === 0) throw new Error('history is not a list of entries')
  for (const entry of value.history) {
    if (!isObject(entry)) throw new Error('a history entry is not an object')
    u64(entry, 'timeline')
    u64(entry, 'parent_timeline', true)
    u64(entry, 'fork_lsn')
    str(entry, 'reason')
  }
  if (!Array.isArray(value.acks)) throw new Error('acks is not a list')
  for (const ack of value.acks) {
    if (!isObject(ack)) throw new Error('an ack is not an object')
    for (const key of ['timeline', 'received_lsn', 'written_lsn', 'flushed_lsn', 'applied_lsn']) u64(ack, key)
    for (const key of ['replica_id', 'path']) str(ack, key)
    str(ack, 'invalidation_reason', true)
    if (!['slot-catalog', 'relay-manifest', 'legacy-store'].includes(ack.source as string)) throw new Error('an ack has an unknown source')
  }
  if (value.relay_replica_ids !== undefined) {
    if (!Array.isArray(value.relay_replica_ids) || value.relay_replica_ids.some((id) => typeof id !== 'string')) throw new Error('relay_replica_ids is not a list of strings')
  }
  if (value.reddb_pids !== undefined && value.reddb_pids !== null) {
    if (!Array.isArray(value.reddb_pids) || value.reddb_pids.some((pid) => typeof pid !== 'bigint' || pid <= 0n)) throw new Error('reddb_pids is not a list of pids')
    value.reddb_pids = value.reddb_pids.map((pid) => Number(pid))
  }
  if (!Array.isArray(value.findings)) throw new Error('findings is not a list')
  for (const found of value.findings) {
    if (!isObject(found)) throw new Error('a finding is not an object')
    for (const key of ['code', 'severity', 'path', 'message']) str(found, key)
    if (!isObject(found.data)) throw new Error('a finding has no data object')
  }
  const {schema: _schema, ...state} = value
  return state as unknown as ClusterNodeReport
}
