import os from 'node:os'

import {Flags} from './oclif.js'

import {usageError} from '../core/errors.js'
import {
  checkNodeName,
  CONNECT_TIMEOUT_MS,
  formatSeconds,
  IDLE_TIMEOUT_MS,
  networkLimits,
  openRunRepository,
  type Compression,
  type KeySources,
  type NetworkLimits,
  type RepoBackend,
  type RepoSettings,
} from '../core/ops/repo/open.js'
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

/** `--repo-name`: a `[repo.NAME]` section of the config file (hooks/preparse-config.ts turns it into --repo and that repository's options). */
export function repoNameFlag(description = 'The repository of this [repo.NAME] section of the config file: its url and its own options (compression, S3 endpoint and region, timeout, retention). Not with --repo.') {
  return Flags.string({description, helpValue: 'NAME'})
}

/** The flags every `repo` command shares: where the repository is, how to reach it, and whose namespace. */
export const repoFlags = {
  json: jsonFlag,
  repo: Flags.string({description: 'The repository: a directory (file:///mnt/backups/redrepl or a plain path) or s3://bucket/prefix.', env: 'REDREPL_REPO', helpValue: 'URL'}),
  'repo-name': repoNameFlag(),
  node: Flags.string({
    description: 'The replica set\'s namespace in the repository: give every member the same name (--cluster is the same flag). Default: the host name up to its first dot, which suits one node pushing alone.',
    aliases: ['cluster'],
    env: 'REDREPL_NODE',
    helpValue: 'NAME',
  }),
  's3-endpoint': Flags.string({description: 'An S3-compatible endpoint URL (MinIO, Ceph, …); default: AWS.', env: 'REDREPL_S3_ENDPOINT', helpValue: 'URL'}),
  's3-region': Flags.string({description: 'The S3 region (default: AWS_REGION, else us-east-1).', env: 'REDREPL_S3_REGION', helpValue: 'REGION'}),
  's3-force-path-style': Flags.boolean({description: 'Address the bucket in the path (http://host/bucket/key), as most S3-compatible servers need.', env: 'REDREPL_S3_FORCE_PATH_STYLE'}),
  's3-sse': Flags.string({
    description: 'S3 server-side encryption of each object written: AES256 (SSE-S3) or aws:kms (SSE-KMS; aws:kms:dsse for dual-layer). Independent of "repo init --encrypt", which seals objects before they leave the host.',
    options: ['AES256', 'aws:kms', 'aws:kms:dsse'],
    env: 'REDREPL_S3_SSE',
    helpValue: 'AES256|aws:kms',
  }),
  's3-kms-key-id': Flags.string({description: 'The KMS key (id, alias/NAME or ARN) for --s3-sse aws:kms; default: the bucket\'s or the account\'s aws/s3 key.', env: 'REDREPL_S3_KMS_KEY_ID', helpValue: 'KEY'}),
  's3-storage-class': Flags.string({
    description: 'The S3 storage class of each object written (STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, …). GLACIER and DEEP_ARCHIVE are refused: their objects cannot be read without a restore.',
    env: 'REDREPL_S3_STORAGE_CLASS',
    helpValue: 'CLASS',
  }),
  'passphrase-file': Flags.string({
    description: 'An encrypted repository\'s passphrase, as the first line of this file (the passphrase itself is never a flag: else REDREPL_REPO_PASSPHRASE). Refused by a repository that is not encrypted.',
    env: 'REDREPL_REPO_PASSPHRASE_FILE',
    helpValue: 'FILE',
  }),
  'key-file': Flags.string({description: 'An encrypted repository\'s key file (32 bytes, made by "repo key create"), instead of a passphrase.', env: 'REDREPL_REPO_KEY_FILE', helpValue: 'FILE'}),
  timeout: timeoutFlag(DEFAULT_TIMEOUT_MS.listing),
}

/** The S3 server-side options as the flags give them; checked where the repository opens. */
export function serverSideFromFlags(flags: {'s3-sse'?: string; 's3-kms-key-id'?: string; 's3-storage-class'?: string}): RepoSettings['s3ServerSide'] {
  if (flags['s3-sse'] === undefined && flags['s3-kms-key-id'] === undefined && flags['s3-storage-class'] === undefined) return undefined
  return {sse: flags['s3-sse'], kmsKeyId: flags['s3-kms-key-id'], storageClass: flags['s3-storage-class']}
}

/** The environment variable that may hold an encrypted repository's passphrase. */
export const PASSPHRASE_ENV = 'REDREPL_REPO_PASSPHRASE'

