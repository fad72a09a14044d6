import {randomBytes} from 'node:crypto'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, before} from 'node:test'

import type {RepoBackend} from '../../src/core/repo/backend.js'
import {CodecBackend} from '../../src/core/repo/codec.js'
import {MemoryBackend} from '../../src/core/repo/memory.js'
import {openStore} from '../../src/core/repo/open.js'
import {SEAL_FRAME_BYTES, SealBackend} from '../../src/core/repo/seal.js'
import {backendSuite, type SuiteStore} from '../support/backend-suite.js'
import {S3Server} from '../support/s3.js'

/** One suite, every store: a directory, S3 on the test server through the real SDK, memory, and the sealed and zstd stacks over them. */

const dirs: string[] = []
let server: S3Server
before(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-s3rver-'))
  dirs.push(dir)
  server = new S3Server(dir, ['suite'])
  await server.start()
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true'})
})
after(async () => {
  await server.kill()
  await Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true})))
})

const sealKey = () => ({key: randomBytes(32), id: randomBytes(8), frameBytes: SEAL_FRAME_BYTES})
const sealed = (store: RepoBackend) => new SealBackend(store, sealKey(), 'redrepl.repository')

async function namesUnder(backend: RepoBackend): Promise<string[]> {
  const names: string[] = []
  for await (const object of backend.list('')) names.push(object.key)
  return names
}

/** A directory store; `raw` reads the directory itself, so temp files show. */
async function directory(wrap: (store: RepoBackend) => RepoBackend = (store) => store): Promise<SuiteStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-suite-'))
  dirs.push(dir)
  const root = path.join(dir, 'repo')
  const store = await openStore({url: root})
  return {
    backend: wrap(store),
    raw: async () => (await readdir(root, {recursive: true, withFileTypes: true}).catch(() => [])).filter((entry) => entry.isFile()).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name))).sort(),
  }
}

let prefixes = 0
/** An S3 store under a fresh prefix; `raw` lists it through a second, plain store. */
async function s3(wrap: (store: RepoBackend) => RepoBackend = (store) => store): Promise<SuiteStore> {
  const settings = {url: `s3://suite/p${++prefixes}`, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true}
  const [store, plain] = [await openStore(settings), await openStore(settings)]
  return {backend: wrap(store), raw: () => namesUnder(plain), close: () => plain.close()}
}

async function memory(wrap: (store: RepoBackend) => RepoBackend = (store) => store): Promise<SuiteStore> {
  const store = new MemoryBackend('suite', {maxBytes: 16 << 20})
  return {backend: wrap(store), raw: () => namesUnder(store)}
}

// Each object is larger than its bound, so a store that held it whole would fail. Measured growth (Node 20): a directory about
// 10 MiB (1 MiB read pieces); S3 about 50 MiB at any size (lib-storage's 8 MiB parts, two in flight, and the SDK's copies of each);
// sealing under 1 MiB (one frame); zstd about 45-58 MiB at any size (the WebAssembly decompressor's heap, which only grows).
backendSuite('directory', () => directory(), {largeBytes: 64 << 20, largeHeldBytes: 24 << 20})
backendSuite('S3', () => s3(), {largeBytes: 96 << 20, largeHeldBytes: 72 << 20})
backendSuite('memory', () => memory())
backendSuite('directory, sealed', () => directory(sealed), {largeBytes: 32 << 20, largeHeldBytes: 16 << 20})
backendSuite('directory, zstd', () => directory((store) => new CodecBackend(store, 'zstd')), {largeBytes: 96 << 20, largeHeldBytes: 72 << 20})
backendSuite('S3, sealed, zstd', () => s3((store) => new CodecBackend(sealed(store), 'zstd')))
backendSuite('memory, sealed, gzip', () => memory((store) => new CodecBackend(sealed(store), 'gzip')))
