import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test, type TestContext} from 'node:test'
import zlib from 'node:zlib'

import {RedreplError} from '../../src/core/errors.js'
import {walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {S3Backend} from '../../src/core/repo/s3.js'
import {networkLimits} from '../../src/core/repo/network.js'
import {Layout} from '../../src/core/layout.js'
import {runCli, useScratch} from '../support/cli.js'
import {listPage, runMeasured, useHostileS3, type HostileS3, type MeasuredRun} from '../support/hostile-s3.js'
import {documentOf, jsonOf} from '../support/node.js'
import {layoutIn, primaryCopy, timelineName} from '../support/layout-node.js'
import {primaryBasicKeys} from '../support/repository.js'

/**
 * A store that misbehaves must cost a run seconds, not hours, and memory
 * the format allows, not what the store claims: every case runs the built
 * CLI against a server of our own (test/support/hostile-s3.ts) that
 * answers never, stalls, loops, lies or never stops, and checks the run
 * ends quickly with one line naming the repository or object, the right
 * exit code, nothing left behind, and a bounded peak RSS.
 */

const scratch = useScratch()
const BUCKET = 'hostile'
const hostile = useHostileS3(BUCKET)
const REPO = `s3://${BUCKET}/r`
const T1 = `db1/${timelineName(1)}`
/** The fixture's backup is stored as one piece (9004 bytes, under the smallest cut), in one pack named by the SHA-256 of the pack's bytes. */
const CHUNK_KEY = `r/${primaryBasicKeys().pack}`
const WAL0_KEY = `r/${T1}/wal/00000000000000000000.redwal`
/** What a run of the CLI may take at most in these cases, for the bytes it moves: far below any store-given size. */
const RSS_BOUND_KIB = 300 * 1024

const primary = () => primaryCopy(scratch)

/** A directory repository holding node db1's base backup, WAL segments 0-3 and history, pushed by the CLI itself. */
let pushed: string | undefined
async function pushedRepository(): Promise<string> {
  if (pushed) return pushed
  const {data} = await primary()
  const dir = await scratch.dir('redrepl-pushed-')
  const result = await runCli(['repo', 'push', '--data-path', data, '--repo', dir, '--node', 'db1', '--json'])
  assert.equal(result.exitCode, 0, result.stderr)
  pushed = dir
  return dir
}

/** A hostile server serving the pushed repository under r/, misbehaving as `setUp` says. */
async function serving(setUp: (server: HostileS3) => void = () => {}): Promise<HostileS3> {
  const server = await hostile()
  server.load(await pushedRepository(), 'r/')
  setUp(server)
  return server
}

/** GETs of `key` answer with a body that never ends. */
function endlessBodyOf(server: HostileS3, key: string): void {
  server.misbehave = (request, res) => {
    if (request.method !== 'GET' || request.key !== key) return false
    server.endless(res, new Uint8Array(64 * 1024))
    return true
  }
}

const args = (...rest: string[]) => [...rest, '--repo', REPO, '--node', 'db1']

function report(t: TestContext, what: string, run: MeasuredRun): void {
  t.diagnostic(`${what}: exit ${run.exitCode}, ${run.seconds.toFixed(2)} s, peak RSS ${(run.peakRssKiB / 1024).toFixed(1)} MiB`)
}

/** One line on stderr, naming `where`. */
function oneLineNaming(run: MeasuredRun, where: RegExp): void {
  const lines = run.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, run.stderr)
  assert.match(lines[0], where)
}

/**
 * Within seconds of the deadline (the bound leaves room for a loaded machine: the suite runs two files
 * at once on two cores), where the same runs hung for minutes or without end.
 */
function assertBounded(run: MeasuredRun, deadlineSeconds: number): void {
  assert.ok(run.seconds < deadlineSeconds + 12, `took ${run.seconds} s`)
  assert.ok(run.peakRssKiB > 0 && run.peakRssKiB < RSS_BOUND_KIB, `peak RSS ${run.peakRssKiB} KiB`)
}

const silent = (server: HostileS3) => {
  // Accept every request and never answer.
  server.misbehave = () => true
}

