import assert from 'node:assert/strict'
import {rename} from 'node:fs/promises'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {cliBinary, runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf, jsonOf} from '../support/node.js'
import {sshdMissing, startSshd, type Sshd} from '../support/sshd.js'

const scratch = useScratch()
const missing = await sshdMissing()
let sshd: Sshd | undefined

before(async () => {
  if (missing === null) sshd = await startSshd(await scratch.dir('redrepl-sshd-'))
})
// Stopped whatever the tests did.
after(async () => {
  await sshd?.stop()
})

/** redrepl on "the remote": this checkout, run by the same node. */
const remoteRedrepl = [process.execPath, cliBinary]

/** Three nodes, each reached through the test's sshd (p through `pTransport` when given), named in a config file. */
async function sshCluster(pTransport?: string[]) {
  const dir = await scratch.dir('redrepl-ssh-cluster-')
  const written = await writeThreeNodes(dir)
  // A data path the remote shell would split or unquote if its words were not quoted.
  const odd = path.join(dir, "r a'c $HOME")
  await rename(path.dirname(written.rc), odd)
  const nodes = {...written, rc: path.join(odd, 'data.rdb')}
  const transport = sshd!.transport
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p, transport: pTransport ?? transport, redrepl: remoteRedrepl},
    {name: 'ra', dataPath: nodes.ra, transport, redrepl: remoteRedrepl},
    {name: 'rc', dataPath: nodes.rc, transport, redrepl: remoteRedrepl},
  ])
  return {dir, nodes, config}
}

test('cluster status and candidates through a real OpenSSH server', {skip: missing ?? false}, async () => {
  const {config} = await sshCluster()
  const result = await runCli(['cluster', 'status', '--config', config, '--json'])
  assert.equal(result.exitCode, 0, result.stdout + result.stderr)
  const report = documentOf(result.stdout)
  assert.deepEqual(
    (report.nodes as any[]).map((row) => [row.name, row.reached, row.role, row.position_lsn, row.lag_lsn]),
    [
      ['p', true, 'primary', 9_437_187n, 0n],
      ['ra', true, 'replica', 9_437_187n, 0n],
      ['rc', true, 'replica', 7_340_034n, 2_097_153n],
    ],
  )
  const candidates = jsonOf(await runCli(['cluster', 'candidates', '--config', config, '--json']))
  assert.deepEqual((candidates.candidates as any[]).map((row) => [row.replica_id, row.chosen, row.cross_check]), [
    ['ra', true, "agrees with p's slot"],
    ['rc', false, "agrees with p's slot"],
  ])
})

test('through ssh, the primary\'s host refusing connections leaves the replicas\' answer intact', {skip: missing ?? false}, async () => {
  const transport = sshd!.transport
  const {config} = await sshCluster(transport.map((word, i) => (transport[i - 1] === '-p' ? '1' : word)))
  const candidates = jsonOf(await runCli(['cluster', 'candidates', '--config', config, '--json']))
  assert.equal(candidates.primary_reached, false)
  const [gone] = candidates.unreachable as any[]
  assert.equal(gone.name, 'p')
  assert.match(gone.reason, /^ssh exited 255: .*(refused|port 1)/)
  assert.match(candidates.auto_choice as string, /^ra: /)
  const status = await runCli(['cluster', 'status', '--config', config])
  assert.equal(status.exitCode, 1, status.stdout)
})

test('failover plan and apply through a real OpenSSH server: the promotion runs on the candidate\'s host, the others are checked there', {skip: missing ?? false}, async () => {
  const {dir, config} = await sshCluster()
  const plan = path.join(dir, 'failover.plan')
  const planned = jsonOf(await runCli(['failover', 'plan', '--config', config, '--out', plan, '--json']))
  assert.deepEqual([planned.candidate, planned.fork_lsn, (planned.steps as any[]).map((step) => step.decision)], ['ra', 9_437_187n, ['rewind', 'follow_new_timeline']])
  const applied = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(applied.exitCode, 0, applied.stderr)
  assert.deepEqual((jsonOf(applied).steps as any[]).map((step) => [step.node, step.status]), [['ra', 'done'], ['p', 'done'], ['rc', 'done']])
  // Exit 1: p and rc are behind the fork until they rejoin.
  const seen = await runCli(['cluster', 'status', '--config', config, '--json'])
  assert.equal(seen.exitCode, 1, seen.stdout)
  const status = documentOf(seen.stdout)
  assert.deepEqual((status.nodes as any[]).map((row) => [row.name, row.timeline, row.rejoin]), [['p', 1n, 'rewind'], ['ra', 2n, null], ['rc', 1n, 'follow_new_timeline']])
})
