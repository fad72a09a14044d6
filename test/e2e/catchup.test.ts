import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()

test('catchup plan: WAL alone, a base backup, or a reclone, by RedDB\'s rule', async () => {
  const copy = {dir: await scratch.layout('primary-basic')}
  const data = path.join(copy.dir, 'data.rdb')
  const plan = async (...extra: string[]) => jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--json', ...extra]))
  assert.equal((await plan('--replica-lsn', '5242882')).mode, 'wal-only')
  const withBackup = await plan('--replica-lsn', '0', '--available-from-lsn', '1000')
  assert.equal(withBackup.mode, 'basebackup-then-wal')
  assert.equal((withBackup.selected_basebackup as any).checkpoint_lsn, 5242882n)
  assert.equal((await plan('--replica-lsn', '0', '--available-from-lsn', '6000000')).mode, 'reclone')
})
