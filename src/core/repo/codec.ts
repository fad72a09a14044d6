import zlib from 'node:zlib'

import {FormatError, usageError} from '../errors.js'
import {bodyOnly, owned, readRange, wrapperCapabilities, type PutOptions, type RepoBackend, type RepoObject, type StoreCapabilities, type TempSweep} from './backend.js'
import {capped} from './integrity.js'
import {through} from './pipe.js'
import {checkZstdLevel, defaultEngine, zstdCompress, zstdDecompress, ZSTD_LEVELS, type ZstdEngine} from './zstd.js'

/**
 * How objects are stored: as they are, or compressed. A compressed object's
 * key is the logical key plus `.<uncompressed size>.<gz|zst>`
 * (`…/00000000000000000003.redwal.1048576.gz`), so one listing still tells
 * every object's logical size, which is what `repo push`, `wal prune` and
 * `repo verify --quick` compare, without a request per object. This
 * backend wraps the real one and shows every other module logical keys and
 * sizes only: reads decompress on the way, writes compress on the way,
 * both as streams with zlib's bounded buffers. The CRC RedDB recorded is of
 * the uncompressed bytes; callers check it (repo/integrity.ts) before the
 * bytes are compressed and after they are decompressed, so integrity stays
 * end to end whatever the codec.
 */

export type Compression = 'none' | 'gzip' | 'zstd'
type StoredCodec = Exclude<Compression, 'none'>

const SUFFIX: Record<StoredCodec, string> = {gzip: 'gz', zstd: 'zst'}
/** Only RedDB's own artifact names are compressed, so the suffix cannot be misread on any other name. */
const COMPRESSED = /^(.*\.red[a-z]+)\.(0|[1-9][0-9]{0,19})\.(gz|zst)$/
const COMPRESSIBLE = /\.red[a-z]+$/

/** The levels each codec takes, and the one used when none is given. */
export const LEVELS: Record<StoredCodec, {min: number; max: number; default: number}> = {gzip: {min: 1, max: 9, default: 6}, zstd: ZSTD_LEVELS}

/** Refuses a level the codec does not have, as a usage error; returns the level to use. */
export function checkCompression(compression: Compression, level?: number): {compression: Compression; level: number | undefined} {
  if (level === undefined) return {compression, level: compression === 'none' ? undefined : LEVELS[compression].default}
  if (compression === 'none') throw usageError('--compress-level needs --compress gzip or zstd')
  const {min, max} = LEVELS[compression]
  if (!Number.isInteger(level) || level < min || level > max) throw usageError(`--compress-level ${level}: ${compression} takes ${min}-${max}`)
  if (compression === 'zstd') checkZstdLevel(level)
  return {compression, level}
}

interface Stored {
  key: string
  codec: Compression
  /** The stored object's size as its listing states it, which its body is held to. */
  size?: bigint
}

export function storedKeyOf(key: string, codec: Compression, size: bigint): string {
  return codec === 'none' ? key : `${key}.${size}.${SUFFIX[codec]}`
}

function parseStored(key: string): {logical: string; codec: Compression; size: bigint | null} {
  const match = COMPRESSED.exec(key)
  if (!match) return {logical: key, codec: 'none', size: null}
  return {logical: match[1], codec: match[3] === 'gz' ? 'gzip' : 'zstd', size: BigInt(match[2])}
}

export class CodecBackend implements RepoBackend {
  /** Logical key → where its bytes are stored, learned from listings. */
  private readonly variants = new Map<string, Stored[]>()
  /**
   * The store's, except that a compressing codec offers no kernel copy: the
   * artifacts a push copies from a file are the ones it compresses. Objects
   * stored as they are (written before, or not RedDB artifacts) stay local
   * files where the store has them.
   */
  readonly capabilities: StoreCapabilities

  constructor(
    private readonly inner: RepoBackend,
    /** How `put` stores new objects. */
    readonly compression: Compression = 'none',
    /** The level of `compression` (its default when not given). */
    readonly level: number | undefined = undefined,
    /** Which zstd implementation runs: Node's zlib where it has zstd, else the package (tests pick each). */
    private readonly zstdEngine: ZstdEngine = defaultEngine(),
  ) {
    this.capabilities = wrapperCapabilities(inner.capabilities, compression === 'none' ? [] : ['kernelCopy'])
  }

  get location(): string {
    return this.inner.location
  }

  get defaultJobs(): number {
    return this.inner.defaultJobs
  }

  describe(key: string): string {
    return this.inner.describe(this.variants.get(key)?.[0]?.key ?? key)
  }

  private learn(object: RepoObject): RepoObject & {logical: string} {
    const parsed = parseStored(object.key)
    const list = this.variants.get(parsed.logical) ?? []
    if (!list.some((v) => v.key === object.key)) list.push({key: object.key, codec: parsed.codec, size: object.size})
    this.variants.set(parsed.logical, list)
    return {logical: parsed.logical, key: parsed.logical, size: parsed.size ?? object.size, modified_unix_ms: object.modified_unix_ms}
  }

