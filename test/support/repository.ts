/**
 * Repositories for tests: a directory in scratch space, or a fresh prefix in
 * a bucket on the S3 test server; the flags and environment a CLI run needs
 * to reach one; and a way to read, change and list what the store holds
 * behind redrepl's back.
 */
import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {readdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'

import {basebackupChunkRelativePath} from '../../src/core/layout.js'
import type {RepoBackend} from '../../src/core/repo/backend.js'
import {encodePack} from '../../src/core/format/pack.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {openRepository} from '../../src/core/repo/open.js'
import {fixturePath} from './fixtures.js'
import {layoutIn} from './layout-node.js'
import {s3ClientEnv, useS3Server, type S3Server} from './s3.js'

export interface TestRepo {
  kind: 'local' | 's3'
  /** What `--repo` takes. */
  url: string
  /** The environment a CLI run needs to reach the store (empty for a directory). */
  env: Record<string, string>
  /** `--repo URL --node NODE`. */
  args(node?: string): string[]
  /** The repository opened in this process, as the CLI opens it. */
  open(): Promise<RepoBackend>
  /** An object's bytes as the store holds them. */
  read(key: string): Promise<Buffer>
  /** Replaces an object's bytes (or plants one) without redrepl. */
  write(key: string, bytes: Buffer): Promise<void>
  /** Flips one byte in the middle of an object: same size, other content. */
  corrupt(key: string): Promise<void>
  remove(key: string): Promise<void>
  /** Every name the store holds under the repository, temp files included (none when it does not exist yet). */
  stored(): Promise<string[]>
  /** Every object's key under the repository: what `stored` lists less a directory's temp files. */
  keys(): Promise<string[]>
  /** Where the store keeps the objects as files. */
  files: string
  /** The file that holds an object's bytes. */
  file(key: string): string
}

export interface LocalRepoOptions {
  /** Give the directory as a `file://` URL rather than a plain path. */
  fileUrl?: boolean
  /** A directory that does not exist yet (the first push makes it). */
  absent?: boolean
  /** The scratch directory's name prefix. */
  prefix?: string
}

/** The credentials the S3 test server knows, and no shared AWS files, for an S3 client in this process. */
export const S3_CREDENTIALS = {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true'}

/** An AWS SDK client on the S3 test server; destroy it after use. */
export const s3Client = (server: S3Server): S3Client => new S3Client({endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})

/** Runs `use` with a fresh client on the server, destroyed afterwards. */
export async function withS3Client<T>(server: S3Server, use: (s3: S3Client) => Promise<T>): Promise<T> {
  const s3 = s3Client(server)
  try {
    return await use(s3)
  } finally {
    s3.destroy()
  }
}

/** Every key under `prefix/` in a bucket, relative to the prefix, page after page. */
export function s3Keys(server: S3Server, bucket: string, prefix: string): Promise<string[]> {
  return withS3Client(server, async (s3) => {
    const keys: string[] = []
    let token: string | undefined
    do {
      const page = await s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token}))
      for (const object of page.Contents ?? []) keys.push(object.Key!.slice(prefix.length + 1))
      token = page.NextContinuationToken
    } while (token)
    return keys
  })
}

/** Every file under a directory, relative to it; none when the directory does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, {recursive: true, withFileTypes: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
}

const flipMiddle = (bytes: Buffer): Buffer => {
  bytes[bytes.length >> 1] ^= 0xff
  return bytes
}

/** A directory repository in scratch space. */
export async function localRepo(scratch: {dir(prefix?: string): Promise<string>}, options: LocalRepoOptions = {}): Promise<TestRepo> {
  const made = await scratch.dir(options.prefix ?? 'redrepl-repo-')
  const dir = options.absent ? path.join(made, 'repo') : made
  const url = options.fileUrl ? `file://${dir}` : dir
  const file = (key: string) => path.join(dir, key)
  return {
    kind: 'local',
    url,
    env: {},
    args: (node = 'db1') => ['--repo', url, '--node', node],
    open: () => openRepository({url}),
    read: (key) => readFile(file(key)),
    write: (key, bytes) => writeFile(file(key), bytes),
    corrupt: async (key) => writeFile(file(key), flipMiddle(await readFile(file(key)))),
    remove: (key) => rm(file(key)),
    stored: () => filesUnder(dir),
    keys: async () => (await filesUnder(dir)).filter((key) => !key.endsWith('.tmp')),
    files: dir,
    file,
  }
}

/** What s3rver keeps beside an object's bytes, by which its files are named. */
const S3RVER_OBJECT_SUFFIX = '._S3rver_object'

