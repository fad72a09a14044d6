import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseConfig} from '../../src/core/config/config-file.js'
import {clusterNodes} from '../../src/core/config/inventory.js'
import {nodeArgv} from '../../src/core/ops/cluster/reach.js'
import {clusterCandidates, clusterStatus, type ClusterInput, type ClusterNodeReport} from '../../src/core/plan/cluster.js'
import type {SourcedAck} from '../../src/core/plan/promotion.js'

function relay(replica_id: string, flushed: bigint, applied = flushed, timeline = 1n): SourcedAck {
  return {replica_id, timeline, received_lsn: flushed, written_lsn: flushed, flushed_lsn: flushed, applied_lsn: applied, source: 'relay-manifest', path: `relay/${replica_id}`, invalidation_reason: null}
}

const INITIAL = {timeline: 1n, parent_timeline: null, fork_lsn: 0n, reason: 'initial'}

function node(overrides: Partial<ClusterNodeReport>): ClusterNodeReport {
  return {data_path: '/d/data.rdb', role: 'replica', timeline: 1n, history: [INITIAL], wal_head_lsn: null, oldest_wal_lsn: null, acks: [], findings: [], ...overrides}
}

const reached = (name: string, state: ClusterNodeReport): ClusterInput[number] => ({name, host: null, reached: true, state})

test('lag is against the furthest position on the newest timeline: a primary\'s WAL head, a replica\'s relay flushed LSN', () => {
  const status = clusterStatus([
    reached('p', node({role: 'primary', wal_head_lsn: 100n, acks: [{...relay('ra', 90n), source: 'slot-catalog'}]})),
    reached('ra', node({acks: [relay('ra', 120n, 110n)]})),
    {name: 'rb', host: 'db3', reached: false, reason: 'ssh exited 255: Connection refused'},
  ])
  assert.deepEqual([status.status, status.best_known_lsn, status.best_known_node, status.split_brain], ['WARNING', 120n, 'ra', []])
  assert.deepEqual(status.nodes.map((row) => [row.name, row.position_lsn, row.lag_lsn, row.relay_applied_lsn, row.state]), [
    ['p', 100n, 20n, null, 'OK'],
    ['ra', 120n, 0n, 110n, 'OK'],
    ['rb', null, null, null, 'WARNING'],
  ])
  assert.deepEqual(status.nodes[2].problems, ['unreachable: ssh exited 255: Connection refused'])
})

test('split brain: two primaries on different timelines, and one timeline forked differently', () => {
  const forkedAt = (lsn: bigint, who: string) => [INITIAL, {timeline: 2n, parent_timeline: 1n, fork_lsn: lsn, reason: `promote ${who}`}]
  const two = clusterStatus([
    reached('old', node({role: 'primary', wal_head_lsn: 50n})),
    reached('new', node({role: 'primary', timeline: 2n, wal_head_lsn: 45n, history: forkedAt(40n, 'new')})),
  ])
  assert.equal(two.status, 'CRITICAL')
  assert.deepEqual(two.split_brain, [
    'two nodes write on different timelines: old writes as the primary of timeline 1 (slot catalog, WAL head 50), while new writes as the primary of timeline 2 (slot catalog, WAL head 45); old has 10 LSNs past the fork at 40 that timeline 2 does not have',
  ])
  assert.match(two.nodes[0].problems[0], /^on timeline 1, behind the newest timeline 2/)
  assert.deepEqual(two.nodes.map((row) => [row.name, row.state, row.problems.at(-1)]), [['old', 'CRITICAL', 'split brain with new'], ['new', 'CRITICAL', 'split brain with old']])
  const forked = clusterStatus([reached('a', node({timeline: 2n, history: forkedAt(40n, 'a')})), reached('b', node({timeline: 2n, history: forkedAt(41n, 'b')}))])
  // Both promoted to timeline 2, each on its own line: one conflict, named by the histories.
  assert.deepEqual(forked.split_brain, ['a and b record timeline 2 differently: a forks it from 1 at LSN 40 (promote a), b from 1 at LSN 41 (promote b)'])
  assert.deepEqual(forked.nodes.map((row) => [row.state, row.rejoin]), [['CRITICAL', null], ['CRITICAL', 'reclone']])
  const agreeing = clusterStatus([reached('a', node({timeline: 2n, history: forkedAt(40n, 'a')})), reached('b', node({timeline: 2n, history: forkedAt(40n, 'a')}))])
  assert.deepEqual([agreeing.status, agreeing.split_brain], ['OK', []])
  assert.equal(clusterStatus([{name: 'x', host: null, reached: false, reason: 'gone'}]).status, 'CRITICAL')
})

