import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf} from '../support/node.js'

const scratch = useScratch()

async function cluster(): Promise<{dir: string; nodes: {p: string; ra: string; rc: string}}> {
  const dir = await scratch.dir('redrepl-cluster-')
  return {dir, nodes: await writeThreeNodes(dir)}
}

test('cluster status: one view of three nodes on the local transport, lag against the best known position', async () => {
  const {dir, nodes} = await cluster()
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  const result = await runCli(['cluster', 'status', '--config', config, '--json'])
  const report = documentOf(result.stdout)
  assert.equal(result.exitCode, 0, result.stdout + result.stderr)
  assert.deepEqual(
    (report.nodes as any[]).map((row) => [row.name, row.role, row.timeline, row.position_lsn, row.lag_lsn, row.state]),
    [
      ['p', 'primary', 1n, 9_437_187n, 0n, 'OK'],
      ['ra', 'replica', 1n, 9_437_187n, 0n, 'OK'],
      ['rc', 'replica', 1n, 7_340_034n, 2_097_153n, 'OK'],
    ],
  )
  assert.deepEqual([report.status, report.best_known_lsn, report.split_brain], ['OK', 9_437_187n, []])
  const warned = await runCli(['cluster', 'status', '--config', config, '--warning-lag-lsn', '2097152'])
  assert.equal(warned.exitCode, 1, warned.stdout)
  assert.match(warned.stdout, /^REDREPL WARNING - cluster main/)
  assert.match(warned.stdout, /WARNING rc: lags 2097153 LSNs behind p, more than 2097152/)
})
