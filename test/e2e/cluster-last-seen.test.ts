import assert from 'node:assert/strict'
import {lstat, mkdir, readFile, readdir, symlink, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf} from '../support/node.js'

const scratch = useScratch()

const T1 = 1_700_000_000_000n
const T2 = 1_700_000_600_000n

async function cluster() {
  const dir = await scratch.dir('redrepl-last-seen-')
  const nodes = await writeThreeNodes(dir)
  const up = await writeInventory(path.join(dir, 'up.conf'), [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ])
  // The same cluster with the primary's host gone, and a node that never answered.
  const down = await writeInventory(path.join(dir, 'down.conf'), [
    {name: 'p', dataPath: nodes.p, transport: ['false']},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
    {name: 'new', dataPath: nodes.rc, transport: ['false']},
  ])
  return {dir, nodes, up, down, stateFile: path.join(dir, 'state', 'cluster-main.json')}
}

const status = (config: string, at: bigint, extra: string[] = [], env: Record<string, string | undefined> = {}) =>
  runCli(['cluster', 'status', '--config', config, ...extra], {env: {REDREPL_NOW_MS: String(at), ...env}})

const lastSeenOf = (stdout: string) => (documentOf(stdout).nodes as any[]).map((row) => [row.name, row.reached, row.last_seen_unix_ms])

test('last seen: this run for nodes that answer, the previous run\'s time for one that stopped, never for one that never answered', async () => {
  const {up, down, stateFile} = await cluster()
  const first = await status(up, T1, ['--json'])
  assert.equal(first.exitCode, 0, first.stdout + first.stderr)
  assert.deepEqual(lastSeenOf(first.stdout), [['p', true, T1], ['ra', true, T1], ['rc', true, T1]])
  assert.equal(documentOf(first.stdout).state_file_path, stateFile)
  assert.equal(documentOf(first.stdout).checked_at_unix_ms, T1)

  const second = await status(down, T2, ['--json'])
  assert.equal(second.exitCode, 1, second.stdout)
  assert.deepEqual(lastSeenOf(second.stdout), [['p', false, T1], ['ra', true, T2], ['rc', true, T2], ['new', false, null]])

  // A third run still knows when p was last seen: the second run kept it though p did not answer.
  const human = await status(down, T2 + 60_000n, [], {COLUMNS: '200'})
  assert.match(human.stdout, /last seen/)
  const row = (name: string) => human.stdout.split('\n').find((line) => line.includes(` ${name} `))!
  assert.match(row('p'), /2023-11-14T22:13:20\.000Z \(11m ago\)/)
  assert.match(row('new'), /never/)
  assert.match(row('ra'), /2023-11-14T22:24:20\.000Z/)
  const tsv = await status(down, T2 + 120_000n, ['--output', 'tsv'])
  const [head, ...lines] = tsv.stdout.trim().split('\n').map((line) => line.split('\t'))
  const at = head.indexOf('last_seen_unix_ms')
  assert.deepEqual(lines.map((line) => line[at]), [String(T1), String(T2 + 120_000n), String(T2 + 120_000n), ''])
  // Only the state file is in the state dir: no temp left behind.
  assert.deepEqual(await readdir(path.dirname(stateFile)), ['cluster-main.json'])
})

test('last seen: a clock set back never moves a node\'s last-seen time back', async () => {
  const {up, down} = await cluster()
  assert.equal((await status(up, T2)).exitCode, 0)
  assert.equal((await status(up, T1)).exitCode, 0)
  assert.deepEqual(lastSeenOf((await status(down, T1, ['--json'])).stdout)[0], ['p', false, T2])
})

