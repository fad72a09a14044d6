import {Readable} from 'node:stream'

import type {S3Client} from '@aws-sdk/client-s3'

import {notFound, refused, RedreplError} from '../errors.js'
import {owned, type PutOptions, type RepoBackend, type RepoObject} from './backend.js'
import {checkKey} from './keys.js'

export interface S3Settings {
  bucket: string
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string
  endpoint?: string
  region?: string
  forcePathStyle?: boolean
}

/** Parts of a multipart upload, and how many go at once: memory is about their product per transfer. */
const PART_BYTES = 8 * 1024 * 1024
const PARTS_IN_FLIGHT = 2

type Sdk = typeof import('@aws-sdk/client-s3')
type Storage = typeof import('@aws-sdk/lib-storage')

/**
 * The one place an S3 failure becomes a RedreplError: wrong credentials,
 * a missing bucket or key, and an unreachable endpoint each get one line
 * that says which, naming the object.
 */
export function s3Failure(error: unknown, what: string, operation: string): RedreplError {
  if (error instanceof RedreplError) return error
  const e = error as {name?: string; code?: string; message?: string; $metadata?: {httpStatusCode?: number}}
  const name = e.name ?? e.code ?? ''
  const status = e.$metadata?.httpStatusCode
  if (name === 'NoSuchBucket') return notFound(`${what}: no such bucket`, {hint: 'create the bucket, or check --repo and --s3-endpoint'})
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return notFound(`${what}: no such object`)
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'].includes(name) || status === 403) {
    return refused(`${what}: the store refuses the credentials (${name || `HTTP ${status}`}) for ${operation}`, {hint: 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE'})
  }
  if (name === 'CredentialsProviderError') return refused(`${what}: no AWS credentials found`, {hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE'})
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'TimeoutError'].includes(name) || /ECONNREFUSED|ECONNRESET|socket hang up|EPIPE/.test(e.message ?? '')) {
    return new RedreplError('failure', `${what}: cannot reach the store for ${operation} (${e.message ?? name})`, {hint: 'run the command again: it resumes where it stopped'})
  }
  return new RedreplError('failure', `${what}: ${operation} failed: ${name ? `${name}: ` : ''}${e.message ?? String(error)}`)
}

/**
 * A repository in an S3-compatible store, through the AWS SDK v3 with its
 * standard credential chain. The SDK loads here, only when an s3:// repository
 * is used, so every other command starts without it.
 */
export class S3Backend implements RepoBackend {
  readonly defaultJobs = 4

  private constructor(
    private readonly settings: S3Settings,
    private readonly client: S3Client,
    private readonly sdk: Sdk,
    private readonly storage: Storage,
  ) {}

  static async open(settings: S3Settings): Promise<S3Backend> {
    // The SDK warns on stderr about Node 20; our stderr is one line per error.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const [sdk, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')])
    const client = new sdk.S3Client({
      endpoint: settings.endpoint,
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: settings.forcePathStyle,
    })
    return new S3Backend(settings, client, sdk, storage)
  }

  get location(): string {
    return `s3://${this.settings.bucket}/${this.settings.prefix}`
  }

  private objectKey(key: string): string {
    return `${this.settings.prefix}${checkKey(key)}`
  }

  describe(key: string): string {
    return `s3://${this.settings.bucket}/${this.objectKey(key)}`
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    try {
      const head = await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
      return {size: BigInt(head.ContentLength ?? 0)}
    } catch (error) {
      const mapped = s3Failure(error, this.describe(key), 'stat')
      // HEAD has no body, so a missing bucket also answers 404: tell them apart by listing.
      if (mapped.kind === 'not-found' && !mapped.message.endsWith('no such bucket')) {
        await this.assertBucket()
        return null
      }
      throw mapped
    }
  }

  /** The `redrepl-crc32` metadata `put` wrote: one HEAD, no body. */
  async checksum(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
      const value = head.Metadata?.['redrepl-crc32']
      return value !== undefined && /^[0-9]{1,10}$/.test(value) && Number(value) <= 0xffffffff ? Number(value) : null
    } catch (error) {
      throw s3Failure(error, this.describe(key), 'stat')
    }
  }

  private async assertBucket(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({Bucket: this.settings.bucket}))
    } catch (error) {
      const mapped = s3Failure(error, `s3://${this.settings.bucket}`, 'stat')
      throw mapped.kind === 'not-found' ? s3Failure({name: 'NoSuchBucket'}, `s3://${this.settings.bucket}`, 'stat') : mapped
    }
  }

  async *list(prefix: string): AsyncIterable<RepoObject> {
    let token: string | undefined
    do {
      let page
      try {
        page = await this.client.send(new this.sdk.ListObjectsV2Command({Bucket: this.settings.bucket, Prefix: `${this.settings.prefix}${prefix}`, ContinuationToken: token}))
      } catch (error) {
        throw s3Failure(error, `${this.location}${prefix}`, 'list')
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue
        yield {key: item.Key.slice(this.settings.prefix.length), size: BigInt(item.Size ?? 0), modified_unix_ms: BigInt(item.LastModified?.getTime() ?? 0)}
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    try {
      const object = await this.client.send(new this.sdk.GetObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
      for await (const piece of object.Body as Readable) yield piece as Uint8Array
    } catch (error) {
      throw s3Failure(error, this.describe(key), 'download')
    }
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const params = {Bucket: this.settings.bucket, Key: this.objectKey(key), Metadata: {'redrepl-crc32': String(options.checksum), 'redrepl-size': String(options.size)}}
    try {
      // A body that fits one part goes as one PUT, gathered once into a buffer of its size.
      const whole = options.size <= PART_BYTES ? await gatherWithin(body(), Number(options.size)) : undefined
      if (whole !== undefined) {
        await this.client.send(new this.sdk.PutObjectCommand({...params, Body: whole, ContentLength: whole.length}))
        return
      }
      // Otherwise lib-storage sends a multipart upload, completed after its last part and aborted on failure;
      // either way the object appears only when complete.
      const upload = new this.storage.Upload({client: this.client, params: {...params, Body: Readable.from(owned(body()))}, partSize: PART_BYTES, queueSize: PARTS_IN_FLIGHT, leavePartsOnError: false})
      await upload.done()
    } catch (error) {
      throw s3Failure(error, this.describe(key), 'upload')
    }
  }

  /** A PUT, or a completed multipart upload, is durable when it returns. */
  async flush(): Promise<void> {}

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
    } catch (error) {
      throw s3Failure(error, this.describe(key), 'delete')
    }
  }

  async close(): Promise<void> {
    this.client.destroy()
  }
}

/**
 * The body gathered into one buffer of at most `capacity` bytes, each lent
 * piece copied once as it comes; undefined when it holds more (a compressed
 * body can outgrow the size it stands for).
 */
async function gatherWithin(body: AsyncIterable<Uint8Array>, capacity: number): Promise<Buffer | undefined> {
  const out = Buffer.allocUnsafe(capacity)
  let filled = 0
  for await (const piece of body) {
    if (filled + piece.length > capacity) return undefined
    out.set(piece, filled)
    filled += piece.length
  }
  return out.subarray(0, filled)
}
