import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseConfig} from '../../src/core/config/config-file.js'
import {clusterNodes} from '../../src/core/config/inventory.js'
import {nodeArgv} from '../../src/core/ops/cluster-reach.js'
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
  assert.deepEqual(two.split_brain, ['nodes write on different timelines: old on timeline 1, new on timeline 2'])
  assert.match(two.nodes[0].problems[0], /^on timeline 1, behind the newest timeline 2/)
  const forked = clusterStatus([reached('a', node({timeline: 2n, history: forkedAt(40n, 'a')})), reached('b', node({timeline: 2n, history: forkedAt(41n, 'b')}))])
  assert.deepEqual(forked.split_brain, ['a and b record timeline 2 differently: a forks it from 1 at LSN 40 (promote a), b from 1 at LSN 41 (promote b)'])
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
