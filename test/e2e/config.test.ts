import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()

async function nodeWithConfig(body: (data: string) => string) {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const config = path.join(dir, 'redrepl.conf')
  writeFileSync(config, body(data))
  return {dir, data, config}
}

const CONFIG = (data: string) => `# a fleet of one
[defaults]
min-segments = 1
keep-until-replicas-ack = false

[node.primary]
data-path = "${data}"
segment-bytes = "1MiB"
fork-lsn = [1048576]
`

test('a node section and [defaults] supply flags; the command line and the environment override them', async () => {
  const {data, config} = await nodeWithConfig(CONFIG)
  const plan = jsonOf(await runCli(['wal', 'plan', '--node', 'primary', '--json'], {env: {REDREPL_CONFIG: config}}))
  assert.deepEqual([plan.segment_bytes, (plan.policy as any).min_segments, (plan.policy as any).keep_until_replicas_ack, plan.fork_lsns], [1048576n, 1n, false, [1048576n]])
  const flagged = jsonOf(await runCli(['wal', 'plan', '--config', config, '--node', 'primary', '--min-segments', '4', '--keep-until-replicas-ack', '--json']))
  assert.deepEqual([(flagged.policy as any).min_segments, (flagged.policy as any).keep_until_replicas_ack], [4n, true])
  const elsewhere = await runCli(['wal', 'plan', '--config', config, '--node', 'primary', '--json'], {env: {REDDB_DATA_PATH: path.join(path.dirname(data), 'other.rdb')}})
  assert.equal(elsewhere.exitCode, 6, 'REDDB_DATA_PATH wins over the node section')
  const defaultsOnly = await runCli(['wal', 'plan', '--config', config, '--json'])
  assert.equal(defaultsOnly.exitCode, 2, 'without --node there is no data path')
})

test('config show says where every setting comes from', async () => {
  const {data, config} = await nodeWithConfig(CONFIG)
  const shown = jsonOf(await runCli(['config', 'show', '--config', config, '--node', 'primary', '--json'], {env: {REDDB_DATA_PATH: data}}))
  assert.equal(shown.config_found, true)
  assert.deepEqual(shown.nodes, ['primary'])
  const sources = Object.fromEntries((shown.settings as any[]).map((s) => [s.key, s.source]))
  assert.equal(sources['data-path'], 'environment REDDB_DATA_PATH')
  assert.equal(sources['min-segments'], `${config} [defaults]`)
  assert.equal(sources['segment-bytes'], `${config} [node.primary]`)
  const missing = jsonOf(await runCli(['config', 'show', '--json'], {env: {REDREPL_CONFIG: undefined}}))
  assert.equal(typeof missing.config_found, 'boolean')
})

test('a bad config file is a usage error naming the file and the key', async () => {
  const cases: Array<[string, RegExp]> = [
    ['[defaults]\nmin-segmets = 3\n', /\[defaults\] min-segmets: no command takes this setting; did you mean min-segments\?/],
    ['[defaults]\nmin-segments = "three"\n', /\[defaults\] min-segments: --min-segments must be an unsigned integer/],
    ['[defaults]\nkeep-until-replicas-ack = "yes"\n', /keep-until-replicas-ack: must be true or false/],
    ['[defaults]\njson = true\n', /json: no command takes this setting/],
    ['[defaults\n', /not valid TOML: line 1/],
    ['[server]\nport = 1\n', /"server" is neither \[defaults\], \[node.NAME\] nor \[repo.NAME\]/],
  ]
  for (const [text, expected] of cases) {
    const {config} = await nodeWithConfig(() => text)
    const result = await runCli(['wal', 'plan', '--config', config, '--data-path', '/nowhere/data.rdb'])
    assert.equal(result.exitCode, 2, text)
    assert.match(result.stderr, expected)
    assert.ok(result.stderr.includes(config), 'the message names the file')
  }
  const {config} = await nodeWithConfig(CONFIG)
  const noNode = await runCli(['wal', 'plan', '--config', config, '--node', 'replica'])
  assert.equal(noNode.exitCode, 2)
  assert.match(noNode.stderr, /no \[node.replica\] section \(nodes: primary\)/)
})

test('a named config file that is missing, a FIFO or oversized is refused at once', async () => {
  const dir = await scratch.dir()
  const fifo = path.join(dir, 'fifo.conf')
  execFileSync('mkfifo', [fifo])
  const big = path.join(dir, 'big.conf')
  execFileSync('truncate', ['-s', '2M', big])
  for (const [file, expected] of [
    [path.join(dir, 'absent.conf'), /no such config file/],
    [fifo, /not a regular file/],
    [big, /more than 1048576/],
  ] as const) {
    const result = await runCli(['slots', 'show', '--config', file], {timeoutMs: 10_000})
    assert.equal(result.exitCode, 2, file)
    assert.match(result.stderr, expected)
  }
})
