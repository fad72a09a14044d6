import os from 'node:os'

import {Flags} from './oclif.js'

import {usageError} from '../core/errors.js'
import type {RepoBackend} from '../core/repo/backend.js'
import type {Compression} from '../core/repo/codec.js'
import type {RepoSettings} from '../core/repo/open.js'
import {checkNodeName} from '../core/repo/keys.js'
import {CONNECT_TIMEOUT_MS, formatSeconds, IDLE_TIMEOUT_MS, networkLimits, type NetworkLimits} from '../core/repo/network.js'
import {byteSizeFlag, jsonFlag, maxRateFlag} from './flags.js'
import {parseDuration} from './numbers.js'

/**
 * The default --timeout of each kind of command, in ms (0: no deadline).
 * check and metrics answer Nagios (whose service check timeout is 60 s)
 * and a per-minute scrape, so they give the repository 20 s. wal plan and
 * prune read one listing while holding the layout lock, which other writers
 * wait on: 2 minutes lists a few hundred thousand keys even from a slow
 * store. repo list and expire list and delete, 10 minutes. Transfers
 * (push, restore, fetch-wal, verify) take as long as their bytes do, so
 * they have no deadline by default: every wait in them is still bounded
 * by the connect and idle timeouts (repo/network.ts).
 */
export const DEFAULT_TIMEOUT_MS = {monitor: 20_000, retention: 120_000, listing: 600_000, transfer: 0} as const

/** setTimeout's own limit, about 24.8 days. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** `--timeout`: the run's deadline for its repository work, in ms; 0 for none. */
export function timeoutFlag(defaultMs: number) {
  return Flags.custom<number>({
    description: `Give up on the repository after this long (e.g. 20s, 5m; "off" for no deadline), counted from when the run turns to the repository (for check and metrics, from the start; for a writer, once it holds the layout lock). Each request also fails after ${formatSeconds(CONNECT_TIMEOUT_MS)} without a connection or ${formatSeconds(IDLE_TIMEOUT_MS)} without a byte from the store (shorter when the deadline is), and is tried up to 3 times with backoff.`,
    helpValue: 'DURATION|off',
    default: defaultMs,
    defaultHelp: async () => (defaultMs === 0 ? 'off' : defaultMs % 60_000 === 0 ? `${defaultMs / 60_000}m` : `${defaultMs / 1000}s`),
    async parse(input, _context, options) {
      const text = input.trim().toLowerCase()
      if (text === 'off' || text === '0') return 0
      const ms = parseDuration(input, options.name ?? 'timeout')
      if (ms === 0n || ms > BigInt(MAX_TIMEOUT_MS)) throw usageError(`--${options.name ?? 'timeout'} must be between 1ms and ${MAX_TIMEOUT_MS}ms, or off; got "${input}"`)
      return Number(ms)
    },
  })()
}

/** The network limits of a run whose --timeout is `timeoutMs` (0: none); the deadline starts now. */
export function limitsFromTimeout(timeoutMs: number | undefined): NetworkLimits {
  return networkLimits(timeoutMs === undefined || timeoutMs === 0 ? null : timeoutMs)
}

/** The flags every `repo` command shares: where the repository is, how to reach it, and whose namespace. */
export const repoFlags = {
  json: jsonFlag,
  repo: Flags.string({description: 'The repository: a directory (file:///mnt/backups/redrepl or a plain path) or s3://bucket/prefix.', env: 'REDREPL_REPO', helpValue: 'URL'}),
  node: Flags.string({
    description: 'The replica set\'s namespace in the repository: give every member the same name (--cluster is the same flag). Default: the host name up to its first dot, which suits one node pushing alone.',
    aliases: ['cluster'],
    env: 'REDREPL_NODE',
    helpValue: 'NAME',
  }),
  's3-endpoint': Flags.string({description: 'An S3-compatible endpoint URL (MinIO, Ceph, …); default: AWS.', env: 'REDREPL_S3_ENDPOINT', helpValue: 'URL'}),
  's3-region': Flags.string({description: 'The S3 region (default: AWS_REGION, else us-east-1).', env: 'REDREPL_S3_REGION', helpValue: 'REGION'}),
  's3-force-path-style': Flags.boolean({description: 'Address the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.', env: 'REDREPL_S3_FORCE_PATH_STYLE'}),
  timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.listing),
}

