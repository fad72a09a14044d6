import path from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {usageError} from '../errors.js'
import type {RepoBackend} from './backend.js'
import {checkCompression, CodecBackend, type Compression} from './codec.js'
import {sealedStore, type KeySources} from './encryption.js'
import {LocalBackend} from './local.js'
import type {NetworkLimits} from './network.js'
import {throttledBackend} from './throttled.js'
import {S3_SSE, S3_STORAGE_CLASSES, type S3ServerSide, type S3Sse, type S3StorageClass} from './s3-options.js'

export interface RepoSettings {
  /** `file:///dir`, a plain path, or `s3://bucket/prefix`. */
  url: string
  s3Endpoint?: string
  s3Region?: string
  s3ForcePathStyle?: boolean
  /** SSE and storage class for objects written to S3 (checkServerSide); refused for a directory. */
  s3ServerSide?: {sse?: string; kmsKeyId?: string; storageClass?: string}
  /** How new objects are stored (default none); objects of every codec are read whatever this says. */
  compression?: Compression
  /** The level of `compression`; its default when not given. */
  compressLevel?: number
  /** Timeouts and the run's deadline for a store on the network (s3://). */
  limits?: NetworkLimits
  /** The key of an encrypted repository (repo/encryption.ts); given to an unencrypted one, it is refused. */
  keys?: KeySources
  /** `--max-rate`: bytes a second every transfer of the run shares (repo/throttled.ts); none when not given. */
  maxRate?: number
  /** Ends a wait for the pace (the run stopping). */
  paceSignal?: AbortSignal
}

/**
 * Opens the repository a URL names: the one place the stack is built. It
 * reads and writes through the pace of `--max-rate` (repo/throttled.ts),
 * over the codec layer (repo/codec.ts), over the sealing layer of an
 * encrypted repository (repo/seal.ts): paced, compressed, then sealed.
 */
export async function openRepository(settings: RepoSettings): Promise<RepoBackend> {
  const {compression, level} = checkCompression(settings.compression ?? 'none', settings.compressLevel)
  const store = await openStore(settings)
  try {
    const backend = new CodecBackend(await sealedStore(store, settings.keys), compression, level)
    return settings.maxRate === undefined ? backend : throttledBackend(backend, settings.maxRate, settings.paceSignal)
  } catch (error) {
    await store.close()
    throw error
  }
}

/** The store itself, without the codec layer; the S3 backend (and the AWS SDK) load only for s3://. */
export async function openStore(settings: RepoSettings): Promise<RepoBackend> {
  const url = settings.url
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length)
    const slash = rest.indexOf('/')
    const bucket = slash < 0 ? rest : rest.slice(0, slash)
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+/, '')
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw usageError(`repository ${url}: "${bucket}" is not a valid S3 bucket name`)
    const serverSide = checkServerSide(settings.s3ServerSide)
    const {S3Backend} = await import('./s3.js')
    return S3Backend.open({bucket, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`, endpoint: settings.s3Endpoint, region: settings.s3Region, forcePathStyle: settings.s3ForcePathStyle, limits: settings.limits, serverSide})
  }
  if (settings.s3ServerSide !== undefined && Object.values(settings.s3ServerSide).some((v) => v !== undefined)) {
    throw usageError(`repository ${url}: --s3-sse, --s3-kms-key-id and --s3-storage-class apply to an s3:// repository only`)
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) throw usageError(`repository ${url}: only file:// (or a plain path) and s3:// are supported`)
  return LocalBackend.open(localRepoDir(url)!, url)
}

/**
 * One name per repository, whichever way it was typed: a directory as a
 * file:// URL of its absolute path (`./backups`, `/srv/backups/` and
 * `file:///srv/backups` alike), an S3 location without trailing slashes.
 * What a saved plan records, so that applying it with another spelling of
 * the same repository is no change.
 */
export function repositoryIdentity(url: string): string {
  const dir = localRepoDir(url)
  if (dir !== undefined) return pathToFileURL(dir).href.replace(/\/+$/, '')
  return url.replace(/\/+$/, '')
}

/** The directory of a file:// (or plain path) repository; undefined for any other kind. */
export function localRepoDir(url: string): string | undefined {
  if (url.startsWith('file://')) return fileURLToPath(url)
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? undefined : path.resolve(url)
}

/** Checks the S3 server-side options before any request: known names only, a KMS key id only with SSE-KMS. */
export function checkServerSide(options: RepoSettings['s3ServerSide']): S3ServerSide | undefined {
  if (options === undefined) return undefined
  const {sse, kmsKeyId, storageClass} = options
  if (sse !== undefined && !(S3_SSE as readonly string[]).includes(sse)) throw usageError(`--s3-sse ${sse}: must be one of ${S3_SSE.join(', ')}`)
  if (kmsKeyId !== undefined && (sse === undefined || !sse.startsWith('aws:kms'))) throw usageError('--s3-kms-key-id needs --s3-sse aws:kms (or aws:kms:dsse)')
  if (kmsKeyId !== undefined && !/^[A-Za-z0-9:/_+=.@-]{1,2048}$/.test(kmsKeyId)) throw usageError(`--s3-kms-key-id ${JSON.stringify(kmsKeyId)}: not a KMS key id, alias or ARN`)
  if (storageClass !== undefined && !(S3_STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
    const archive = storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE'
    throw usageError(`--s3-storage-class ${storageClass}: ${archive ? 'its objects cannot be read without a restore, which pushes and restores need' : `must be one of ${S3_STORAGE_CLASSES.join(', ')}`}`)
  }
  return {sse: sse as S3Sse | undefined, kmsKeyId, storageClass: storageClass as S3StorageClass | undefined}
}
