import assert from 'node:assert/strict'
import {chmod, mkdir, readFile, rename, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {cliBinary, runCli, useScratch} from '../support/cli.js'
import {writeInventory, writeThreeNodes} from '../support/cluster.js'
import {documentOf} from '../support/node.js'

/**
 * The `kubectl exec … --` transport form, with a stand-in `kubectl` first on
 * the PATH: it records the argv it was given, NUL-separated, then execs
 * everything after `--` on this machine, as kubectl would in the container.
 * What it records is exactly what redrepl passed; a shell anywhere on the way
 * would split the values with spaces, strip the quotes or run the `$(…)`.
 */

const scratch = useScratch()

const self = [process.execPath, cliBinary]

async function fakeKubectl(dir: string): Promise<{bin: string; argvOf: (call: number) => Promise<string[]>}> {
  const bin = path.join(dir, 'bin')
  await mkdir(bin)
  const script = [
    '#!/bin/sh',
    `n=$(ls ${JSON.stringify(dir)} | grep -c '^argv-')`,
    `printf '%s\\0' "$@" > ${JSON.stringify(dir)}/argv-$n`,
    'while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done',
    'shift',
    'exec "$@"',
    '',
  ].join('\n')
  await writeFile(path.join(bin, 'kubectl'), script)
  await chmod(path.join(bin, 'kubectl'), 0o755)
  const argvOf = async (call: number) => (await readFile(path.join(dir, `argv-${call}`), 'utf8')).split('\0').slice(0, -1)
  return {bin, argvOf}
}

test('a kubectl exec transport reaches the node with its words and the data path passed as argv, exactly', async () => {
  const dir = await scratch.dir('redrepl-kubectl-')
  const nodes = await writeThreeNodes(dir)
  // Any shell on the way would split this data path, strip its quotes, or make the canary (in its working directory, dir).
  const canary = path.join(dir, 'canary')
  const odd = path.join(dir, `r a'c "q" $(touch canary) \`touch canary\`; x`)
  await rename(path.dirname(nodes.rc), odd)
  const rcData = path.join(odd, 'data.rdb')
  const fake = await fakeKubectl(dir)
  const namespace = `db "prod" $(touch canary)`
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    // The string form, split at white space, as the README and the Kubernetes example write it.
    {name: 'p', dataPath: nodes.p, transport: ['kubectl exec -n db reddb-0 -c redrepl --'], redrepl: self},
    // The array form, for words with spaces and quotes.
    {name: 'rc', dataPath: rcData, transport: ['kubectl', 'exec', '-n', namespace, 'reddb-2', '-c', 'redrepl', '--'], redrepl: self},
  ])
  // The string form goes in as `transport = "…"`, not a one-word list.
  await writeFile(config, (await readFile(config, 'utf8')).replace('transport = ["kubectl exec -n db reddb-0 -c redrepl --"]', 'transport = "kubectl exec -n db reddb-0 -c redrepl --"'), {mode: 0o600})
  const result = await runCli(['cluster', 'status', '--config', config, '--json', '--concurrency', '1'], {cwd: dir, env: {PATH: `${fake.bin}:${process.env.PATH}`}})
  assert.equal(result.exitCode, 0, result.stdout + result.stderr)
  const rows = documentOf(result.stdout).nodes as any[]
  assert.deepEqual(rows.map((row) => [row.name, row.reached, row.position_lsn]), [['p', true, 9_437_187n], ['rc', true, 7_340_034n]])
  assert.equal(rows[1].unreachable_reason, null)
  assert.deepEqual(await fake.argvOf(0), ['exec', '-n', 'db', 'reddb-0', '-c', 'redrepl', '--', ...self, 'cluster', 'node', '--data-path', nodes.p, '--json'])
  assert.deepEqual(await fake.argvOf(1), ['exec', '-n', namespace, 'reddb-2', '-c', 'redrepl', '--', ...self, 'cluster', 'node', '--data-path', rcData, '--json'])
  assert.equal(existsSync(canary), false, 'nothing went through a shell')
})

test('a kubectl that fails or answers with something else is one line for that node', async () => {
  const dir = await scratch.dir('redrepl-kubectl-')
  const nodes = await writeThreeNodes(dir)
  const fake = await fakeKubectl(dir)
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), [
    {name: 'p', dataPath: nodes.p, transport: ['kubectl', 'exec', '-n', 'db', 'reddb-0', '-c', 'redrepl', '--'], redrepl: ['sh', '-c', 'echo "error: pod reddb-0 not found" >&2; exit 1']},
    {name: 'ra', dataPath: nodes.ra, transport: ['kubectl', 'exec', '-n', 'db', 'reddb-1', '-c', 'redrepl', '--'], redrepl: ['echo', 'Defaulted container "reddb" out of: reddb, redrepl']},
    {name: 'rc', dataPath: nodes.rc, transport: ['kubectl', 'exec', '-n', 'db', 'reddb-2', '-c', 'redrepl', '--'], redrepl: self},
  ])
  const result = await runCli(['cluster', 'status', '--config', config, '--json'], {env: {PATH: `${fake.bin}:${process.env.PATH}`}})
  assert.equal(result.exitCode, 1, result.stdout)
  const rows = documentOf(result.stdout).nodes as any[]
  assert.deepEqual(rows.map((row) => [row.name, row.reached]), [['p', false], ['ra', false], ['rc', true]])
  assert.equal(rows[0].unreachable_reason, 'kubectl exited 1: error: pod reddb-0 not found')
  assert.match(rows[1].unreachable_reason, /^the transport's answer is not a cluster node document: /)
})
