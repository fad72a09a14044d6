import {execa} from 'execa'
import {readdirSync, readFileSync, rmSync} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {after} from 'node:test'

import {repoRoot} from './fixtures.js'
import {s3ClientEnv} from './s3.js'
import type {CliResult} from './cli.js'

/**
 * A small S3 endpoint on 127.0.0.1 that speaks just enough of the protocol
 * (ListObjectsV2, GET, HEAD, PUT, DELETE, path style) to serve a real
 * repository, and misbehaves where a test says: answers never, stalls a
 * body half-way, loops or never ends a listing, lies about sizes, sends an
 * endless body. It bounds itself: it stops after `lifetimeMs`, answers at
 * most `maxRequests` requests, and an endless body ends after
 * `maxBodyBytes` or when the client goes away.
 */

export interface S3Request {
  method: string
  bucket: string
  /** The object key, decoded; '' for a bucket-level request. */
  key: string
  query: URLSearchParams
  /** The request's headers, as Node gives them (names lower-case). */
  headers: http.IncomingHttpHeaders
}

/** Handles a request itself and returns true, or returns false for the normal answer. */
export type Misbehaviour = (request: S3Request, response: http.ServerResponse) => boolean

export interface Listed {
  key: string
  size: bigint
}

export class HostileS3 {
  /** Objects by key inside the bucket. */
  readonly objects = new Map<string, Uint8Array>()
  /** Sizes the listing states instead of the true ones. */
  readonly listedSizes = new Map<string, bigint>()
  misbehave: Misbehaviour = () => false
  requests = 0
  private server: http.Server | undefined
  private stopTimer: NodeJS.Timeout | undefined