/** A repository under a fresh prefix (`letter` and a count) of `bucket` on the S3 test server. */
export function s3Repo(server: S3Server, bucket: string, prefix: string): TestRepo {
  const url = `s3://${bucket}/${prefix}`
  const key = (name: string) => ({Bucket: bucket, Key: `${prefix}/${name}`})
  const files = path.join(server.directory, bucket, prefix)
  return {
    kind: 's3',
    url,
    env: server.env(),
    args: (node = 'db1') => ['--repo', url, '--node', node],
    async open() {
      Object.assign(process.env, S3_CREDENTIALS)
      return openRepository({url, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true})
    },
    read: (name) => withS3Client(server, async (s3) => Buffer.from(await (await s3.send(new GetObjectCommand(key(name)))).Body!.transformToByteArray())),
    write: (name, bytes) => withS3Client(server, async (s3) => void (await s3.send(new PutObjectCommand({...key(name), Body: bytes})))),
    corrupt: (name) =>
      withS3Client(server, async (s3) => {
        const bytes = Buffer.from(await (await s3.send(new GetObjectCommand(key(name)))).Body!.transformToByteArray())
        await s3.send(new PutObjectCommand({...key(name), Body: flipMiddle(bytes)}))
      }),
    remove: (name) => withS3Client(server, async (s3) => void (await s3.send(new DeleteObjectCommand(key(name))))),
    stored: () => s3Keys(server, bucket, prefix),
    keys: () => s3Keys(server, bucket, prefix),
    files,
    file: (name) => path.join(files, `${name}${S3RVER_OBJECT_SUFFIX}`),
  }
}

export interface Repos {
  /** The file's S3 test server, started before its first test. */
  readonly server: S3Server
  readonly bucket: string
  local(options?: LocalRepoOptions): Promise<TestRepo>
  /** A repository under a prefix no other test of the file uses. */
  s3(): Promise<TestRepo>
  /** A fresh `s3://bucket/prefix` URL, for a test that names the repository in a config file. */
  s3Url(): string
  /** The two kinds, named as the file's test titles name them. */
  backends(names?: {local?: string; s3?: string; localOptions?: LocalRepoOptions}): Array<[string, () => Promise<TestRepo>]>
  /** The S3 credentials without the endpoint: for config sections that name their own. */
  s3CredentialsEnv(): Record<string, string>
}

/**
 * Repositories for one test file: an S3 test server with `bucket` (started
 * before the first test, killed after the last), and factories of both kinds.
 * S3 prefixes are `letter` and a count, so each repository starts empty.
 */
export function useRepos(scratch: {dir(prefix?: string): Promise<string>}, bucket: string, letter = 'p'): Repos {
  const s3rver = useS3Server(scratch, [bucket])
  let prefixes = 0
  const repos: Repos = {
    get server() {
      return s3rver.server
    },
    bucket,
    local: (options) => localRepo(scratch, options),
    s3: async () => s3Repo(s3rver.server, bucket, `${letter}${++prefixes}`),
    s3Url: () => `s3://${bucket}/${letter}${++prefixes}`,
    backends: (names = {}) => [
      [names.local ?? 'local directory', () => repos.local(names.localOptions)],
      [names.s3 ?? 'S3', () => repos.s3()],
    ],
    s3CredentialsEnv() {
      const {REDREPL_S3_ENDPOINT: _endpoint, REDREPL_S3_FORCE_PATH_STYLE: _style, ...env} = s3ClientEnv(s3rver.server.endpoint, 'S3RVER')
      return env
    },
  }
  return repos
}

/** primary-basic's one base backup: timeline 1, start 0, checkpoint 5242882, in three chunks. */
export const PRIMARY_BASIC_BACKUP = {timeline: 1n, startLsn: 0n, checkpointLsn: 5242882n, chunks: 3}

/** primary-basic's backup snapshot: its chunks end to end (9004 bytes, under the smallest cut, so one piece). */
export function primaryBasicSnapshot(): Buffer {
  const {timeline, startLsn, checkpointLsn, chunks} = PRIMARY_BASIC_BACKUP
  const backups = layoutIn(fixturePath('layouts', 'primary-basic')).basebackupDir(timeline)
  return Buffer.concat(Array.from({length: chunks}, (_, ordinal) => readFileSync(path.join(backups, basebackupChunkRelativePath(startLsn, checkpointLsn, ordinal)))))
}

/** The SHA-256 of primary-basic's backup snapshot: the name of its one piece. */
export function primaryBasicSnapshotSha256(): string {
  return createHash('sha256').update(primaryBasicSnapshot()).digest('hex')
}

/** The SHA-256 of the pack a push stores that one piece in: the pack's name. */
export function primaryBasicPackSha256(): string {
  return encodePack([primaryBasicSnapshot()]).sha256
}

/** The keys of primary-basic's backup once pushed as `node`: its manifest, its piece index and the pack of its one piece. */
export function primaryBasicKeys(node = 'db1'): {manifest: string; pieceIndex: string; pack: string} {
  const keys = new RepoKeys(node)
  const {timeline, startLsn, checkpointLsn} = PRIMARY_BASIC_BACKUP
  const manifest = keys.manifest(timeline, startLsn, checkpointLsn)
  return {manifest, pieceIndex: keys.pieceIndex(manifest), pack: keys.pack(primaryBasicPackSha256())}
}