/** The flags of the commands that move object bodies (push, restore, fetch-wal): no deadline by default. */
export const transferFlags = {
  'max-rate': maxRateFlag,
  timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.transfer),
}

export const jobsFlag = Flags.integer({description: 'Transfers to run at once [default: 8 to a directory, 4 to S3].', min: 1, max: 64, helpValue: 'N'})

export const segmentBytesFlag = byteSizeFlag({
  description: 'Not needed: the repository records the WAL segment size from the segment headers at push. Given, it must match (refused otherwise); used only where the repository knows none.',
})

/** The node name: the flag, else the host name's first label; a usage error when neither is a valid name. */
export function resolveNode(flag: string | undefined): {node: string; node_source: 'flag' | 'hostname'} {
  if (flag !== undefined) return {node: checkNodeName(flag), node_source: 'flag'}
  const host = os.hostname().split('.')[0]
  try {
    return {node: checkNodeName(host), node_source: 'hostname'}
  } catch {
    throw usageError(`the host name ${JSON.stringify(host)} is not usable as a node name`, {hint: 'pass --node NAME or set REDREPL_NODE'})
  }
}

export async function openRepoFromFlags(flags: {repo?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; compress?: Compression; 'max-rate'?: number; timeout?: number}, signal?: AbortSignal): Promise<RepoBackend> {
  if (flags.repo === undefined || flags.repo === '') throw usageError('no repository: pass --repo URL or set REDREPL_REPO')
  const limits = limitsFromTimeout(flags.timeout)
  // Loaded here, not at start-up: every command with repository flags imports this module, and most runs name no repository.
  const [{openRepository}, {throttledBackend}] = await Promise.all([import('../core/repo/open.js'), import('../core/repo/throttled.js')])
  const backend = await openRepository({url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], compression: flags.compress, limits})
  return flags['max-rate'] === undefined ? backend : throttledBackend(backend, flags['max-rate'], signal)
}

export const compressFlag = Flags.custom<Compression>({
  description: 'How to store new objects: none, gzip, or zstd (zstd needs Node 22.15+; refused where its zlib lacks it). Compressed objects are named <key>.<size>.gz|zst and read back by every repo command; objects already there are not rewritten.',
  options: ['none', 'gzip', 'zstd'],
  default: 'none',
  helpValue: 'none|gzip|zstd',
})()

/** Opens the repository, runs `work`, and closes it whatever happens; `signal` also ends a --max-rate wait. */
export async function withRepository<T>(flags: Parameters<typeof openRepoFromFlags>[0], work: (backend: RepoBackend) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const backend = await openRepoFromFlags(flags, signal)
  try {
    return await work(backend)
  } finally {
    await backend.close()
  }
}

/**
 * The repository flags for commands that only read a node's archive state
 * (`wal plan`/`prune`, `check`, `metrics`): --repo is optional there, and
 * its description says what it changes for the command.
 */
export function optionalRepoFlags(repoDescription: string, defaultTimeoutMs: number) {
  return {
    repo: Flags.string({description: repoDescription, env: 'REDREPL_REPO', helpValue: 'URL'}),
    node: repoFlags.node,
    's3-endpoint': repoFlags['s3-endpoint'],
    's3-region': repoFlags['s3-region'],
    's3-force-path-style': repoFlags['s3-force-path-style'],
    timeout: timeoutFlag(defaultTimeoutMs),
  }
}

/** The repository and node when --repo (or REDREPL_REPO, or the config file) names one; its deadline starts now. */
export function optionalRepository(flags: {repo?: string; node?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; timeout?: number}): {settings: RepoSettings; node: string} | undefined {
  if (flags.repo === undefined || flags.repo === '') return undefined
  return {
    settings: {url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], limits: limitsFromTimeout(flags.timeout)},
    node: resolveNode(flags.node).node,
  }
}