test('a store that never answers: repo list ends at its --timeout, naming the repository (exit 1)', async (t) => {
  const server = await serving(silent)
  const run = await runMeasured(args('repo', 'list', '--timeout', '2s'), server.env())
  report(t, 'repo list, silent store', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /s3:\/\/hostile\/r\/(redrepl\.repository: the download|db1\/: the list) did not finish within the run's deadline of 2 s/)
  assertBounded(run, 2)
})

test('the deadline comes from the config file too ("timeout" in a node section); the flag wins over it', async (t) => {
  const server = await serving(silent)
  const config = path.join(await scratch.dir(), 'redrepl.conf')
  writeFileSync(config, '[node.db1]\ntimeout = "1s"\n')
  const run = await runMeasured(args('repo', 'list', '--config', config), server.env())
  report(t, 'repo list, silent store, timeout from the config file', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /within the run's deadline of 1 s/)
  assertBounded(run, 1)
  const flag = await runMeasured(args('repo', 'list', '--config', config, '--timeout', '2s'), server.env())
  oneLineNaming(flag, /within the run's deadline of 2 s/)
})

test('a store that never answers: wal prune --repo gives up at its --timeout, keeps every segment and frees the layout lock (exit 4)', async (t) => {
  const server = await serving(silent)
  const {dir, data} = await primary()
  const wal = layoutIn(dir).walDir(1n)
  const before = readdirSync(wal).sort()
  const run = await runMeasured(args('wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1', '--quiet', '--timeout', '2s'), server.env())
  report(t, 'wal prune --repo, silent store', run)
  assert.equal(run.exitCode, 4, run.stderr)
  oneLineNaming(run, /s3:\/\/hostile\/r\/?: cannot read the repository \(.*deadline of 2 s\), so which WAL segments are archived is unknown and none is released/)
  assertBounded(run, 2)
  assert.deepEqual(readdirSync(wal).sort(), before, 'nothing was removed')
  // The lock went with the run: the next writer takes it at once.
  const next = await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1', '--dry-run', '--quiet'])
  assert.equal(next.exitCode, 0, next.stderr)
})

test('a store that never answers: check reports it as repo.unreachable within its --timeout, with the node\'s own measurements', async (t) => {
  const server = await serving(silent)
  const {data} = await primary()
  const run = await runMeasured(args('check', '--data-path', data, '--timeout', '2s', '--json'), server.env())
  report(t, 'check --repo, silent store', run)
  assert.equal(run.exitCode, 1, run.stderr)
  const doc = documentOf(run.stdout)
  assert.equal(doc.status, 'WARNING')
  const unreachable = (doc.findings as any[]).find((f) => f.code === 'repo.unreachable')
  assert.ok(unreachable, (doc.findings as any[]).map((f) => f.code).join(', '))
  assert.equal(unreachable.severity, 'warning')
  assert.match(unreachable.message, /s3:\/\/hostile\/r\/(redrepl\.repository: the download|db1\/: the list) did not finish within the run's deadline of 2 s/)
  assert.equal((doc.wal as any).segments, 5n, 'the node\'s own measurements still stand')
  assertBounded(run, 2)
})

test('a store that never answers: metrics --textfile writes redrepl_repo_up 0 within its --timeout, never leaves the old file', async (t) => {
  const server = await serving(silent)
  const {data} = await primary()
  const textfile = path.join(await scratch.dir(), 'redrepl.prom')
  const run = await runMeasured(args('metrics', '--data-path', data, '--textfile', textfile, '--timeout', '2s'), server.env())
  report(t, 'metrics --textfile --repo, silent store', run)
  assert.equal(run.exitCode, 0, run.stderr)
  const text = readFileSync(textfile, 'utf8')
  assert.match(text, /^redrepl_repo_up\{node="db1",cluster=""\} 0$/m)
  assert.match(text, /^redrepl_scrape_success\{node="db1",cluster=""\} 1$/m)
  assert.match(text, /^redrepl_check_findings\{node="db1",cluster="",code="repo.unreachable",severity="warning"\} 1$/m)
  assertBounded(run, 2)
  assert.deepEqual(readdirSync(path.dirname(textfile)), ['redrepl.prom'], 'no temp file left')
})

test('a store that takes the listing but never answers an upload: repo push ends at its --timeout naming the object (exit 1)', async (t) => {
  const server = await hostile()
  // An empty repository whose every PUT is taken and never answered.
  server.misbehave = (request) => request.method === 'PUT'
  const {data} = await primary()
  const run = await runMeasured(args('repo', 'push', '--data-path', data, '--timeout', '3s'), server.env())
  report(t, 'repo push, uploads never answered', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /^redrepl: s3:\/\/hostile\/r\/db1\/\S+: the upload did not finish within the run's deadline of 3 s/)
  assertBounded(run, 3)
})

test('a reachable store: metrics says redrepl_repo_up 1', async () => {
  const server = await serving()
  const {data} = await primary()
  const run = await runCli(args('metrics', '--data-path', data, '--timeout', '5s'), {env: server.env()})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.match(run.stdout, /^redrepl_repo_up\{node="db1",cluster=""\} 1$/m)
})

test('a piece body that stalls half-way: repo restore fails at its --timeout naming the piece, and leaves no file (exit 1)', async (t) => {
  const server = await serving((s) => {
    s.misbehave = (request, res) => {
      if (request.method !== 'GET' || request.key !== CHUNK_KEY) return false
      const body = s.objects.get(CHUNK_KEY)!
      res.writeHead(200, {'content-length': body.length, etag: '"0"'})
      res.write(body.subarray(0, body.length >> 1))
      return true
    }
  })
  const dir = await scratch.dir()
  const target = path.join(dir, 'restored.rdb')
  const run = await runMeasured(args('repo', 'restore', '--to', target, '--rdb-version', '1', '--timeout', '3s'), server.env())
  report(t, 'repo restore, stalled chunk body', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /\.redpack: the download did not finish within the run's deadline of 3 s/)
  assertBounded(run, 3)
  assert.deepEqual(readdirSync(dir), [], 'no destination, no temp file')
})

test('a body that stalls, without a deadline: the idle timeout ends it; a request never answered is tried 3 times, then fails', async () => {
  const server = await serving((s) => {
    s.misbehave = (request, res) => {
      if (request.method === 'HEAD') return true
      if (request.method !== 'GET' || request.key !== CHUNK_KEY) return false
      res.writeHead(200, {'content-length': 1000, etag: '"0"'})
      res.write(new Uint8Array(10))
      return true
    }
  })
  process.env.AWS_ACCESS_KEY_ID = 'HOSTILE'
  process.env.AWS_SECRET_ACCESS_KEY = 'HOSTILE'
  const limits = {...networkLimits(null), connectMs: 1000, idleMs: 1000}
  const backend = await S3Backend.open({bucket: BUCKET, prefix: 'r/', endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', limits})
  try {
    let started = performance.now()
    await assert.rejects(
      async () => {
        for await (const _ of backend.get(CHUNK_KEY.slice(2)));
      },
      (error: RedreplError) => error.code === 'repo.timeout' && /redpack: the store stopped answering for download \(connect 1 s, idle 1 s\)/.test(error.message),
    )
    assert.ok(performance.now() - started < 8000, 'about 1 s of silence, not the 30 s default')
    const requestsBefore = server.requests
    started = performance.now()
    await assert.rejects(backend.stat(`${T1}/wal/00000000000000000000.redwal`), (error: RedreplError) => error.code === 'repo.timeout')
    assert.equal(server.requests - requestsBefore, 3, 'three attempts')
    assert.ok(performance.now() - started < 15_000, 'three 1 s timeouts and the backoff between them')
  } finally {
    await backend.close()
  }
})

test('a body that trickles a byte just often enough never to look idle fails as stalled', {timeout: 30_000}, async () => {
  const server = await serving((s) => {
    s.misbehave = (request, res) => {
      if (request.method !== 'GET' || request.key !== CHUNK_KEY) return false
      res.writeHead(200, {'content-length': 4096, etag: '"0"'})
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(new Uint8Array(1))), 300)
      res.once('close', () => clearInterval(drip))
      return true
    }
  })
  process.env.AWS_ACCESS_KEY_ID = 'HOSTILE'
  process.env.AWS_SECRET_ACCESS_KEY = 'HOSTILE'
  const backend = await S3Backend.open({bucket: BUCKET, prefix: 'r/', endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', limits: {...networkLimits(null), connectMs: 1000, idleMs: 1000}})
  const started = performance.now()
  try {
    await assert.rejects(
      async () => {
        for await (const _ of backend.get(CHUNK_KEY.slice(2)));
      },
      (error: RedreplError) => error.code === 'repo.timeout' && /redpack: the store sent \d bytes in [\d.]+ s of waiting, fewer than 4096: stalled/.test(error.message),
    )
    assert.ok(performance.now() - started < 8000, 'about two idle timeouts, not the 20 minutes the drip would take')
  } finally {
    await backend.close()
  }
})

test('a listing that hands back the same continuation token: repo list refuses it at once, naming the repository (exit 1)', async (t) => {
  const server = await serving((s) => {
    s.misbehave = (request, res) => {
      if (request.query.get('list-type') !== '2') return false
      listPage(res, request.query.get('prefix') ?? '', [{key: `r/${T1}/wal/00000000000000000000.redwal`, size: 10n}], 'again')
      return true
    }
  })
  const run = await runMeasured(args('repo', 'list', '--timeout', '20s'), server.env())
  report(t, 'repo list, looping token', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /s3:\/\/hostile\/r\/db1\/: the store hands back a continuation token it gave before \(page 2\); the listing would never end/)
  assertBounded(run, 20)
  assert.ok(server.requests <= 3, `${server.requests} requests`)
})

/** A listing of fresh keys (`perPage` a page) and fresh tokens, for ever. */
function endlessListing(s: HostileS3, perPage: number): void {
  let page = 0
  s.misbehave = (request, res) => {
    if (request.query.get('list-type') !== '2') return false
    page++
    const keys = Array.from({length: perPage}, (_, i) => ({key: `r/db1/junk/${String(page).padStart(8, '0')}-${String(i).padStart(4, '0')}`, size: 1n}))
    listPage(res, request.query.get('prefix') ?? '', keys, `token-${page}`)
    return true
  }
}

test('a listing that never ends: repo list stops at its --timeout with bounded memory (exit 1)', async (t) => {
  const server = await serving((s) => endlessListing(s, 1000))
  const run = await runMeasured(args('repo', 'list', '--timeout', '4s'), server.env())
  report(t, `repo list, endless listing (${server.requests} pages served)`, run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /s3:\/\/hostile\/r\/db1\/: the list did not finish within the run's deadline of 4 s/)
  assertBounded(run, 4)
})

test('a listing that never ends is cut at the key and page bounds, naming the listing', async () => {
  const server = await serving((s) => endlessListing(s, 1000))
  const limits = networkLimits(20_000)
  const open = (listLimits: {maxKeys: number; maxPages: number}) =>
    S3Backend.open({bucket: BUCKET, prefix: 'r/', endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', limits, listLimits})
  const drain = async (backend: S3Backend) => {
    try {
      for await (const _ of backend.list('db1/'));
    } finally {
      await backend.close()
    }
  }
  await assert.rejects(drain(await open({maxKeys: 5000, maxPages: 1000})), (error: RedreplError) => error.code === 'repo.listing-endless' && /s3:\/\/hostile\/r\/db1\/: the listing holds more than 5000 keys/.test(error.message))
  endlessListing(server, 0)
  await assert.rejects(drain(await open({maxKeys: 5000, maxPages: 50})), (error: RedreplError) => error.code === 'repo.listing-endless' && /s3:\/\/hostile\/r\/db1\/: the listing did not end within 50 pages/.test(error.message))
})

/** Files under the fetched node's WAL directory (none may be a temp file). */
function walFiles(data: string): string[] {
  const wal = Layout.fromDataPath(data).walDir(1n)
  return existsSync(wal) ? readdirSync(wal) : []
}

test('a listing that claims a 3,000,000,000-byte WAL segment with an endless body: repo fetch-wal refuses it before reading (exit 3)', async (t) => {
  const server = await serving((s) => {
    s.listedSizes.set(WAL0_KEY, 3_000_000_000n)
    endlessBodyOf(s, WAL0_KEY)
  })
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runMeasured(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s'), server.env())
  report(t, 'fetch-wal, listed at 3 GB, endless body', run)
  assert.equal(run.exitCode, 3, run.stderr)
  oneLineNaming(run, /00000000000000000000\.redwal: listed at 3000000000 bytes, more than any WAL segment can hold \(1073741824\)/)
  assertBounded(run, 10)
  assert.deepEqual(walFiles(data), [])
})

test('repo verify (and --quick) reports a WAL segment listed past any segment\'s size as damaged without downloading it (exit 3)', async (t) => {
  const server = await serving((s) => {
    s.listedSizes.set(WAL0_KEY, 3_000_000_000n)
    endlessBodyOf(s, WAL0_KEY)
  })
  for (const quick of [[], ['--quick']]) {
    const run = await runMeasured(args('repo', 'verify', ...quick, '--timeout', '10s', '--json'), server.env())
    report(t, `repo verify ${quick.join(' ')}, WAL listed at 3 GB`, run)
    assert.equal(run.exitCode, 3, run.stderr)
    const damaged = (documentOf(run.stdout).findings as any[]).map((f) => `${f.code} ${f.message}`)
    assert.deepEqual(damaged, ['repo.object-damaged listed at 3000000000 bytes, more than any WAL segment can hold (1073741824)'])
    assertBounded(run, 10)
  }
})

test('a WAL object whose body runs past its listed size: repo fetch-wal stops at that size, naming it (exit 3), and leaves no temp file', async (t) => {
  const server = await serving((s) => endlessBodyOf(s, WAL0_KEY))
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runMeasured(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s'), server.env())
  report(t, 'fetch-wal, endless body past the listed size', run)
  assert.equal(run.exitCode, 3, run.stderr)
  oneLineNaming(run, /00000000000000000000\.redwal: holds more than the size it is listed at \(\d+ bytes\)/)
  assertBounded(run, 10)
  assert.deepEqual(walFiles(data), [])
})

/** gzip of `members` × 64 MiB of zero bytes, as that many gzip members (which gunzip reads as one stream). */
function gzipOfZeros(members: number): Uint8Array {
  const member = zlib.gzipSync(new Uint8Array(64 * 1024 * 1024), {level: 9})
  return Buffer.concat(Array.from({length: members}, () => member))
}

test('a WAL body that stalls half-way: repo fetch-wal fails at its --timeout naming the segment and leaves no temp file (exit 1)', async (t) => {
  const server = await serving((s) => {
    s.misbehave = (request, res) => {
      if (request.method !== 'GET' || request.key !== WAL0_KEY) return false
      const body = s.objects.get(WAL0_KEY)!
      res.writeHead(200, {'content-length': body.length, etag: '"0"'})
      res.write(body.subarray(0, body.length >> 1))
      return true
    }
  })
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runMeasured(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '2s'), server.env())
  report(t, 'fetch-wal, stalled body', run)
  assert.equal(run.exitCode, 1, run.stderr)
  oneLineNaming(run, /00000000000000000000\.redwal: the download did not finish within the run's deadline of 2 s/)
  assertBounded(run, 2)
  assert.deepEqual(walFiles(data), [])
})

test('a WAL segment with a good CRC but records out of sequence: repo fetch-wal refuses it as decode would, with no file left (exit 3)', async () => {
  const real = readFileSync(path.join(await pushedRepository(), T1, 'wal', '00000000000000000000.redwal'))
  const segment = walSegmentCodec.decode(real, {nowMs: 0n})
  assert.ok(segment.records.length >= 2)
  // Re-encoded with every CRC right, so only the record rules can tell.
  const records = segment.records.map((r, i) => (i === 1 ? {...r, sequence: r.sequence + 5n} : r))
  const server = await serving((s) => s.objects.set(WAL0_KEY, walSegmentCodec.encode({...segment, records}, {nowMs: 0n})))
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runCli(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s'), {env: server.env()})
  assert.equal(run.exitCode, 3, run.stderr)
  assert.match(run.stderr, /^redrepl: s3:\/\/hostile\/r\/db1\/timeline-0+1\/wal\/00000000000000000000\.redwal: wal record sequence \d+ does not follow \d+\n$/)
  assert.deepEqual(walFiles(data), [])
})

test('a decompression bomb under a .redwal.2500000000.gz name is refused before a byte is read (exit 3)', async (t) => {
  const bomb = zlib.gzipSync(new Uint8Array(64 * 1024 * 1024), {level: 1})
  const server = await serving((s) => {
    s.objects.delete(WAL0_KEY)
    s.objects.set(`${WAL0_KEY}.2500000000.gz`, bomb)
  })
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runMeasured(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s'), server.env())
  report(t, 'fetch-wal, bomb named .2500000000.gz', run)
  assert.equal(run.exitCode, 3, run.stderr)
  oneLineNaming(run, /00000000000000000000\.redwal\.2500000000\.gz: listed at 2500000000 bytes, more than any WAL segment can hold/)
  assertBounded(run, 10)
  assert.deepEqual(walFiles(data), [])
})

test('a decompression bomb under its true-looking size: the stream stops at the size the name states (exit 3), memory bounded', async (t) => {
  const real = readFileSync(path.join(await pushedRepository(), T1, 'wal', '00000000000000000000.redwal'))
  // About 1 MiB of gzip that inflates to 10 GiB, named as the real segment's size.
  const bomb = gzipOfZeros(160)
  const server = await serving((s) => {
    s.objects.delete(WAL0_KEY)
    s.objects.set(`${WAL0_KEY}.${real.length}.gz`, bomb)
  })
  const data = path.join(await scratch.dir(), 'data.rdb')
  const run = await runMeasured(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s'), server.env())
  report(t, `fetch-wal, ${bomb.length}-byte bomb named .${real.length}.gz`, run)
  assert.equal(run.exitCode, 3, run.stderr)
  oneLineNaming(run, new RegExp(`00000000000000000000\\.redwal\\.${real.length}\\.gz: holds more than the ${real.length} bytes it should`))
  assertBounded(run, 10)
  assert.deepEqual(walFiles(data), [])
})

test('a pack body that never ends (a store that ignores Range): repo restore stops at the piece\'s size and refuses its bytes, naming the pack (exit 3); no file left', async (t) => {
  const server = await serving((s) => endlessBodyOf(s, CHUNK_KEY))
  const dir = await scratch.dir()
  const run = await runMeasured(args('repo', 'restore', '--to', path.join(dir, 'restored.rdb'), '--rdb-version', '1', '--timeout', '10s'), server.env())
  report(t, 'repo restore, endless chunk body', run)
  assert.equal(run.exitCode, 3, run.stderr)
  oneLineNaming(run, /\.redpack: piece at offset 10 \(9004 bytes\) does not match its SHA-256/)
  assertBounded(run, 10)
  assert.deepEqual(readdirSync(dir), [])
})

test('the same repository served honestly restores and fetches: the hostile server is a working S3 when it behaves', async () => {
  const server = await serving()
  const dir = await scratch.dir()
  const data = path.join(dir, 'data.rdb')
  const restore = await runCli(args('repo', 'restore', '--to', data, '--rdb-version', '1', '--timeout', '10s'), {env: server.env()})
  assert.equal(restore.exitCode, 0, restore.stderr)
  const fetched = await runCli(args('repo', 'fetch-wal', '--data-path', data, '--from-lsn', '0', '--segment-bytes', '1MiB', '--timeout', '10s', '--json'), {env: server.env()})
  assert.equal(fetched.exitCode, 0, fetched.stderr)
  assert.deepEqual((jsonOf(fetched).fetched as any[]).map((s) => s.index), [0n, 1n, 2n, 3n])
})

test('--timeout takes a duration or off; anything else is a usage error naming the flag (exit 2)', async () => {
  for (const bad of ['forever', '-5s', '0ms', '30d']) {
    const run = await runCli(['repo', 'list', '--repo', REPO, '--node', 'db1', '--timeout', bad])
    assert.equal(run.exitCode, 2, `${bad}: ${run.stderr}`)
    assert.match(run.stderr, /--timeout/)
  }
  const dir = await scratch.dir()
  for (const good of ['off', '0', '90s', '1h30m']) {
    const run = await runCli(['repo', 'list', '--repo', dir, '--node', 'db1', '--timeout', good, '--json'])
    assert.equal(run.exitCode, 0, `${good}: ${run.stderr}`)
  }
})
