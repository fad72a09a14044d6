import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {Readable} from 'node:stream'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {runCli, useScratch} from '../support/cli.js'
import {documentOf} from '../support/node.js'
import {T1} from '../support/layout-node.js'

/**
 * Where an artifact belongs, something that is not one: a FIFO (opening it
 * used to wait for a writer forever), a link to an endless device, a
 * directory, a sparse file of several GB (read whole, it took 3 GB of memory
 * and 22 s to be rejected). Every command that reads that artifact must end
 * within seconds with one line naming the file and exit 3; layout verify
 * must report it as a finding and still print its report.
 */

const scratch = useScratch()

const RELAY_A = path.join(T1, 'relay', 'replica-a')
/**
 * A CLI run that hangs is killed and fails the test. Each run takes about a
 * second; the limit is generous because the test machine may be busy.
 */
const RUN_LIMIT_MS = 45_000
const SPARSE_BYTES = 3 * 1024 ** 3

const PLANTS: Record<string, (file: string) => void> = {
  fifo: (file) => execFileSync('mkfifo', [file]),
  'link to /dev/zero': (file) => symlinkSync('/dev/zero', file),
  'link to /dev/urandom': (file) => symlinkSync('/dev/urandom', file),
  directory: (file) => mkdirSync(file),
  'sparse 3 GiB file': (file) => {
    writeFileSync(file, '')
    truncateSync(file, SPARSE_BYTES)
  },
}

interface Reader {
  artifact: string
  /** Relative to the copy of the sample layout. */
  file: string
  args: (data: string, file: string) => string[]
  input?: string
}