test('last seen: the state file is found by --state-dir, the config key, $XDG_STATE_HOME, then ~/.local/state', async () => {
  const {dir, up} = await cluster()
  const flagged = path.join(dir, 'flagged')
  assert.equal(documentOf((await status(up, T1, ['--json', '--state-dir', flagged])).stdout).state_file_path, path.join(flagged, 'cluster-main.json'))
  await lstat(path.join(flagged, 'cluster-main.json'))
  // Without the config key (a config of its own, written by hand), the environment decides.
  const bare = path.join(dir, 'bare.conf')
  await writeFile(bare, (await readFile(up, 'utf8')).replace(/^\[defaults\]\nstate-dir = .*\n/, ''), {mode: 0o600})
  const xdg = path.join(dir, 'xdg')
  const home = path.join(dir, 'home')
  const viaXdg = await status(bare, T1, ['--json'], {XDG_STATE_HOME: xdg, HOME: home})
  assert.equal(documentOf(viaXdg.stdout).state_file_path, path.join(xdg, 'redrepl', 'cluster-main.json'))
  await lstat(path.join(xdg, 'redrepl', 'cluster-main.json'))
  // A relative XDG_STATE_HOME is ignored, as the XDG base directory rules say.
  const viaHome = await status(bare, T1, ['--json'], {XDG_STATE_HOME: 'relative', HOME: home})
  assert.equal(documentOf(viaHome.stdout).state_file_path, path.join(home, '.local', 'state', 'redrepl', 'cluster-main.json'))
  await lstat(path.join(home, '.local', 'state', 'redrepl', 'cluster-main.json'))
})

test('last seen: a state file that is a link, is not the cluster\'s or is too large is refused (UNKNOWN) and left as it is', async () => {
  const {dir, up, stateFile} = await cluster()
  await mkdir(path.dirname(stateFile), {recursive: true})
  const target = path.join(dir, 'someone-elses.json')
  await writeFile(target, 'precious\n')
  await symlink(target, stateFile)
  const linked = await status(up, T1)
  assert.equal(linked.exitCode, 3, linked.stdout)
  assert.equal(linked.stdout, `REDREPL UNKNOWN - ${stateFile}: is a symbolic link, not a regular file\n`)
  assert.equal(await readFile(target, 'utf8'), 'precious\n')
  assert.ok((await lstat(stateFile)).isSymbolicLink())

  const cases: Array<[string, string, RegExp]> = [
    ['not json', 'precious\n', /: not a cluster state file: not JSON/],
    ['another cluster', '{"schema":"redrepl.cluster-seen/1","cluster":"other","nodes":{}}\n', /: not a cluster state file: it is the state of cluster "other", not "main"/],
    ['a negative time', '{"schema":"redrepl.cluster-seen/1","cluster":"main","nodes":{"p":{"last_seen_unix_ms":-1}}}\n', /nodes\.p\.last_seen_unix_ms is not an unsigned integer/],
    ['too large', `{"schema":"redrepl.cluster-seen/1","cluster":"main","nodes":{},"pad":"${'x'.repeat(1 << 20)}"}\n`, /more than any cluster state file can be/],
  ]
  for (const [what, content, message] of cases) {
    const other = await scratch.dir('redrepl-last-seen-bad-')
    const file = path.join(other, 'cluster-main.json')
    await writeFile(file, content)
    const result = await status(up, T1, ['--json', '--state-dir', other])
    assert.equal(result.exitCode, 3, `${what}: ${result.stdout}`)
    assert.match(documentOf(result.stdout).message as string, message, what)
    assert.equal(await readFile(file, 'utf8'), content, what)
  }
})

test('last seen: killed at each step of replacing the state file, the old file is whole and the next run goes on', async () => {
  const {up, down, stateFile} = await cluster()
  assert.equal((await status(up, T1)).exitCode, 0)
  const before = await readFile(stateFile, 'utf8')
  for (const point of ['cluster-seen:after-temp-write', 'cluster-seen:after-temp-fsync', 'cluster-seen:after-rename']) {
    const killed = await status(up, T2, [], {REDREPL_CRASH_AT: point})
    assert.equal(killed.exitCode, -1, `${point}: ${killed.stdout}`)
    // Before the rename the old file is untouched; after it the new one is whole.
    const now = await readFile(stateFile, 'utf8')
    if (point.endsWith('after-rename')) assert.match(now, new RegExp(`"last_seen_unix_ms": ${T2}`), point)
    else assert.equal(now, before, point)
  }
  const next = await status(down, T2 + 1n, ['--json'])
  assert.deepEqual(lastSeenOf(next.stdout)[0], ['p', false, T2])
  // The killed runs' temps are gone once a later run replaced the file.
  assert.deepEqual(await readdir(path.dirname(stateFile)), ['cluster-main.json'])
})