/** Where the key of an encrypted repository comes from: --passphrase-file, --key-file, else the passphrase in the environment. */
export function keySourcesFromFlags(flags: {'passphrase-file'?: string; 'key-file'?: string}): KeySources {
  return {passphraseFile: flags['passphrase-file'], keyFile: flags['key-file'], passphrase: process.env[PASSPHRASE_ENV]}
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

export async function openRepoFromFlags(flags: {repo?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; 's3-sse'?: string; 's3-kms-key-id'?: string; 's3-storage-class'?: string; 'passphrase-file'?: string; 'key-file'?: string; compress?: Compression; 'compress-level'?: number; 'max-rate'?: number; timeout?: number}, signal?: AbortSignal): Promise<RepoBackend> {
  if (flags.repo === undefined || flags.repo === '') throw usageError('no repository: pass --repo URL or --repo-name NAME, or set REDREPL_REPO')
  const limits = limitsFromTimeout(flags.timeout)
  return openRunRepository({url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], compression: flags.compress, compressLevel: flags['compress-level'], limits, keys: keySourcesFromFlags(flags), s3ServerSide: serverSideFromFlags(flags)}, flags['max-rate'], signal)
}

export const compressFlag = Flags.custom<Compression>({
  description: 'How to store new objects: none, gzip, or zstd (on every Node: its own zlib where it has zstd, 22.15+, else the bundled @bokuweb/zstd-wasm, loaded only when zstd is used). Compressed objects are named <key>.<size>.gz|zst and read back by every repo command; objects already there are not rewritten.',
  options: ['none', 'gzip', 'zstd'],
  default: 'none',
  helpValue: 'none|gzip|zstd',
})()

export const compressLevelFlag = Flags.integer({
  description: 'The compression level: gzip 1-9 (default 6), zstd 1-19 (default 3). Higher levels store fewer bytes for more CPU (see BENCHMARKS.md).',
  helpValue: 'N',
})

/** The repository's settings from its flags, for an operation that opens the store itself (repo init, repo key). */
export function repoSettingsFromFlags(flags: {repo?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; 's3-sse'?: string; 's3-kms-key-id'?: string; 's3-storage-class'?: string; timeout?: number}): RepoSettings {
  if (flags.repo === undefined || flags.repo === '') throw usageError('no repository: pass --repo URL or set REDREPL_REPO')
  return {url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], limits: limitsFromTimeout(flags.timeout), s3ServerSide: serverSideFromFlags(flags)}
}

/** scrypt's cost for a new passphrase key. */
export const scryptCostFlag = Flags.integer({
  description: 'scrypt\'s cost for a new passphrase key, as N = 2^VALUE (r = 8, p = 1): 17 uses 128 MiB and about half a second to open the repository; 15-20. Recorded in the config object.',
  min: 15,
  max: 20,
  default: 17,
  helpValue: 'LOG2_N',
})

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
    'repo-name': repoNameFlag('The repository of this [repo.NAME] section of the config file, instead of --repo.'),
    node: repoFlags.node,
    's3-endpoint': repoFlags['s3-endpoint'],
    's3-region': repoFlags['s3-region'],
    's3-force-path-style': repoFlags['s3-force-path-style'],
    'passphrase-file': repoFlags['passphrase-file'],
    'key-file': repoFlags['key-file'],
    timeout: timeoutFlag(defaultTimeoutMs),
  }
}

/** The repository and node when --repo (or REDREPL_REPO, or the config file) names one; its deadline starts now. */
export function optionalRepository(flags: {repo?: string; node?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; 'passphrase-file'?: string; 'key-file'?: string; timeout?: number}): {settings: RepoSettings; node: string} | undefined {
  if (flags.repo === undefined || flags.repo === '') return undefined
  return {
    settings: {url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], limits: limitsFromTimeout(flags.timeout), keys: keySourcesFromFlags(flags)},
    node: resolveNode(flags.node).node,
  }
}

/** What the commands that set up an encrypted repository or change its keys take: where it is, how it is reached, the key that opens it. */
export const repoKeyFlags = {
  json: repoFlags.json,
  repo: repoFlags.repo,
  's3-endpoint': repoFlags['s3-endpoint'],
  's3-region': repoFlags['s3-region'],
  's3-force-path-style': repoFlags['s3-force-path-style'],
  's3-sse': repoFlags['s3-sse'],
  's3-kms-key-id': repoFlags['s3-kms-key-id'],
  's3-storage-class': repoFlags['s3-storage-class'],
  'passphrase-file': repoFlags['passphrase-file'],
  'key-file': repoFlags['key-file'],
  timeout: repoFlags.timeout,
}

/** A repository's keys after `repo key add` or `remove`: `id (kind), …`. */
export const keyList = (report: {keys: ReadonlyArray<{key_id: string; kind: string}>}): string => report.keys.map((k) => `${k.key_id} (${k.kind})`).join(', ')