const READERS: Reader[] = [
  {artifact: 'timeline history', file: path.join('data.primary-replica', 'timeline-history.redtimeline'), args: (data) => ['timeline', 'show', '--data-path', data]},
  {artifact: 'slot catalog', file: path.join(T1, 'replication-slots.redslots'), args: (data) => ['slots', 'show', '--data-path', data]},
  {artifact: 'slot catalog (wal prune)', file: path.join(T1, 'replication-slots.redslots'), args: (data) => ['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--dry-run']},
  {artifact: 'legacy slot store', file: 'data.rdb.logical.slots.json', args: (data) => ['slots', 'show', '--data-path', data]},
  {artifact: 'WAL segment', file: path.join(T1, 'wal', '00000000000000000005.redwal'), args: (_data, file) => ['wal', 'dump', file]},
  {artifact: 'relay manifest', file: path.join(RELAY_A, 'relay.redmanifest'), args: (data) => ['relay', 'append', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '0'], input: '{"lsn":99,"payload_hex":"00"}\n'},
  {artifact: 'relay segment', file: path.join(RELAY_A, 'relay-00000000000000000021-00000000000000000040.redwal'), args: (data) => ['relay', 'show', '--data-path', data, '--replica', 'replica-a']},
  {artifact: 'base backup manifest', file: path.join(T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase'), args: (data) => ['basebackup', 'list', '--data-path', data]},
  {artifact: 'rebootstrap marker (inspect FILE)', file: 'data.rebootstrap.ready', args: (_data, file) => ['inspect', file]},
  {artifact: 'timeline history (inspect FILE)', file: path.join('data.primary-replica', 'timeline-history.redtimeline'), args: (_data, file) => ['inspect', file, '--json']},
]

async function planted(file: string, plant: (file: string) => void): Promise<{dir: string; data: string; target: string}> {
  const dir = await scratch.layout('primary-basic')
  const target = path.join(dir, file)
  rmSync(target, {force: true})
  plant(target)
  return {dir, data: path.join(dir, 'data.rdb'), target}
}

for (const [variant, plant] of Object.entries(PLANTS)) {
  test(`${variant} where an artifact belongs: each reader stops within seconds with one line and exit 3`, async () => {
    // Two at a time: the machine has two cores, and each run is a node process.
    for (let i = 0; i < READERS.length; i += 2) {
      await Promise.all(
        READERS.slice(i, i + 2).map(async (reader) => {
          const node = await planted(reader.file, plant)
          const result = await runCli(reader.args(node.data, node.target), {input: reader.input, timeoutMs: RUN_LIMIT_MS})
          const what = `${reader.artifact} as a ${variant}`
          assert.equal(result.exitCode, 3, `${what}: exit ${result.exitCode}: ${result.stderr}`)
          assert.match(result.stderr + result.stdout, new RegExp(path.basename(reader.file).replaceAll('.', '\\.')), what)
          assert.match(result.stderr + result.stdout, /not a regular file|more than any|is a directory|is a FIFO|is a character device|leads outside/, what)
          assert.doesNotMatch(result.stderr, /unexpected error/, what)
          assert.ok(result.stderr.trimEnd().split('\n').length <= 1, `${what}: ${result.stderr}`)
        }),
      )
    }
  })
}

test('layout verify reports every special or oversized artifact as a finding, prints its report and exits 3', async () => {
  const plants = Object.entries(PLANTS)
  const dir = await scratch.layout('primary-basic')
  // One artifact per variant in one layout, so one run sees them all.
  const files = [
    path.join('data.primary-replica', 'timeline-history.redtimeline'),
    path.join(T1, 'replication-slots.redslots'),
    path.join(T1, 'wal', '00000000000000000005.redwal'),
    path.join(RELAY_A, 'relay-00000000000000000021-00000000000000000040.redwal'),
    path.join(T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase'),
  ]
  files.forEach((file, i) => {
    rmSync(path.join(dir, file), {force: true})
    plants[i % plants.length][1](path.join(dir, file))
  })
  // Names RedDB would take for a WAL segment, but not files: RedDB ignores them, verify says so.
  execFileSync('mkfifo', [path.join(dir, T1, 'wal', '00000000000000000007.redwal')])
  mkdirSync(path.join(dir, T1, 'wal', '00000000000000000008.redwal'))
  execFileSync('mkfifo', [path.join(dir, 'data.rebootstrap.ready')])
  symlinkSync('/dev/zero', path.join(dir, 'data.rdb.logical.slots.json'))

  const result = await runCli(['layout', 'verify', '--data-path', path.join(dir, 'data.rdb'), '--json'], {timeoutMs: RUN_LIMIT_MS})
  assert.equal(result.exitCode, 3, result.stderr)
  const report = documentOf(result.stdout) as unknown as {ok: boolean; findings: Array<{code: string; path: string; message: string}>}
  assert.equal(report.ok, false)
  const flagged = (name: string, code: RegExp) => report.findings.some((f) => f.path.endsWith(name) && code.test(f.code))
  assert.ok(flagged('timeline-history.redtimeline', /artifact\.not-regular/), JSON.stringify(report.findings, (_, v) => (typeof v === 'bigint' ? String(v) : v)))
  assert.ok(flagged('replication-slots.redslots', /artifact\.not-regular/))
  assert.ok(flagged('00000000000000000005.redwal', /artifact\.not-regular/))
  assert.ok(flagged('00000000000000000007.redwal', /artifact\.not-regular/))
  assert.ok(flagged('00000000000000000008.redwal', /artifact\.not-regular/))
  // A relay segment is judged through the manifest that names it.
  assert.ok(report.findings.some((f) => f.path.endsWith(path.join('replica-a', 'relay.redmanifest')) && f.code === 'relay.inconsistent' && f.message.includes('relay-00000000000000000021')))
  assert.ok(flagged('.redbase', /artifact\.too-large/))
  assert.ok(flagged('data.rebootstrap.ready', /artifact\.not-regular/))
  assert.ok(flagged('data.rdb.logical.slots.json', /artifact\.not-regular/))
  assert.equal(result.stderr, '')
})

test('a data path that is a FIFO is a finding, not a hang', async () => {
  const dir = await scratch.layout('primary-basic')
  rmSync(path.join(dir, 'data.rdb'))
  execFileSync('mkfifo', [path.join(dir, 'data.rdb')])
  const result = await runCli(['layout', 'verify', '--data-path', path.join(dir, 'data.rdb'), '--json'], {timeoutMs: RUN_LIMIT_MS})
  assert.equal(result.exitCode, 3, result.stderr)
  const report = documentOf(result.stdout) as unknown as {findings: Array<{code: string; path: string}>}
  assert.ok(report.findings.some((f) => f.path.endsWith('data.rdb') && f.code === 'artifact.not-regular'))
})

test('relay append: stdin past the batch limit is refused with one line naming stdin and the limit', async () => {
  const dir = await scratch.layout('primary-basic')
  const line = Buffer.from(`${JSON.stringify({lsn: 1, payload_hex: '00'.repeat(1 << 20)})}\n`)
  // About 600 MB, produced as it is consumed: more than one string can hold.
  const input = Readable.from((function* () {
    for (let i = 0; i < 300; i++) yield line
  })())
  const result = await runCli(['relay', 'append', '--data-path', path.join(dir, 'data.rdb'), '--replica', 'big', '--applied-lsn', '0'], {input, timeoutMs: 60_000})
  assert.equal(result.exitCode, 2, result.stderr)
  assert.match(result.stderr, /^redrepl: stdin: the record batch is larger than 268435456 bytes/)
  assert.doesNotMatch(result.stderr, /unexpected error/)
  assert.equal(result.stderr.trimEnd().split('\n').length, 1)
})

test('basebackup create --snapshot names the snapshot path when it is a directory or a FIFO', async () => {
  const dir = await scratch.layout('primary-basic')
  const snapshotDir = path.join(dir, 'snap-dir')
  mkdirSync(snapshotDir)
  const fifo = path.join(dir, 'snap-fifo')
  execFileSync('mkfifo', [fifo])
  for (const source of [snapshotDir, fifo]) {
    const result = await runCli(['basebackup', 'create', '--data-path', path.join(dir, 'data.rdb'), '--snapshot', source, '--checkpoint-lsn', '7'], {timeoutMs: RUN_LIMIT_MS})
    assert.equal(result.exitCode, 3, result.stderr)
    assert.match(result.stderr, new RegExp(`^redrepl: ${source.replaceAll('.', '\\.')}: is a (directory|FIFO)`))
  }
})

test('layout verify reports a manifest whose segment path holds a NUL byte (CRC re-sealed) and carries on', async () => {
  const dir = await scratch.layout('primary-basic')
  const manifestPath = path.join(dir, RELAY_A, 'relay.redmanifest')
  const bytes = new Uint8Array(readFileSync(manifestPath))
  const at = Buffer.from(bytes).indexOf('relay-00000000000000000021')
  bytes[at + 8] = 0
  new DataView(bytes.buffer).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true)
  writeFileSync(manifestPath, bytes)
  const result = await runCli(['layout', 'verify', '--data-path', path.join(dir, 'data.rdb'), '--json'], {timeoutMs: RUN_LIMIT_MS})
  assert.equal(result.exitCode, 3, result.stderr)
  assert.equal(result.stderr, '')
  const report = documentOf(result.stdout) as unknown as {artifacts_checked: number; findings: Array<{code: string; path: string; message: string}>}
  const problems = report.findings.filter((f) => (f as {severity?: string}).severity !== 'note')
  assert.deepEqual(problems.map((f) => [path.basename(f.path), f.code]), [['relay.redmanifest', 'artifact.corrupt']])
  assert.match(problems[0].message, /relay segment path "relay-00\\u0000\d+-\d+\.redwal" holds a NUL byte/)
  // Everything else was still checked: the history, 5 WAL segments, the catalog, the backup, replica-b, the database.
  assert.ok(report.artifacts_checked >= 10, String(report.artifacts_checked))
})
