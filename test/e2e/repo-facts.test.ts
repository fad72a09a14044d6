import assert from 'node:assert/strict'
import {cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {appendWalRecord, emptyWalSegment, walSegmentCodec} from '../../src/core/format/wal-segment.js'
import {Layout} from '../../src/core/layout.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {runCli, useScratch} from '../support/cli.js'
import {NOW_MS} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {initialEntry, promoteEntry, writeReplicaNode, type ReplicaNode} from '../support/repo-node.js'
import {useRepos, type TestRepo} from '../support/repository.js'
import {MiB} from '../support/wal-node.js'

const scratch = useScratch()
const BUCKET = 'redrepl-facts'
const repos = useRepos(scratch, BUCKET, 'f')

const BACKENDS = repos.backends()

const KEYS = new RepoKeys('db')
const run = (repo: TestRepo, ...args: string[]) => runCli([...args, '--repo', repo.url, '--cluster', 'db'], {env: repo.env})

async function node(spec: ReplicaNode): Promise<string> {
  return writeReplicaNode(await scratch.dir('redrepl-node-'), spec)
}

/** Rewrites segment `index` of timeline 1 with payloads of the same length but other bytes: another node's WAL. */
function rewriteSegment(dataPath: string, index: bigint, records: number, segmentBytes: bigint): void {
  const layout = Layout.fromDataPath(dataPath)
  let segment = emptyWalSegment(1n, index, segmentBytes)
  const first = index * segmentBytes
  for (let k = 0n; k < BigInt(records); k++) segment = appendWalRecord(segment, first + k, new TextEncoder().encode(`oq-${first + k}`), segmentBytes)
  writeFileSync(layout.walSegmentPath(1n, index), walSegmentCodec.encode(segment, {nowMs: NOW_MS}))
}

async function copyNode(dataPath: string): Promise<string> {
  const dir = await scratch.dir('redrepl-node-')
  cpSync(path.dirname(dataPath), dir, {recursive: true})
  return path.join(dir, 'data.rdb')
}

const S256 = 256n * MiB
const primarySpec = (extra: Partial<ReplicaNode> = {}): ReplicaNode => ({
  segmentBytes: S256,
  wal: {1: {0: 2, 1: 2, 2: 2, 3: 2, 4: 2, 5: 1}},
  backups: [
    [1n, S256 + 1n],
    [1n, 3n * S256 + 1n],
  ],
  rdbFormat: 2,
  history: [initialEntry()],
  ...extra,
})

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: push records the replica set's facts from the node's files; every repo command takes the segment size from them`, async () => {
    const repo = await makeRepo()
    const data = await node(primarySpec())
    const pushed = jsonOf(await run(repo, 'repo', 'push', '--data-path', data, '--json'))
    assert.deepEqual(pushed.facts, {segment_bytes: S256, rdb_release: 'reddb-1.23', current_timeline: 1n})
    const listed = jsonOf(await run(repo, 'repo', 'list', '--json'))
    assert.equal(listed.segment_bytes, S256)
    assert.equal(listed.segment_bytes_source, 'repository')
    assert.deepEqual((listed.wal as any[])[0], {timeline: 1n, segments: 5n, runs: [{first_index: 0n, last_index: 4n}], gaps: [], from_lsn: 0n, to_lsn: 5n * S256})
    const contradicted = await run(repo, 'repo', 'list', '--segment-bytes', '64MiB')
    assert.equal(contradicted.exitCode, 4, contradicted.stderr)
    assert.match(contradicted.stderr, /^redrepl: .*replica-set\.facts: the repository records WAL segments of 268435456 bytes \(from the header of segment 1 of timeline 1\), not 67108864; leave out --segment-bytes/)
    assert.equal(contradicted.stderr.trim().split('\n').length, 1, 'one line')
  })

  test(`${kind}: a second node of the namespace whose segment differs by one byte at the same size is refused, and the archived copy stays the first node's`, async () => {
    const repo = await makeRepo()
    const a = await node(primarySpec({slots: []}))
    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    const before = await repo.read(KEYS.wal(1n, 3n))
    const b = await copyNode(a)
    rewriteSegment(b, 3n, 2, S256)
    assert.equal(readFileSync(Layout.fromDataPath(b).walSegmentPath(1n, 3n)).length, before.length, 'same size')
    // B also has a backup the repository lacks: the refusal comes before any upload, so it is not stored either.
    writeReplicaNode(path.dirname(b), {segmentBytes: S256, wal: {}, backups: [[1n, 2n * S256 + 1n]]})
    const refused = await run(repo, 'repo', 'push', '--data-path', b)
    assert.equal(refused.exitCode, 4, refused.stderr)
    assert.equal((jsonOf(await run(repo, 'repo', 'list', '--json')).backups as any[]).length, 2, 'nothing of B was uploaded')
    assert.match(refused.stderr, /00000000000000000003\.redwal: holds CRC 0x[0-9a-f]{8}, this node's copy 0x[0-9a-f]{8}; the repository's copy is the replica set's \(last pushed by [^)]*data\.rdb on timeline 1\): two nodes write this namespace/)
    assert.deepEqual(await repo.read(KEYS.wal(1n, 3n)), before)
    // And wal prune on B does not count its segment 3 as archived: the repository's copy is not its bytes.
    const prune = ['wal', 'prune', '--data-path', b, '--min-segments', '1', '--no-keep-until-replicas-ack', '--repo', repo.url, '--cluster', 'db', '--json']
    const pruned = jsonOf(await runCli(prune, {env: repo.env}))
    assert.deepEqual((pruned.removed_segments as any[]).map((s) => s.index), [0n, 1n, 2n, 4n])
    assert.ok(readFileSync(Layout.fromDataPath(b).walSegmentPath(1n, 3n)).length > 0, 'segment 3 stays on B')
  })

  test(`${kind}: a node of another history (a split brain), of another segment size, or left behind by a failover is refused; the new primary carries on`, async () => {
    const repo = await makeRepo()
    const a = await node(primarySpec())
    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    const history = await repo.read(`db/timeline-history.redtimeline`)

    const other = await node(primarySpec({history: [initialEntry(NOW_MS + 5n)], flavour: 'x'}))
    const forked = await run(repo, 'repo', 'push', '--data-path', other)
    assert.equal(forked.exitCode, 4, forked.stderr)
    assert.match(forked.stderr, /the timeline histories fork: the repository \(last pushed by .*\) has timeline 1 \(initial, created 1700000000000\), this node \(.*, timeline 1\) has timeline 1 \(initial, created 1700000000005\)/)
    assert.deepEqual(await repo.read(`db/timeline-history.redtimeline`), history, 'the history is the first node\'s')

    const sized = await node(primarySpec({segmentBytes: 64n * MiB, backups: []}))
    const wrongSize = await run(repo, 'repo', 'push', '--data-path', sized)
    assert.equal(wrongSize.exitCode, 4, wrongSize.stderr)
    assert.match(wrongSize.stderr, /has WAL segments of 268435456 bytes \(segment 1 of timeline 1\); this node \(.*\) has 67108864 \(segment 1 of timeline 1\): not one replica set/)

    // Failover: a replica promoted at LSN 4·S+1 carries on in the namespace on timeline 2.
    const promoted = await node({...primarySpec({backups: []}), wal: {1: {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}, 2: {4: 3, 5: 1}}, history: [initialEntry(), promoteEntry(2n, 4n * S256 + 1n)]})
    const carried = jsonOf(await run(repo, 'repo', 'push', '--data-path', promoted, '--json'))
    assert.deepEqual([carried.history_pushed, (carried.facts as any).current_timeline], [true, 2n])
    // The old primary, still on timeline 1, may not write any more.
    const behind = await run(repo, 'repo', 'push', '--data-path', a)
    assert.equal(behind.exitCode, 4, behind.stderr)
    assert.match(behind.stderr, /is on timeline 1, which the replica set left at LSN 1073741825 for timeline 2 \(promote r1; .*\): a former primary cannot write/)
  })

  test(`${kind}: the live segment pushed early is replaced by its grown self, and only that one`, async () => {
    const repo = await makeRepo()
    const a = await node(primarySpec())
    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--include-current', '--json'))
    // Segment 5 grows; RedDB opens segment 6.
    rewriteSegment(a, 5n, 3, S256)
    writeReplicaNode(path.dirname(a), {segmentBytes: S256, wal: {1: {6: 1}}})
    const grown = jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    assert.equal(grown.wal_segments_pushed, 1n)
    assert.deepEqual(await repo.read(KEYS.wal(1n, 5n)), readFileSync(Layout.fromDataPath(a).walSegmentPath(1n, 5n)))
    // Segment 5 is sealed now: another node's version of it is refused like any other.
    const b = await copyNode(a)
    rewriteSegment(b, 5n, 4, S256)
    const refused = await run(repo, 'repo', 'push', '--data-path', b)
    assert.equal(refused.exitCode, 4, refused.stderr)
  })
}

