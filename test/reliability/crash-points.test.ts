import assert from 'node:assert/strict'
import path from 'node:path'
import {test} from 'node:test'

import {verifyLayout} from '../../src/core/ops/layout-verify.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {treeOf} from '../support/tree.js'

/**
 * Every writing command, killed (SIGKILL) at each of its named crash
 * points: what is left must verify, and running the command again must end
 * exactly where an uninterrupted run ends.
 */

const scratch = useScratch()

interface Scenario {
  name: string
  args: string[]
  input?: string
  points: string[]
  /** Exit codes a re-run may end with after a crash at each point (the first run may have finished the job). */
  rerunCodes?: (point: string) => number[]
}

const atomic = (label: string) => [`${label}:after-temp-write`, `${label}:after-temp-fsync`, `${label}:after-rename`]

const SCENARIOS: Scenario[] = [
  {
    name: 'timeline promote',
    args: ['timeline', 'promote', '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--expect-timeline', '1'],
    points: atomic('timeline-history'),
    rerunCodes: (point) => (point.endsWith('after-rename') ? [4] : [0]),
  },
  {
    name: 'relay append',
    args: ['relay', 'append', '--replica', 'r9', '--create', '--applied-lsn', '2'],
    input: '{"lsn":1,"payload_hex":"01"}\n{"lsn":2,"payload_hex":"02"}\n{"lsn":3,"payload_hex":"03"}\n',
    points: [...atomic('relay-segment'), ...atomic('relay-manifest')],
  },
  {
    name: 'basebackup create',
    args: ['basebackup', 'create', '--from', 'DATA', '--checkpoint-lsn', '777', '--chunk-size', '4096'],
    points: ['basebackup-create:after-chunk', 'basebackup-create:after-parts-rename', ...atomic('basebackup-manifest')],
  },
  {
    name: 'basebackup materialize --rebootstrap',
    args: ['basebackup', 'materialize', '--rebootstrap'],
    points: ['basebackup-chunks:after-chunk', ...atomic('basebackup-materialize'), ...atomic('rebootstrap-marker')],
  },
  {
    name: 'slots drop',
    args: ['slots', 'drop', 'replica-b', '--yes'],
    points: atomic('slot-catalog'),
    // After the rename the slot is gone: the re-run says so and exits 0.
  },
  {
    name: 'slots invalidate',
    args: ['slots', 'invalidate', 'replica-a', '--reason', 'idle-timeout'],
    points: atomic('slot-catalog'),
  },
  {
    name: 'wal prune',
    args: ['wal', 'prune', '--segment-bytes', '1MiB', '--min-segments', '1'],
    points: ['wal-prune:after-unlink'],
  },
]

async function freshNode() {
  const copy = {dir: await scratch.layout('primary-basic')}
  const data = path.join(copy.dir, 'data.rdb')
  return {dir: copy.dir, data}
}

const argsFor = (scenario: Scenario, data: string) => [...scenario.args.map((arg) => (arg === 'DATA' ? data : arg)), '--data-path', data]

for (const scenario of SCENARIOS) {
  test(`${scenario.name}: a crash at any step leaves a valid layout and a re-run finishes the job`, async () => {
    const reference = await freshNode()
    const clean = await runCli(argsFor(scenario, reference.data), {input: scenario.input})
    assert.equal(clean.exitCode, 0, clean.stderr)
    const expected = treeOf(reference.dir)

    for (const point of scenario.points) {
      const node = await freshNode()
      const crashed = await runCli(argsFor(scenario, node.data), {input: scenario.input, env: {REDREPL_CRASH_AT: point}})
      assert.equal(crashed.exitCode, -1, `${point}: the process should have been killed there (exit ${crashed.exitCode}, ${crashed.stderr})`)
      const report = await verifyLayout(node.data, NOW_MS)
      const errors = report.findings.filter((f) => f.severity === 'error')
      assert.deepEqual(errors, [], `${point}: the layout left behind does not verify`)
      const rerun = await runCli(argsFor(scenario, node.data), {input: scenario.input})
      assert.ok((scenario.rerunCodes?.(point) ?? [0]).includes(rerun.exitCode), `${point}: re-run exited ${rerun.exitCode}: ${rerun.stderr}`)
      assert.deepEqual(treeOf(node.dir), expected, `${point}: the re-run did not end where an uninterrupted run ends`)
    }
  })
}