test('candidates come from replicas\' relay logs with RedDB\'s order; slots only cross-check', () => {
  const input = [
    reached('p', node({role: 'primary', wal_head_lsn: 30n, acks: [{...relay('ra', 25n), source: 'slot-catalog'}, {...relay('rb', 99n), source: 'slot-catalog'}]})),
    reached('ra', node({acks: [relay('ra', 25n, 20n)]})),
    reached('rb', node({acks: [relay('rb', 22n)]})),
  ]
  const result = clusterCandidates(input, {adoptCatalogTimeline: false})
  assert.deepEqual(result.candidates.map((row) => [row.replica_id, row.node, row.applied_lsn, row.chosen]), [
    ['ra', 'ra', 20n, false],
    ['rb', 'rb', 22n, true],
  ])
  assert.equal(result.candidates[0].cross_check, 'p\'s slot says applied 25, flushed 25; the relay log says applied 20, flushed 25')
  assert.equal(result.candidates[1].cross_check, 'p\'s slot says applied 99, flushed 99; the relay log says applied 22, flushed 22')
  const withoutPrimary = clusterCandidates(input.slice(1), {adoptCatalogTimeline: false})
  assert.deepEqual([withoutPrimary.primary_reached, withoutPrimary.candidates.find((row) => row.chosen)?.replica_id], [false, 'rb'])
})

test('the inventory: host gives the ssh transport, a transport string is split into words, and only ssh gets its words quoted', async () => {
  const config = await parseConfig(
    [
      '[node.a]\ncluster = "main"\ndata-path = "/srv/a b/data.rdb"\nhost = "reddb@db1"',
      '[node.b]\ncluster = "main"\ndata-path = "/d/data.rdb"\ntransport = "kubectl exec -n db reddb-0 -c redrepl --"',
      '[node.c]\ncluster = "main"\ndata-path = "/d/data.rdb"',
      '[node.x]\ncluster = "other"\ndata-path = "/d/data.rdb"',
      '[node.plain]\ndata-path = "/d/data.rdb"',
    ].join('\n'),
    'redrepl.conf',
  )
  assert.throws(() => clusterNodes(config, undefined), /holds clusters main, other; name one/)
  const [a, b, c] = clusterNodes(config, 'main')
  assert.deepEqual(nodeArgv(a, ['node', 'run.js']), ['ssh', '-o', 'BatchMode=yes', 'reddb@db1', 'redrepl', 'cluster', 'node', '--data-path', "'/srv/a b/data.rdb'", '--json'])
  assert.deepEqual(nodeArgv(b, ['node', 'run.js']), ['kubectl', 'exec', '-n', 'db', 'reddb-0', '-c', 'redrepl', '--', 'redrepl', 'cluster', 'node', '--data-path', '/d/data.rdb', '--json'])
  assert.deepEqual(nodeArgv(c, ['node', 'run.js']), ['node', 'run.js', 'cluster', 'node', '--data-path', '/d/data.rdb', '--json'])
  assert.throws(() => clusterNodes(config, 'nope'), /no node of cluster "nope" \(clusters: main, other\)/)
  const missing = await parseConfig('[node.a]\ncluster = "main"\n', 'redrepl.conf')
  assert.throws(() => clusterNodes(missing, undefined), /\[node\.a\]: a cluster node needs data-path/)
})

test('a node left behind a fork gets RedDB\'s rejoin decision against the newest history and the WAL still served', () => {
  const history = [INITIAL, {timeline: 2n, parent_timeline: 1n, fork_lsn: 40n, reason: 'promote new'}]
  const decide = (oldestWal: bigint | null, oldHead: bigint) =>
    clusterStatus([reached('old', node({role: 'primary', wal_head_lsn: oldHead})), reached('new', node({role: 'unknown', timeline: 2n, history, wal_head_lsn: 50n, oldest_wal_lsn: oldestWal}))]).nodes[0]
  assert.deepEqual([decide(20n, 30n).rejoin, decide(35n, 30n).rejoin, decide(20n, 45n).rejoin, decide(null, 30n).rejoin], ['follow_new_timeline', 'reclone', 'rewind', 'follow_new_timeline'])
  assert.match(decide(null, 30n).problems[0], /it can follow timeline 2 from LSN 30 once new has written WAL/)
  assert.match(decide(35n, 30n).problems[0], /it must be recloned from a backup of timeline 2/)
})

