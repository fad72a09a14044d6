import os from 'node:os'

import {Flags} from './oclif.js'

import {usageError} from '../core/errors.js'
import type {RepoBackend} from '../core/repo/backend.js'
import type {Compression} from '../core/repo/codec.js'
import {openRepository, type RepoSettings} from '../core/repo/open.js'
import {checkNodeName} from '../core/repo/keys.js'
import {throttledBackend} from '../core/repo/throttled.js'
import {byteSizeFlag, jsonFlag, maxRateFlag} from './flags.js'

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
}

/** The flags of the commands that move object bodies (push, restore, fetch-wal). */
export const transferFlags = {
  'max-rate': maxRateFlag,
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

export async function openRepoFromFlags(flags: {repo?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean; compress?: Compression; 'max-rate'?: number}): Promise<RepoBackend> {
  if (flags.repo === undefined || flags.repo === '') throw usageError('no repository: pass --repo URL or set REDREPL_REPO')
  const backend = await openRepository({url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style'], compression: flags.compress})
  return flags['max-rate'] === undefined ? backend : throttledBackend(backend, flags['max-rate'])
}

export const compressFlag = Flags.custom<Compression>({
  description: 'How to store new objects: none, gzip, or zstd (zstd needs Node 22.15+; refused where its zlib lacks it). Compressed objects are named <key>.<size>.gz|zst and read back by every repo command; objects already there are not rewritten.',
  options: ['none', 'gzip', 'zstd'],
  default: 'none',
  helpValue: 'none|gzip|zstd',
})()

/** Opens the repository, runs `work`, and closes it whatever happens. */
export async function withRepository<T>(flags: Parameters<typeof openRepoFromFlags>[0], work: (backend: RepoBackend) => Promise<T>): Promise<T> {
  const backend = await openRepoFromFlags(flags)
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
export function optionalRepoFlags(repoDescription: string) {
  return {
    repo: Flags.string({description: repoDescription, env: 'REDREPL_REPO', helpValue: 'URL'}),
    node: repoFlags.node,
    's3-endpoint': repoFlags['s3-endpoint'],
    's3-region': repoFlags['s3-region'],
    's3-force-path-style': repoFlags['s3-force-path-style'],
  }
}

/** The repository and node when --repo (or REDREPL_REPO, or the config file) names one. */
export function optionalRepository(flags: {repo?: string; node?: string; 's3-endpoint'?: string; 's3-region'?: string; 's3-force-path-style': boolean}): {settings: RepoSettings; node: string} | undefined {
  if (flags.repo === undefined || flags.repo === '') return undefined
  return {
    settings: {url: flags.repo, s3Endpoint: flags['s3-endpoint'], s3Region: flags['s3-region'], s3ForcePathStyle: flags['s3-force-path-style']},
    node: resolveNode(flags.node).node,
  }
}
