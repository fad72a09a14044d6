import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'

import type {S3Client} from '@aws-sdk/client-s3'

import {RedreplError} from '../errors.js'
import {faultOf, noTemps, owned, StoreError, type PutOptions, type StoreFault, type RepoBackend, type RepoObject, type StoreCapabilities, type TempSweep} from './backend.js'
import {checkKey} from './keys.js'
import {DeadlineError, formatSeconds, networkLimits, type NetworkLimits} from './network.js'
import {serverSideParams, type S3ServerSide} from './s3-options.js'

export interface S3Settings {
  bucket: string
  /** Key prefix inside the bucket, '' or ending in '/'. */
  prefix: string
  endpoint?: string
  region?: string
  forcePathStyle?: boolean
  /** Timeouts and the run's deadline (default: the timeouts, no deadline). */
  limits?: NetworkLimits
  /** Bounds on one listing (default LIST_LIMITS). */
  listLimits?: ListLimits
  /** Server-side options sent with every object written (checked by checkServerSide). */
  serverSide?: S3ServerSide
}

/**
 * One listing ends within these, whatever the store says: a store that
 * keeps answering IsTruncated with fresh tokens would otherwise be listed
 * until memory runs out: a listed key costs about 0.8 KiB (measured:
 * 233,000 keys, 264 MiB peak RSS), so the bound keeps a listing under 1 GiB. A million keys is 30,000 base backups of 32 chunks,
 * or 60 TiB of 64 MiB WAL segments, in one node's namespace; S3 sends
 * 1,000 keys a page, and pages of fewer than 10 on average are not a store
 * listing in earnest.
 */
export interface ListLimits {
  maxKeys: number
  maxPages: number
}
export const LIST_LIMITS: ListLimits = {maxKeys: 1_000_000, maxPages: 100_000}

/** Fewer bytes than this in an idle timeout's worth of waiting for a body is a stall (about 136 B/s at 30 s). */
const TRICKLE_BYTES = 4096

/** Attempts per request (the SDK's standard mode: exponential backoff with jitter between them) for what may pass: timeouts, resets, 5xx, throttling. */
const MAX_ATTEMPTS = 3

/** Parts of a multipart upload, and how many go at once: memory is about their product per transfer. */
const PART_BYTES = 8 * 1024 * 1024
const PARTS_IN_FLIGHT = 2

type Sdk = typeof import('@aws-sdk/client-s3')
type Storage = typeof import('@aws-sdk/lib-storage')

/** What the SDK (or Node under it) hands back for a failed request. */
interface SdkFailure {
  name?: string
  code?: string
  Code?: string
  message?: string
  $metadata?: {httpStatusCode?: number}
  $retryable?: unknown
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'])
/** Node's codes for a connection that could not be made or was cut. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
/** What S3 answers when it is busy or failed inside, which a later request may not meet. */
const BUSY_ERRORS = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'Throttling', 'ThrottlingException', 'TooManyRequestsException'])
/** The store found the bytes it was sent to disagree with their digest. */
const DIGEST_ERRORS = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch'])

/**
 * How the store classifies a failed request, from the SDK error's name,
 * its S3 `Code` and its HTTP status (never from its message): a missing
 * key is `not-found`, a missing bucket is the repository itself missing
 * (`other`), so no caller takes it for an absent object.
 */
export function s3Fault(error: unknown): StoreFault {
  const e = (error ?? {}) as SdkFailure
  const names = [e.name, e.Code, e.code].filter((n): n is string => typeof n === 'string')
  const status = e.$metadata?.httpStatusCode
  const is = (set: Set<string>) => names.some((n) => set.has(n))
  if (names.includes('NoSuchBucket')) return 'other'
  if (names.includes('NoSuchKey') || names.includes('NotFound') || status === 404) return 'not-found'
  if (is(CREDENTIAL_ERRORS) || status === 403 || status === 401) return 'permission'
  if (is(DIGEST_ERRORS)) return 'corrupt'
  if (names.includes('TimeoutError') || is(CONNECTION_ERRORS) || is(BUSY_ERRORS) || status === 429 || (status !== undefined && status >= 500)) return 'transient'
  return 'other'
}

/**
 * The one place an S3 failure becomes a RedreplError: wrong credentials,
 * a missing bucket or key, and an unreachable endpoint each get one line
 * that says which, naming the object, and each carries s3Fault's reading.
 */