test('split brain: a replica just promoted, with no slot catalog yet, while the old primary still writes on the older timeline', () => {
  const promoted = [INITIAL, {timeline: 2n, parent_timeline: 1n, fork_lsn: 40n, reason: 'promote r1'}]
  // The node is named in the inventory unlike its replica id: its own relay log tells who it is.
  const status = clusterStatus([
    reached('db1', node({role: 'primary', wal_head_lsn: 55n, oldest_wal_lsn: 10n})),
    reached('db2', node({timeline: 2n, history: promoted, acks: [relay('r1', 40n)]})),
    reached('db3', node({acks: [relay('r3', 30n)]})),
  ])
  assert.equal(status.status, 'CRITICAL')
  assert.deepEqual(status.split_brain, [
    'two nodes write on different timelines: db1 writes as the primary of timeline 1 (slot catalog, WAL head 55), while db2 was promoted to timeline 2 at LSN 40 (promote r1; no slot catalog yet); db1 has 15 LSNs past the fork at 40 that timeline 2 does not have',
  ])
  assert.deepEqual(status.nodes.map((row) => [row.name, row.state, row.rejoin]), [['db1', 'CRITICAL', 'rewind'], ['db2', 'CRITICAL', null], ['db3', 'WARNING', 'follow_new_timeline']])
  assert.equal(status.nodes[0].problems[0], "on timeline 1, behind the newest timeline 2: it must rewind to LSN 40 before following timeline 2 (by RedDB's rejoin rule against db2's history)")
  assert.equal(status.nodes[2].problems[0], "on timeline 1, behind the newest timeline 2: it can follow timeline 2 from LSN 30 once db2 has written WAL (by RedDB's rejoin rule against db2's history)")
  // Without the old primary's layout there is one writer: no split brain.
  const alone = clusterStatus([{name: 'db1', host: null, reached: false, reason: 'gone'}, reached('db2', node({timeline: 2n, history: promoted, acks: [relay('r1', 40n)]}))])
  assert.deepEqual(alone.split_brain, [])
  // A node recloned from the new primary carries the promotion under another replica id: not a writer.
  const recloned = clusterStatus([
    reached('db1', node({role: 'primary', wal_head_lsn: 55n})),
    reached('db3', node({timeline: 2n, history: promoted, acks: [relay('r3', 40n)]})),
  ])
  assert.deepEqual(recloned.split_brain, [])
  assert.deepEqual(recloned.nodes.map((row) => row.state), ['WARNING', 'OK'])
})

test('histories that fork apart: a node whose timeline the kept history records differently must be recloned', () => {
  const forkedAt = (lsn: bigint, who: string) => [INITIAL, {timeline: 2n, parent_timeline: 1n, fork_lsn: lsn, reason: `promote ${who}`}]
  const three = [...forkedAt(40n, 'a'), {timeline: 3n, parent_timeline: 2n, fork_lsn: 60n, reason: 'promote a2'}]
  // b forked timeline 2 at 30 and stayed there; a went on to timeline 3 from a timeline 2 forked at 40.
  const status = clusterStatus([
    reached('a', node({role: 'primary', timeline: 3n, history: three, wal_head_lsn: 70n, oldest_wal_lsn: 60n})),
    reached('b', node({timeline: 2n, history: forkedAt(30n, 'b'), acks: [relay('b', 35n)]})),
  ])
  assert.deepEqual(status.split_brain, [
    'two nodes write on different timelines: b was promoted to timeline 2 at LSN 30 (promote b; no slot catalog yet), while a writes as the primary of timeline 3 (slot catalog, WAL head 70)',
    'a and b record timeline 2 differently: a forks it from 1 at LSN 40 (promote a), b from 1 at LSN 30 (promote b)',
  ])
  const b = status.nodes[1]
  assert.equal(b.rejoin, 'reclone')
  assert.equal(b.problems[0], "on timeline 2, behind the newest timeline 3: if a is kept, it must be recloned from a backup of timeline 3: its timeline 2 (forked at LSN 30) is not a's (forked at LSN 40) (by RedDB's rejoin rule against a's history)")
  // The same rule without the history conflict would let b follow: its timeline 2 would be a's.
  const agreeing = clusterStatus([
    reached('a', node({role: 'primary', timeline: 3n, history: three, wal_head_lsn: 70n, oldest_wal_lsn: 30n})),
    reached('b', node({timeline: 2n, history: forkedAt(40n, 'a'), acks: [relay('b', 45n)]})),
  ])
  assert.deepEqual([agreeing.nodes[1].rejoin, agreeing.split_brain], ['follow_new_timeline', []])
})
