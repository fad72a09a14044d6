import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'

const scratch = useScratch()

/** Modules only a run that names a repository needs: none of them is loaded at start-up. */
const REPOSITORY_MODULES = ['/dist/src/core/repo/open.js', '/dist/src/core/repo/throttled.js', '/dist/src/core/repo/inventory.js', '/dist/src/core/ops/repo/push.js']

/** Runs the built CLI with a module hook that lists every module it loads. */
async function loadedModules(args: string[], env: Record<string, string> = {}): Promise<{exitCode: number; stdout: string; stderr: string; loaded: string[]}> {
  const dir = await scratch.dir()
  const list = path.join(dir, 'loaded.txt')
  await writeFile(path.join(dir, 'hooks.mjs'), `import {appendFileSync} from 'node:fs'
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(list)}, url + '\\n')
  return next(url, context)
}
`)
  await writeFile(path.join(dir, 'register.mjs'), `import {register} from 'node:module'
register(${JSON.stringify(new URL(`file://${path.join(dir, 'hooks.mjs')}`).href)})
`)
  const result = await runCli(args, {env: {...env, NODE_OPTIONS: `--import=${path.join(dir, 'register.mjs')}`}})
  const loaded = (await readFile(list, 'utf8')).split('\n').filter((url) => url !== '')
  return {...result, loaded}
}

test('wal plan of the local WAL loads none of the repository modules; with --repo it loads them and reads the repository', async () => {
  const data = path.join(await scratch.layout('primary-basic'), 'data.rdb')
  const local = await loadedModules(['wal', 'plan', '--data-path', data, '--json'])
  assert.equal(local.exitCode, 0, local.stderr)
  assert.ok(local.loaded.some((url) => url.endsWith('/dist/src/commands/wal/plan.js')), 'the hook saw the command load')
  for (const module of REPOSITORY_MODULES) assert.ok(!local.loaded.some((url) => url.endsWith(module)), `${module} loaded by a plan without a repository`)

  const repo = await scratch.dir()
  const withRepo = await loadedModules(['wal', 'plan', '--data-path', data, '--repo', repo, '--node', 'db1', '--json'])
  assert.equal(withRepo.exitCode, 0, withRepo.stderr)
  for (const module of REPOSITORY_MODULES.filter((name) => !name.endsWith('/throttled.js'))) assert.ok(withRepo.loaded.some((url) => url.endsWith(module)), `${module} not loaded by a plan with a repository`)
  assert.equal(JSON.parse(withRepo.stdout).schema, 'redrepl.wal-plan/1')
})

test('human output into a pipe loads no colour library; forced colour loads it and colours', async () => {
  const data = path.join(await scratch.layout('primary-basic'), 'data.rdb')
  const isChalk = (url: string) => url.includes('/node_modules/chalk/')
  const plain = await loadedModules(['wal', 'plan', '--data-path', data])
  assert.equal(plain.exitCode, 0, plain.stderr)
  assert.match(plain.stdout, /would remove/)
  assert.ok(!plain.loaded.some(isChalk), 'chalk loaded for output without colour')
  assert.doesNotMatch(plain.stdout, /\u001b\[/)
  const coloured = await loadedModules(['wal', 'plan', '--data-path', data], {FORCE_COLOR: '1'})
  assert.equal(coloured.exitCode, 0, coloured.stderr)
  assert.ok(coloured.loaded.some(isChalk), 'chalk not loaded for coloured output')
  assert.match(coloured.stdout, /\u001b\[/)
})