export function s3Failure(error: unknown, what: string, operation: string, limits?: NetworkLimits): RedreplError {
  if (error instanceof RedreplError) return error
  if (limits?.signal?.aborted && limits.deadlineMs !== null) return new DeadlineError(what, limits.deadlineMs, operation)
  const e = error as SdkFailure
  const name = e.name ?? e.code ?? ''
  const status = e.$metadata?.httpStatusCode
  const fault = s3Fault(error)
  if (name === 'TimeoutError' || e.code === 'ETIMEDOUT') {
    const idle = limits === undefined ? '' : ` (connect ${formatSeconds(limits.connectMs)}, idle ${formatSeconds(limits.idleMs)})`
    return new StoreError('failure', `${what}: the store stopped answering for ${operation}${idle}`, fault, {code: 'repo.timeout', hint: 'run the command again when the store answers: it resumes where it stopped'})
  }
  if (name === 'NoSuchBucket') return new StoreError('not-found', `${what}: no such bucket`, fault, {hint: 'create the bucket, or check --repo and --s3-endpoint'})
  if (fault === 'not-found') return new StoreError('not-found', `${what}: no such object`, fault)
  if (name === 'CredentialsProviderError') return new StoreError('refused', `${what}: no AWS credentials found`, fault, {hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (a Kubernetes service account), or run with an instance or container role'})
  if (fault === 'permission') {
    return new StoreError('refused', `${what}: the store refuses the credentials (${name || `HTTP ${status}`}) for ${operation}`, fault, {hint: 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE'})
  }
  if (CONNECTION_ERRORS.has(name) || (e.code !== undefined && CONNECTION_ERRORS.has(e.code))) {
    return new StoreError('failure', `${what}: cannot reach the store for ${operation} (${e.message ?? name})`, fault, {hint: 'run the command again: it resumes where it stopped'})
  }
  return new StoreError('failure', `${what}: ${operation} failed: ${name ? `${name}: ` : ''}${e.message ?? String(error)}`, fault)
}

/** The SDK's logger, silent: what goes wrong reaches the operator as the one line of the error it causes. */
const QUIET_SDK_LOGGER = {debug: () => {}, info: () => {}, warn: () => {}, error: () => {}}

/**
 * A repository in an S3-compatible store, through the AWS SDK v3 with its
 * standard credential chain. The SDK loads here, only when an s3:// repository
 * is used, so every other command starts without it.
 */
export class S3Backend implements RepoBackend {
  readonly defaultJobs = 4
  /** The CRC rides in each object's metadata; a put appears whole and durable or not at all, leaving no temp; nothing is a local file. */
  readonly capabilities: StoreCapabilities = {localFile: false, storedChecksum: true, deadTempSweep: false, durableFlush: false, kernelCopy: false}

  private constructor(
    private readonly settings: S3Settings,
    private readonly client: S3Client,
    private readonly sdk: Sdk,
    private readonly storage: Storage,
  ) {}

  /** Set by open. */
  private get limits(): NetworkLimits {
    return this.settings.limits!
  }

  static async open(settings: S3Settings): Promise<S3Backend> {
    // The SDK warns on stderr about Node 20; our stderr is one line per error.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const [sdk, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')])
    const limits = settings.limits ?? networkLimits(null)
    const client = new sdk.S3Client({
      endpoint: settings.endpoint,
      region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: settings.forcePathStyle,
      maxAttempts: MAX_ATTEMPTS,
      // connectionTimeout: the TCP connect; socketTimeout: silence on the socket either way, so a store that
      // never answers and a body that stalls both fail, while a slow upload that keeps sending does not (the
      // SDK's requestTimeout would count the whole upload until the response headers).
      requestHandler: {connectionTimeout: limits.connectMs, socketTimeout: limits.idleMs},
      // No credentials here: the SDK's default chain finds them (environment, profile, web identity, roles).
      // Its warnings (a profile named beside the environment's key pair: nine lines) would break our one-line stderr.
      logger: QUIET_SDK_LOGGER,
    })
    return new S3Backend({...settings, limits}, client, sdk, storage)
  }

  /** Sends one request, aborted at the run's deadline. (Each command's own types are kept by the caller's T.) */
  private send<T>(command: object): Promise<T> {
    if (this.limits.signal?.aborted) return Promise.reject(this.limits.signal.reason)
    return this.client.send(command as Parameters<S3Client['send']>[0], {abortSignal: this.limits.signal}) as Promise<T>
  }

  private failure(error: unknown, what: string, operation: string): RedreplError {
    return s3Failure(error, what, operation, this.limits)
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
      const head = await this.send<{ContentLength?: number}>(new this.sdk.HeadObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
      return {size: BigInt(head.ContentLength ?? 0)}
    } catch (error) {
      const mapped = this.failure(error, this.describe(key), 'stat')
      // HEAD has no body, so a missing bucket also answers 404: tell them apart by asking for the bucket.
      if (faultOf(mapped) === 'not-found') {
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
      await this.send(new this.sdk.HeadBucketCommand({Bucket: this.settings.bucket}))
    } catch (error) {
      const mapped = this.failure(error, `s3://${this.settings.bucket}`, 'stat')
      throw faultOf(mapped) === 'not-found' ? s3Failure({name: 'NoSuchBucket'}, `s3://${this.settings.bucket}`, 'stat') : mapped
    }
  }

  /**
   * Every object under the prefix, page by page. A listing ends within
   * LIST_LIMITS, and a store that hands back a continuation token it gave
   * before (which would list the same pages for ever) or says there is more
   * without saying where is refused, naming the listing.
   */
  async *list(prefix: string): AsyncIterable<RepoObject> {
    const where = `${this.location}${prefix}`
    const {maxKeys, maxPages} = this.settings.listLimits ?? LIST_LIMITS
    // Tokens are the store's and may be long: their digests are kept, 32 bytes a page.
    const tokensSeen = new Set<string>()
    let token: string | undefined
    let pages = 0
    let keys = 0
    do {
      if (++pages > maxPages) throw new RedreplError('failure', `${where}: the listing did not end within ${maxPages} pages; the store keeps saying there is more`, {code: 'repo.listing-endless'})
      let page
      try {
        page = await this.send<import('@aws-sdk/client-s3').ListObjectsV2CommandOutput>(new this.sdk.ListObjectsV2Command({Bucket: this.settings.bucket, Prefix: `${this.settings.prefix}${prefix}`, ContinuationToken: token}))
      } catch (error) {
        throw this.failure(error, where, 'list')
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue
        if (++keys > maxKeys) throw new RedreplError('failure', `${where}: the listing holds more than ${maxKeys} keys, more than one node's namespace can`, {code: 'repo.listing-endless'})
        const size = item.Size ?? 0
        if (!Number.isSafeInteger(size) || size < 0) throw new RedreplError('failure', `${this.location}${item.Key.slice(this.settings.prefix.length)}: the listing gives it a size of ${size}, which no object has`, {code: 'repo.listing-invalid'})
        yield {key: item.Key.slice(this.settings.prefix.length), size: BigInt(size), modified_unix_ms: BigInt(item.LastModified?.getTime() ?? 0)}
      }
      if (!page.IsTruncated) break
      token = page.NextContinuationToken
      if (token === undefined || token === '') throw new RedreplError('failure', `${where}: the store says the listing goes on but gives no continuation token`, {code: 'repo.listing-invalid'})
      const digest = createHash('sha256').update(token).digest('base64')
      if (tokensSeen.has(digest)) throw new RedreplError('failure', `${where}: the store hands back a continuation token it gave before (page ${pages}); the listing would never end`, {code: 'repo.listing-endless'})
      tokensSeen.add(digest)
    } while (true)
  }

  /**
   * The object's bytes as they arrive. A body that goes silent fails after
   * the idle timeout (the socket's), and at the run's deadline whatever it
   * does; either way the connection is closed and the consumer's loop
   * throws, so its temp file is removed by whoever made it.
   */
  get(key: string): AsyncIterable<Uint8Array> {
    return this.download(key)
  }

  /** A ranged GET: a piece out of a pack without the rest of the pack. */
  getRange(key: string, offset: bigint, length: bigint): AsyncIterable<Uint8Array> {
    return this.download(key, {offset, length})
  }

  private async *download(key: string, range?: {offset: bigint; length: bigint}): AsyncIterable<Uint8Array> {
    if (range !== undefined && range.length <= 0n) return
    let body: Readable | undefined
    const signal = this.limits.signal
    const stop = () => body?.destroy(new Error('deadline'))
    try {
      const Range = range === undefined ? undefined : `bytes=${range.offset}-${range.offset + range.length - 1n}`
      const object = await this.send<{Body?: unknown; ContentRange?: string}>(new this.sdk.GetObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key), Range}))
      body = object.Body as Readable
      // A store that ignores Range sends the whole object: the bytes before the range are dropped here, the rest cut below.
      let skip = range !== undefined && !object.ContentRange?.startsWith(`bytes ${range.offset}-`) ? range.offset : 0n
      let left = range?.length ?? -1n
      signal?.addEventListener('abort', stop, {once: true})
      if (signal?.aborted) stop()
      // Time spent waiting on the store for the next piece (not on a slow consumer): a store that trickles a
      // few bytes just often enough to never look idle is stalled all the same.
      let waitedMs = 0
      let windowBytes = 0
      const pieces = body[Symbol.asyncIterator]()
      for (;;) {
        const asked = performance.now()
        const next = await pieces.next()
        waitedMs += performance.now() - asked
        if (next.done) break
        windowBytes += (next.value as Uint8Array).length
        if (waitedMs >= this.limits.idleMs) {
          if (windowBytes < TRICKLE_BYTES) {
            throw new StoreError('failure', `${this.describe(key)}: the store sent ${windowBytes} bytes in ${formatSeconds(Math.round(waitedMs))} of waiting, fewer than ${TRICKLE_BYTES}: stalled`, 'transient', {code: 'repo.timeout', hint: 'run the command again when the store answers: it resumes where it stopped'})
          }
          waitedMs = 0
          windowBytes = 0
        }
        let piece = next.value as Uint8Array
        if (skip > 0n) {
          const dropped = skip < BigInt(piece.length) ? skip : BigInt(piece.length)
          piece = piece.subarray(Number(dropped))
          skip -= dropped
        }
        if (left >= 0n && BigInt(piece.length) > left) piece = piece.subarray(0, Number(left))
        if (piece.length > 0) yield piece
        if (left >= 0n && (left -= BigInt(piece.length)) === 0n) break
      }
    } catch (error) {
      throw this.failure(error, this.describe(key), 'download')
    } finally {
      signal?.removeEventListener('abort', stop)
      // A consumer that stops early (a cap passed) closes the connection instead of leaving it to drain.
      body?.destroy()
    }
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const params = {Bucket: this.settings.bucket, Key: this.objectKey(key), Metadata: {'redrepl-crc32': String(options.checksum), 'redrepl-size': String(options.size)}, ...serverSideParams(this.settings.serverSide)}
    try {
      // A body that fits one part goes as one PUT, gathered once into a buffer of its size.
      const whole = options.size <= PART_BYTES ? await gatherWithin(body(), Number(options.size)) : undefined
      if (whole !== undefined) {
        await this.send(new this.sdk.PutObjectCommand({...params, Body: whole, ContentLength: whole.length}))
        return
      }
      // Otherwise lib-storage sends a multipart upload, completed after its last part and aborted on failure
      // (at the deadline too); either way the object appears only when complete.
      const abort = new AbortController()
      const signal = this.limits.signal
      const stop = () => abort.abort()
      signal?.addEventListener('abort', stop, {once: true})
      try {
        if (signal?.aborted) throw signal.reason
        // One owned piece waits at a time: the parts lib-storage gathers are the memory a transfer needs.
        const upload = new this.storage.Upload({client: this.client, params: {...params, Body: Readable.from(owned(body()), {highWaterMark: 1})}, partSize: PART_BYTES, queueSize: PARTS_IN_FLIGHT, leavePartsOnError: false, abortController: abort})
        await upload.done()
      } finally {
        signal?.removeEventListener('abort', stop)
      }
    } catch (error) {
      throw this.failure(error, this.describe(key), 'upload')
    }
  }

  /** A PUT, or a completed multipart upload, is durable when it returns. */
  async flush(): Promise<void> {}

  localFile(): undefined {
    return undefined
  }

  /** An upload cut short is aborted (leavePartsOnError: false) or never completes, so no object stands for it. */
  async sweepDeadTemps(): Promise<TempSweep> {
    return noTemps()
  }

  async delete(key: string): Promise<void> {
    try {
      await this.send(new this.sdk.DeleteObjectCommand({Bucket: this.settings.bucket, Key: this.objectKey(key)}))
    } catch (error) {
      throw this.failure(error, this.describe(key), 'delete')
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