  constructor(
    readonly bucket: string,
    readonly bounds: {lifetimeMs: number; maxRequests: number; maxBodyBytes: number} = {lifetimeMs: 60_000, maxRequests: 20_000, maxBodyBytes: 8 * 1024 ** 3},
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`
  }

  env(): Record<string, string> {
    return s3ClientEnv(this.endpoint, 'HOSTILE')
  }

  /** Serves every file under `dir` (a directory repository) as an object under `prefix`. */
  load(dir: string, prefix: string): void {
    for (const entry of readdirSync(dir, {recursive: true, withFileTypes: true})) {
      if (!entry.isFile()) continue
      const file = path.join(entry.parentPath, entry.name)
      this.objects.set(`${prefix}${path.relative(dir, file).split(path.sep).join('/')}`, readFileSync(file))
    }
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res))
    this.server = server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.stopTimer = setTimeout(() => void this.stop(), this.bounds.lifetimeMs)
    this.stopTimer.unref()
  }

  async stop(): Promise<void> {
    clearTimeout(this.stopTimer)
    const server = this.server
    this.server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (++this.requests > this.bounds.maxRequests) {
      res.writeHead(503).end()
      return
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const [, bucket = '', ...rest] = url.pathname.split('/')
    const request: S3Request = {method: req.method ?? 'GET', bucket, key: decodeURIComponent(rest.join('/')), query: url.searchParams, headers: req.headers}
    if (this.misbehave(request, res)) {
      req.resume()
      return
    }
    if (bucket !== this.bucket) return void res.writeHead(404, {'content-type': 'application/xml'}).end(errorXml('NoSuchBucket'))
    if (request.key === '') {
      if (request.method === 'HEAD') return void res.writeHead(200).end()
      if (request.query.get('list-type') === '2') return void this.listAll(request, res)
      return void res.writeHead(400).end()
    }
    const object = this.objects.get(request.key)
    if (request.method === 'PUT') {
      const pieces: Buffer[] = []
      let size = 0
      req.on('data', (piece: Buffer) => {
        size += piece.length
        if (size > 64 * 1024 * 1024) req.destroy()
        else pieces.push(piece)
      })
      req.on('end', () => {
        this.objects.set(request.key, Buffer.concat(pieces))
        res.writeHead(200, {etag: '"0"'}).end()
      })
      return
    }
    if (request.method === 'DELETE') {
      this.objects.delete(request.key)
      return void res.writeHead(204).end()
    }
    if (object === undefined) return void res.writeHead(404, {'content-type': 'application/xml'}).end(request.method === 'HEAD' ? undefined : errorXml('NoSuchKey'))
    res.writeHead(200, {'content-length': object.length, etag: '"0"', 'last-modified': new Date(1_700_000_000_000).toUTCString()})
    res.end(request.method === 'HEAD' ? undefined : object)
  }

  /** The whole listing of a prefix in one page, with the stated sizes. */
  private listAll(request: S3Request, res: http.ServerResponse): void {
    const prefix = request.query.get('prefix') ?? ''
    const listed = [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => ({key, size: this.listedSizes.get(key) ?? BigInt(this.objects.get(key)!.length)}))
    listPage(res, prefix, listed, undefined)
  }

  /** An endless body: `piece` repeated until the client leaves, the bound is reached, or the server stops. */
  endless(res: http.ServerResponse, piece: Uint8Array, headers: Record<string, string | number> = {}): void {
    res.writeHead(200, {etag: '"0"', ...headers})
    let sent = 0
    const pump = () => {
      while (!res.destroyed && sent < this.bounds.maxBodyBytes) {
        sent += piece.length
        if (!res.write(piece)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  }
}

/** One ListObjectsV2 page; `next` set means truncated, with that continuation token. */
export function listPage(res: http.ServerResponse, prefix: string, listed: Listed[], next: string | undefined): void {
  const contents = listed
    .map((o) => `<Contents><Key>${xml(o.key)}</Key><LastModified>2023-11-14T22:13:20.000Z</LastModified><ETag>"0"</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
    .join('')
  const body =
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>${xml(prefix)}</Prefix>` +
    `<KeyCount>${listed.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${next !== undefined}</IsTruncated>` +
    (next === undefined ? '' : `<NextContinuationToken>${xml(next)}</NextContinuationToken>`) +
    `${contents}</ListBucketResult>`
  res.writeHead(200, {'content-type': 'application/xml'}).end(body)
}

function errorXml(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`
}

function xml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** A hostile server for one test file, stopped when the file's tests are done. */
export function useHostileS3(bucket: string): () => Promise<HostileS3> {
  const servers: HostileS3[] = []
  after(() => Promise.all(servers.map((server) => server.stop())))
  return async () => {
    const server = new HostileS3(bucket)
    servers.push(server)
    await server.start()
    return server
  }
}

export interface MeasuredRun extends CliResult {
  /** Peak resident set of the CLI process, in KiB (GNU time's %M, the kernel's maxrss). */
  peakRssKiB: number
  seconds: number
}

/**
 * Runs the built CLI under GNU time to learn its peak RSS and wall time; the
 * run is killed after `killAfterMs`, so a hang fails the test instead of
 * stalling the suite.
 */
export async function runMeasured(args: string[], env: Record<string, string>, killAfterMs = 30_000): Promise<MeasuredRun> {
  const out = path.join(os.tmpdir(), `redrepl-time-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const started = performance.now()
  const run = execa('/usr/bin/time', ['-f', '%M', '-o', out, process.execPath, path.join(repoRoot, 'bin', 'run.js'), ...args], {
    cwd: repoRoot,
    env: {NO_COLOR: '1', REDREPL_NOW_MS: '1700000000000', ...env},
    input: '',
    reject: false,
    stripFinalNewline: false,
  })
  // Killing time would leave the CLI running with the pipes open: kill the CLI itself, time's child.
  const killer = setTimeout(() => {
    for (const pid of readFileSync(`/proc/${run.pid}/task/${run.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
  }, killAfterMs)
  const result = await run.finally(() => clearTimeout(killer))
  const seconds = (performance.now() - started) / 1000
  let peakRssKiB = -1
  try {
    peakRssKiB = Number(readFileSync(out, 'utf8').trim().split('\n').at(-1))
  } catch {}
  rmSync(out, {force: true})
  return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), peakRssKiB, seconds}
}
