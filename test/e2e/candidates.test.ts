import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()

test('timeline candidates: one row per replica with lag and sources; --auto\'s pick is the one promote makes', async () => {
  const data = path.join(await scratch.layout('primary-basic'), 'data.rdb')
  const report = jsonOf(await runCli(['timeline', 'candidates', '--data-path', data, '--json']))
  const rows = report.candidates as any[]
  assert.deepEqual(
    rows.map((row) => [row.replica_id, row.applied_lsn, row.lag_lsn, row.position_source, row.eligible, row.chosen]),
    [
      ['replica-a', 5242881n, 1n, 'slot-catalog', true, true],
      ['replica-b', 2097162n, 3145720n, 'slot-catalog', true, false],
      ['replica-c', 20n, 5242862n, 'slot-catalog', false, false],
    ],
  )
  assert.match(report.auto_choice as string, /^replica-a: the highest/)
  const promoted = jsonOf(await runCli(['timeline', 'promote', '--data-path', data, '--auto', '--dry-run', '--json']))
  assert.equal(promoted.replica_id, 'replica-a')
  const human = await runCli(['timeline', 'candidates', '--data-path', data, '--output', 'wide'])
  assert.match(human.stdout, /--auto picks replica-a/)
  assert.match(human.stdout, /no: its slot is invalidated \(wal-removed/)
})

test('timeline candidates after a RedDB 1.12 failover: none eligible until the timeline-1 acks are adopted', async () => {
  const data = path.join(await scratch.layout('after-failover'), 'data.rdb')
  const plain = jsonOf(await runCli(['timeline', 'candidates', '--data-path', data, '--json']))
  assert.equal(plain.auto_choice, null)
  assert.ok((plain.candidates as any[]).every((row) => row.ineligible === 'other-timeline'))
  const adopted = jsonOf(await runCli(['timeline', 'candidates', '--data-path', data, '--adopt-catalog-timeline', '--json']))
  assert.match(adopted.auto_choice as string, /^replica-b:/)
  const typo = await runCli(['timeline', 'candidates', '--data-path', path.join(path.dirname(data), 'dta.rdb')])
  assert.equal(typo.exitCode, 6)
})
