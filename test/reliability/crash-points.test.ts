import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {verifyLayout} from '../../src/core/ops/layout/verify.js'
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
  /** The fixture layout it runs on, and its data file (default primary-basic's data.rdb). */
  fixture?: {name: string; data: string}
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
    name: 'slots drop (legacy JSON slot store)',
    args: ['slots', 'drop', 'old-replica', '--yes'],
    fixture: {name: 'legacy-slots', data: 'node.rdb'},
    points: atomic('legacy-slot-store'),
  },
  {
    name: 'wal prune',
    args: ['wal', 'prune', '--segment-bytes', '1MiB', '--min-segments', '1'],
    points: ['wal-prune:after-unlink', ...atomic('prune-record')],
  },
]

async function freshNode(fixture = {name: 'primary-basic', data: 'data.rdb'}) {
  const dir = await scratch.layout(fixture.name)
  return {dir, data: path.join(dir, fixture.data)}
}

const argsFor = (scenario: Scenario, data: string) => [...scenario.args.map((arg) => (arg === 'DATA' ? data : arg)), '--data-path', data]

for (const scenario of SCENARIOS) {
  test(`${scenario.name}: a crash at any step leaves a valid layout and a re-run finishes the job`, async () => {
    const reference = await freshNode(scenario.fixture)
    const clean = await runCli(argsFor(scenario, reference.data), {input: scenario.input})
    assert.equal(clean.exitCode, 0, clean.stderr)
    const expected = treeOf(reference.dir)

    for (const point of scenario.points) {
      const node = await freshNode(scenario.fixture)
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

test('repo fetch-wal: a crash at any step leaves a valid layout and a re-run finishes the job', async () => {
  const source = await freshNode()
  const repo = await scratch.dir('redrepl-crash-repo-')
  const at = ['--repo', repo, '--node', 'db1']
  const pushed = await runCli(['repo', 'push', '--data-path', source.data, ...at, '--include-current'])
  assert.equal(pushed.exitCode, 0, pushed.stderr)
  // A node restored from the repository has its database only: fetch-wal writes the history, then the WAL.
  const restored = async () => {
    const dir = await scratch.dir('redrepl-crash-fetch-')
    const data = path.join(dir, 'data.rdb')
    const restore = await runCli(['repo', 'restore', ...at, '--to', data, '--rdb-version', '1'])
    assert.equal(restore.exitCode, 0, restore.stderr)
    return {dir, data}
  }
  const fetch = (data: string, env: Record<string, string> = {}) => runCli(['repo', 'fetch-wal', ...at, '--data-path', data, '--from-lsn', '5242882', '--segment-bytes', '1MiB'], {env})
  const reference = await restored()
  assert.equal((await fetch(reference.data)).exitCode, 0)
  const expected = treeOf(reference.dir)
  assert.ok(Object.keys(expected).some((file) => file.endsWith('.redwal')), 'the clean run fetched WAL')

  for (const point of [...atomic('repo-fetch-history'), ...atomic('repo-fetch-wal')]) {
    const node = await restored()
    const crashed = await fetch(node.data, {REDREPL_CRASH_AT: point})
    assert.equal(crashed.exitCode, -1, `${point}: the process should have been killed there (exit ${crashed.exitCode}, ${crashed.stderr})`)
    const report = await verifyLayout(node.data, NOW_MS)
    assert.deepEqual(report.findings.filter((f) => f.severity === 'error'), [], `${point}: the layout left behind does not verify`)
    const rerun = await fetch(node.data)
    assert.equal(rerun.exitCode, 0, `${point}: re-run exited ${rerun.exitCode}: ${rerun.stderr}`)
    assert.deepEqual(treeOf(node.dir), expected, `${point}: the re-run did not end where an uninterrupted run ends`)
  }
})

/**
 * Points exercised by a crash test outside the table above, each where its
 * writer's own tests live; the file named must set REDREPL_CRASH_AT to it.
 */
const TESTED_ELSEWHERE: Readonly<Record<string, string>> = {
  'basebackup-delete:after-manifest': 'e2e/basebackup-lifecycle.test.ts',
  'rebootstrap-marker:after-remove': 'reliability/write-safety.test.ts',
  'repo-push:before-manifest': 'e2e/repo.test.ts',
  'repo-push:before-index': 'e2e/repo.test.ts',
  ...Object.fromEntries(atomic('repo-local-put').map((point) => [point, 'e2e/repo.test.ts'])),
  ...Object.fromEntries(atomic('metrics-textfile').map((point) => [point, 'e2e/metrics.test.ts'])),
  ...Object.fromEntries(atomic('plan-file').map((point) => [point, 'e2e/wal-plan-file.test.ts'])),
  ...Object.fromEntries(atomic('cluster-seen').map((point) => [point, 'e2e/cluster-last-seen.test.ts'])),
  ...Object.fromEntries(atomic('failover-plan').map((point) => [point, 'e2e/failover.test.ts'])),
  ...Object.fromEntries(atomic('failover-journal').map((point) => [point, 'e2e/failover.test.ts'])),
}

const TEST_DIR = fileURLToPath(new URL('../../../test/', import.meta.url))
const SRC_DIR = fileURLToPath(new URL('../../../src/', import.meta.url))

function sources(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((entry) => {
    const file = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(file) : entry.name.endsWith('.ts') ? [file] : []
  })
}

/** Every crash point src/ names: `crashPoint('x')` literals, and the three points of each atomic write's `label`. */
function crashPointsInSource(texts: readonly string[]): string[] {
  const points = new Set<string>()
  for (const text of texts) {
    for (const match of text.matchAll(/crashPoint\('([^']+)'\)/g)) points.add(match[1])
    // `label: 'x'` or `label: cond ? 'x' : 'y'`, as the atomic writers take it.
    for (const match of text.matchAll(/\blabel: ([^,}\n]+)/g)) {
      // Of a conditional, only the branches name labels (`store === 'catalog'` does not).
      const value = match[1].includes('?') ? match[1].slice(match[1].indexOf('?')) : match[1]
      for (const quoted of value.matchAll(/'([a-z0-9-]+)'/g)) for (const point of atomic(quoted[1])) points.add(point)
    }
  }
  return [...points].sort()
}

test('every crash point named in src/ is exercised: by a row above, or by the test named for it', () => {
  const points = crashPointsInSource(sources(SRC_DIR).map((file) => readFileSync(file, 'utf8')))
  assert.ok(points.length > 30, `${points.length} points found`)
  const inTable = new Set([...SCENARIOS.flatMap((scenario) => scenario.points), ...atomic('repo-fetch-history'), ...atomic('repo-fetch-wal')])
  const untested = points.filter((point) => !inTable.has(point) && TESTED_ELSEWHERE[point] === undefined)
  assert.deepEqual(untested, [], 'crash points no test kills a writer at')
  for (const [point, file] of Object.entries(TESTED_ELSEWHERE)) {
    assert.ok(points.includes(point), `${point}: no longer in src/; remove it from the table`)
    const text = readFileSync(path.join(TEST_DIR, file), 'utf8')
    const [label, step] = point.split(':')
    assert.ok(text.includes('REDREPL_CRASH_AT') && (text.includes(`'${point}'`) || (text.includes(`${label}:\${`) && text.includes(step))), `${file} does not crash a writer at ${point}`)
  }
  for (const point of inTable) assert.ok(points.includes(point), `${point}: in the table but named nowhere in src/`)
})

test('the crash point reader finds literal points, atomic labels and both labels of a conditional', () => {
  const found = crashPointsInSource([
    "crashPoint('x-writer:after-step')\nawait writeFileAtomic(f, b, {label: 'one', clearLeftovers: true})",
    "await writeFileAtomic(f, b, {label: store === 'a' ? 'two' : 'three'})",
  ])
  assert.deepEqual(found, [...atomic('one'), ...atomic('three'), ...atomic('two'), 'x-writer:after-step'].sort())
})