  /** Every stored form of a logical key, with its logical size (one listing by its name as prefix). */
  private async locate(key: string): Promise<Array<{stored: Stored; size: bigint}>> {
    const found: Array<{stored: Stored; size: bigint}> = []
    for await (const object of this.inner.list(key)) {
      const learned = this.learn(object)
      if (learned.logical === key) found.push({stored: {key: object.key, codec: parseStored(object.key).codec, size: object.size}, size: learned.size})
    }
    return found
  }

  async stat(key: string): Promise<{size: bigint} | null> {
    const [first] = await this.locate(key)
    return first ? {size: first.size} : null
  }

  /** Logical objects; when a key is stored in more than one form (a push with another --compress cut short), the first listed stands. */
  async *list(prefix: string): AsyncIterable<RepoObject> {
    const seen = new Set<string>()
    for await (const object of this.inner.list(prefix)) {
      const {logical, ...rest} = this.learn(object)
      if (seen.has(logical) || !logical.startsWith(prefix)) continue
      seen.add(logical)
      yield rest
    }
  }

  async *get(key: string): AsyncIterable<Uint8Array> {
    const where: Stored = this.variants.get(key)?.[0] ?? (await this.locate(key))[0]?.stored ?? {key, codec: 'none'}
    const name = this.inner.describe(where.key)
    // The stored bytes are held to the listed size; the decompressed ones to the size the name states, by the
    // caller's check, which stops the decompressor there (zlib makes output only as it is read).
    const stored = where.size === undefined ? this.inner.get(where.key) : capped(this.inner.get(where.key), where.size, name)
    if (where.codec === 'none') {
      yield* stored
      return
    }
    if (where.codec === 'zstd') {
      yield* zstdDecompress(stored, name, this.zstdEngine)
      return
    }
    yield* through(stored, zlib.createGunzip(), (error) => new FormatError(`cannot decompress (gzip): ${error.message}`, name))
  }

  /** A range of an object stored as it is is read where it lies; of a compressed one, decompressed from its start up to the range. */
  getRange(key: string, offset: bigint, length: bigint): AsyncIterable<Uint8Array> {
    const where = this.variants.get(key)?.[0]
    if (where !== undefined && where.codec === 'none' && this.inner.getRange !== undefined) return this.inner.getRange(where.key, offset, length)
    return readRange({get: (k: string) => this.get(k)} as RepoBackend, key, offset, length)
  }

  async put(key: string, body: () => AsyncIterable<Uint8Array>, options: PutOptions): Promise<void> {
    const codec = COMPRESSIBLE.test(key) ? this.compression : 'none'
    const target = storedKeyOf(key, codec, options.size)
    if (codec === 'none') await this.inner.put(target, body, options)
    else {
      const level = this.level ?? LEVELS[codec].default
      const compressed = (): AsyncIterable<Uint8Array> =>
        codec === 'gzip' ? through(owned(body()), zlib.createGzip({level}), (error) => error) : zstdCompress(body(), level, this.zstdEngine)
      await this.inner.put(target, compressed, bodyOnly(options))
    }
    // Other stored forms of the same key would shadow or outlive this one: remove them.
    for (const other of this.variants.get(key) ?? []) if (other.key !== target) await this.inner.delete(other.key)
    this.variants.set(key, [{key: target, codec}])
  }

  /** The checksum kept beside the stored form, which is RedDB's CRC of the logical bytes whatever the codec. */
  async checksum(key: string): Promise<number | null> {
    if (!this.capabilities.storedChecksum) return null
    const where = this.variants.get(key)?.[0] ?? (await this.locate(key))[0]?.stored
    return where === undefined ? null : this.inner.checksum(where.key)
  }

  /** Only an object stored as it is can be read as a plain file. */
  localFile(key: string): string | undefined {
    const where = this.variants.get(key)?.[0]
    return where?.codec === 'none' && this.capabilities.localFile ? this.inner.localFile(where.key) : undefined
  }

  flush(): Promise<void> {
    return this.inner.flush()
  }

  sweepDeadTemps(prefix: string, options: {nowMs: bigint; graceMs: bigint; dryRun: boolean}): Promise<TempSweep> {
    return this.inner.sweepDeadTemps(prefix, options)
  }

  async delete(key: string): Promise<void> {
    const known = this.variants.get(key) ?? (await this.locate(key)).map((o) => o.stored)
    if (known.length === 0) await this.inner.delete(key)
    for (const variant of known) await this.inner.delete(variant.key)
    this.variants.delete(key)
  }

  async close(): Promise<void> {
    await this.inner.close()
  }
}