const walFiles = (dataPath: string, timeline: bigint) => {
  const dir = Layout.fromDataPath(dataPath).walDir(timeline)
  return existsSync(dir) ? readdirSync(dir).map((name) => BigInt(name.slice(0, 20))).sort((a, b) => (a < b ? -1 : 1)) : []
}

for (const mib of [1n, 16n, 64n, 256n]) {
  const S = mib * MiB
  test(`${mib} MiB segments, no --segment-bytes: expire keeps the WAL of the kept backup, fetch-wal brings exactly its run, and a gap is refused naming it`, async () => {
    const repo = await repos.local()
    const data = await node(primarySpec({segmentBytes: S, backups: [[1n, S + 1n], [1n, 3n * S + 1n]]}))
    jsonOf(await run(repo, 'repo', 'push', '--data-path', data, '--json'))
    const listed = jsonOf(await run(repo, 'repo', 'list', '--json'))
    assert.deepEqual((listed.backups as any[]).map((b) => [b.checkpoint_lsn, b.wal_covered_from_checkpoint]), [[S + 1n, true], [3n * S + 1n, true]])
    assert.deepEqual([(listed.wal as any[])[0].from_lsn, (listed.wal as any[])[0].to_lsn], [0n, 5n * S], 'LSN ranges at the node\'s segment size')

    // Restored from the older backup, a node replays segments 1-4 (5 is the live one, not archived).
    const fresh = path.join(await scratch.dir('redrepl-fresh-'), 'data.rdb')
    const fetched = jsonOf(await run(repo, 'repo', 'fetch-wal', '--data-path', fresh, '--from-lsn', String(S + 1n), '--json'))
    assert.deepEqual((fetched.fetched as any[]).map((s) => s.index), [1n, 2n, 3n, 4n])
    assert.deepEqual([fetched.segment_bytes, fetched.segment_bytes_source], [S, 'repository'])
    assert.deepEqual(walFiles(fresh, 1n), [1n, 2n, 3n, 4n])

    const expired = jsonOf(await run(repo, 'repo', 'expire', '--keep-last', '1', '--confirm', '--json'))
    assert.deepEqual((expired.backups as any[]).map((b) => b.action), ['delete', 'keep'])
    assert.deepEqual((expired.wal_delete as any[]).map((w) => w.index), [0n, 1n, 2n])
    const after = jsonOf(await run(repo, 'repo', 'list', '--json'))
    assert.deepEqual((after.backups as any[]).map((b) => [b.checkpoint_lsn, b.wal_covered_from_checkpoint]), [[3n * S + 1n, true]])

    // The older checkpoint's WAL is gone now: fetch-wal says which segment is missing and writes nothing.
    const other = path.join(await scratch.dir('redrepl-fresh-'), 'data.rdb')
    const gap = await run(repo, 'repo', 'fetch-wal', '--data-path', other, '--from-lsn', String(S + 1n))
    assert.equal(gap.exitCode, 6, gap.stderr)
    assert.match(gap.stderr, /^redrepl: .*wal\/: segment 1 of timeline 1 is not in the repository, and a node restored at LSN \d+ replays it; nothing was fetched/)
    assert.deepEqual(walFiles(other, 1n), [])
  })
}

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: across a failover fetch-wal brings the old timeline's WAL to the fork and the new one's from the fork's segment; a hole in the middle is refused`, async () => {
    const repo = await makeRepo()
    const S = 16n * MiB
    const history = [initialEntry(), promoteEntry(2n, 4n * S + 1n)]
    const promoted = await node({segmentBytes: S, wal: {1: {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}, 2: {4: 3, 5: 2, 6: 1}}, backups: [[1n, S + 1n]], history, rdbFormat: 2})
    jsonOf(await run(repo, 'repo', 'push', '--data-path', promoted, '--json'))
    const [backup] = jsonOf(await run(repo, 'repo', 'list', '--json')).backups as any[]
    assert.equal(backup.wal_covered_from_checkpoint, true)
    const fresh = path.join(await scratch.dir('redrepl-fresh-'), 'data.rdb')
    const fetched = jsonOf(await run(repo, 'repo', 'fetch-wal', '--data-path', fresh, '--from-lsn', String(S + 1n), '--json'))
    assert.deepEqual((fetched.fetched as any[]).map((s) => [s.timeline, s.index]), [[1n, 1n], [1n, 2n], [1n, 3n], [1n, 4n], [2n, 4n], [2n, 5n]])
    assert.deepEqual([fetched.timeline, fetched.history_written], [2n, true])

    // Without segment 5 of timeline 2 in the repository, the backup is not covered and fetch-wal refuses.
    const promotedWal = Layout.fromDataPath(promoted).walSegmentPath(2n, 5n)
    const holed = await repos.local()
    rmSync(promotedWal)
    // RedDB moved on to segment 7, so 6 is sealed and pushed: the archive holds 4 and 6 of timeline 2.
    writeReplicaNode(path.dirname(promoted), {segmentBytes: S, wal: {2: {7: 1}}})
    jsonOf(await run(holed, 'repo', 'push', '--data-path', promoted, '--json'))
    const [holedBackup] = jsonOf(await run(holed, 'repo', 'list', '--json')).backups as any[]
    assert.deepEqual([holedBackup.wal_covered_from_checkpoint, holedBackup.wal_first_missing], [false, {timeline: 2n, index: 5n}])
    const other = path.join(await scratch.dir('redrepl-fresh-'), 'data.rdb')
    const refused = await run(holed, 'repo', 'fetch-wal', '--data-path', other, '--from-lsn', String(S + 1n))
    assert.equal(refused.exitCode, 6, refused.stderr)
    assert.match(refused.stderr, /segment 5 of timeline 2 is not in the repository/)
  })
}

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: restore takes the format from the repository (never format 1 for a 1.23 set) and refuses a backup past the fork unless --force`, async () => {
    const repo = await makeRepo()
    const S = 64n * MiB
    // The old primary pushed a backup at 4·S+50 on timeline 1; the replica promoted at 4·S+1 never saw those writes.
    const a = await node({segmentBytes: S, wal: {1: {0: 2, 1: 2, 2: 2, 3: 2, 4: 60, 5: 1}}, backups: [[1n, S + 1n], [1n, 4n * S + 50n]], history: [initialEntry()], rdbFormat: 2})
    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    const b = await node({segmentBytes: S, wal: {2: {4: 3, 5: 1}}, history: [initialEntry(), promoteEntry(2n, 4n * S + 1n)], rdbFormat: 2})
    jsonOf(await run(repo, 'repo', 'push', '--data-path', b, '--json'))

    // An empty host: no data file to tell the format, and no --rdb-version: the repository says 1.23, so format 2.
    const host = await scratch.dir('redrepl-host-')
    const standalone = path.join(host, 'restored.rdb')
    const restored = jsonOf(await run(repo, 'repo', 'restore', '--checkpoint-lsn', String(S + 1n), '--to', standalone, '--json'))
    assert.deepEqual([restored.rdb_version, restored.rdb_version_source], [2n, 'repository'])
    assert.equal(readFileSync(standalone).readUInt32LE(8), 2, 'a layout-2 superblock: format 2')
    const format1 = await run(repo, 'repo', 'restore', '--checkpoint-lsn', String(S + 1n), '--to', path.join(host, 'one.rdb'), '--rdb-version', '1')
    assert.equal(format1.exitCode, 4, format1.stderr)
    assert.match(format1.stderr, /the replica set runs RedDB 1\.23 \(the repository's facts, last pushed by .*\), and RedDB 1\.23\.2 wrecks a format-1 database/)
    assert.ok(!existsSync(path.join(host, 'one.rdb')))

    // Without --checkpoint-lsn the newest backup on the current timeline's path is chosen, not the newer one past the fork.
    const latest = jsonOf(await run(repo, 'repo', 'restore', '--to', path.join(host, 'latest.rdb'), '--json'))
    assert.equal(latest.checkpoint_lsn, S + 1n)
    // The backup past the fork: refused for a rebootstrap, no pending database and no marker.
    const replica = path.join(await scratch.dir('redrepl-replica-'), 'data.rdb')
    const diverged = await run(repo, 'repo', 'restore', '--checkpoint-lsn', String(4n * S + 50n), '--data-path', replica, '--rebootstrap')
    assert.equal(diverged.exitCode, 4, diverged.stderr)
    assert.match(diverged.stderr, /not usable on the replica set's current timeline 2: its checkpoint 268435506 lies past LSN 268435457, where timeline 2 forked from its timeline 1/)
    assert.deepEqual(readdirSync(path.dirname(replica)).filter((n) => n.includes('rebootstrap')), [])
    const forced = await run(repo, 'repo', 'restore', '--checkpoint-lsn', String(4n * S + 50n), '--data-path', replica, '--rebootstrap', '--force', '--json')
    assert.equal(forced.exitCode, 0, forced.stderr)
    assert.match(forced.stderr, /^redrepl: warning: .*not usable on the replica set's current timeline 2/)
    assert.deepEqual((jsonOf(forced).findings as any[]).map((f) => f.code), ['force.overridden'])
  })
}

for (const [kind, makeRepo] of BACKENDS) {
  test(`${kind}: repo push records its last success and last failure in the repository, and repo list shows them`, async () => {
    const repo = await makeRepo()
    const a = await node(primarySpec())
    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    const first = jsonOf(await run(repo, 'repo', 'list', '--json')).archive_health as any
    assert.deepEqual([typeof first.last_success_unix_ms, first.last_failure_unix_ms, first.failing], ['bigint', null, false])

    const other = await node(primarySpec({segmentBytes: 64n * MiB, backups: []}))
    assert.equal((await run(repo, 'repo', 'push', '--data-path', other)).exitCode, 4)
    const failed = jsonOf(await run(repo, 'repo', 'list', '--json')).archive_health as any
    assert.equal(failed.failing, true)
    assert.equal(failed.last_success_unix_ms, first.last_success_unix_ms, 'the last success is kept')
    assert.match(failed.last_failure_reason, /has WAL segments of 268435456 bytes .* not one replica set/)
    const human = await run(repo, 'repo', 'list')
    assert.match(human.stdout, /^archive: last push \S+ from \S+; FAILING since \S+ from \S+: .*not one replica set/m)

    jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
    const recovered = jsonOf(await run(repo, 'repo', 'list', '--json')).archive_health as any
    assert.deepEqual([recovered.failing, recovered.last_failure_reason === failed.last_failure_reason], [false, true])
  })
}

test('a namespace an older redrepl wrote (no facts object) is read by its archived headers and history, and a push there records the facts', async () => {
  const repo = await repos.local()
  const a = await node(primarySpec())
  jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
  rmSync(path.join(repo.url, 'db', 'replica-set.facts'))
  rmSync(path.join(repo.url, 'db', 'push-status.facts'))
  const listed = jsonOf(await run(repo, 'repo', 'list', '--json'))
  assert.deepEqual([listed.segment_bytes, listed.segment_bytes_source, listed.rdb_release], [S256, 'headers', null])
  assert.equal((await run(repo, 'repo', 'list', '--segment-bytes', '64MiB')).exitCode, 4, 'the header contradicts the flag')
  // The stored history still pins the replica set: a node of another one is refused.
  const other = await node(primarySpec({history: [initialEntry(NOW_MS + 5n)]}))
  const refused = await run(repo, 'repo', 'push', '--data-path', other)
  assert.equal(refused.exitCode, 4, refused.stderr)
  assert.match(refused.stderr, /the timeline histories fork: the repository \(last pushed by unknown \(an older redrepl\)/)
  jsonOf(await run(repo, 'repo', 'push', '--data-path', a, '--json'))
  assert.equal(jsonOf(await run(repo, 'repo', 'list', '--json')).segment_bytes_source, 'repository')
})
