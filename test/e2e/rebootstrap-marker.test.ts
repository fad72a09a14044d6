import assert from 'node:assert/strict'
import {copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson, type JsonObject} from '../../src/core/codec/json.js'
import {runCli, useScratch} from '../support/cli.js'
import {fixturePath} from '../support/fixtures.js'
import {documentOf} from '../support/node.js'
import {MiB, writeWalNode} from '../support/wal-node.js'

/**
 * The ready marker's pending_path is the path a node configured with an
 * absolute data path derives (format §8): never the relative path typed,
 * which RedDB 1.12 and 1.23 refuse ("invalid rebootstrap pending_path").
 * Every writer of the marker is run with a relative data path.
 */

const scratch = useScratch()

const markerOf = (file: string) => parseJson(readFileSync(file, 'utf8')) as JsonObject

/** A copy of primary-basic at <parent>/rc1, and the parent to run from. */
async function node() {
  const copy = await scratch.layout('primary-basic')
  const parent = path.dirname(copy)
  const name = path.basename(copy)
  return {parent, relative: path.join(name, 'data.rdb'), dir: copy}
}

test('materialize --rebootstrap with a relative --data-path writes the absolute pending path, which layout verify accepts', async () => {
  const {parent, relative, dir} = await node()
  const run = await runCli(['basebackup', 'materialize', '--data-path', relative, '--rebootstrap'], {cwd: parent})
  assert.equal(run.exitCode, 0, run.stderr)
  const marker = markerOf(path.join(dir, 'data.rebootstrap.ready'))
  assert.equal(marker.pending_path, path.join(dir, 'data.rebootstrap.pending.rdb'))
  const verify = await runCli(['layout', 'verify', '--data-path', relative, '--json'], {cwd: parent})
  const findings = (documentOf(verify.stdout).findings as JsonObject[]).map((f) => f.code)
  assert.ok(!findings.includes('rebootstrap.pending-path'), findings.join(', '))
  assert.equal(verify.exitCode, 0, verify.stderr)
})

test('the working directory is the one the shell names ($PWD through a symlink), not the resolved one', async () => {
  const {parent, dir} = await node()
  const links = await scratch.dir('redrepl-marker-link-')
  const logical = path.join(links, 'srv')
  symlinkSync(parent, logical)
  const relative = path.join(path.basename(dir), 'data.rdb')
  const run = await runCli(['basebackup', 'materialize', '--data-path', relative, '--rebootstrap'], {cwd: logical, env: {PWD: logical}})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.equal(markerOf(path.join(dir, 'data.rebootstrap.ready')).pending_path, path.join(logical, path.basename(dir), 'data.rebootstrap.pending.rdb'))
  // A $PWD naming another directory is not believed.
  const stale = await runCli(['basebackup', 'materialize', '--data-path', relative, '--rebootstrap'], {cwd: logical, env: {PWD: links}})
  assert.equal(stale.exitCode, 0, stale.stderr)
  assert.equal(markerOf(path.join(dir, 'data.rebootstrap.ready')).pending_path, path.join(parent, path.basename(dir), 'data.rebootstrap.pending.rdb'))
})

test('layout verify flags a relative pending_path: a node configured with an absolute data path refuses it', async () => {
  const {parent, relative, dir} = await node()
  writeFileSync(path.join(dir, 'data.rebootstrap.ready'), JSON.stringify({checkpoint_lsn: 5242882, pending_path: path.join(path.basename(dir), 'data.rebootstrap.pending.rdb'), timeline: 1}))
  writeFileSync(path.join(dir, 'data.rebootstrap.pending.rdb'), readFileSync(path.join(dir, 'data.rdb')))
  const verify = await runCli(['layout', 'verify', '--data-path', relative, '--json'], {cwd: parent})
  assert.equal(verify.exitCode, 3, verify.stderr)
  const found = (documentOf(verify.stdout).findings as JsonObject[]).find((f) => f.code === 'rebootstrap.pending-path')
  assert.match(String(found?.message), /is relative: a node configured with an absolute data path refuses it/)
})

test('repo restore --rebootstrap with a relative --data-path writes the absolute pending path', async () => {
  const {dir} = await node()
  const repo = await scratch.dir('redrepl-marker-repo-')
  const push = await runCli(['repo', 'push', '--data-path', path.join(dir, 'data.rdb'), '--repo', repo, '--node', 'db1'])
  assert.equal(push.exitCode, 0, push.stderr)
  const work = await scratch.dir('redrepl-marker-restore-')
  mkdirSync(path.join(work, 'rc1'))
  const restore = await runCli(['repo', 'restore', '--repo', repo, '--node', 'db1', '--data-path', 'rc1/data.rdb', '--rebootstrap', '--rdb-version', '1'], {cwd: work})
  assert.equal(restore.exitCode, 0, restore.stderr)
  assert.equal(markerOf(path.join(work, 'rc1', 'data.rebootstrap.ready')).pending_path, path.join(work, 'rc1', 'data.rebootstrap.pending.rdb'))
})

test('rejoin apply with a relative --node-data-path writes the absolute pending path', async () => {
  const primary = await scratch.dir('redrepl-marker-primary-')
  cpSync(fixturePath('layouts', 'after-failover'), primary, {recursive: true})
  const data = path.join(primary, 'data.rdb')
  const created = await runCli(['basebackup', 'create', '--data-path', data, '--from', data])
  assert.equal(created.exitCode, 0, created.stderr)
  const work = await scratch.dir('redrepl-marker-old-')
  // An old primary left on timeline 1 with 3 WAL records: a reclone.
  const old = writeWalNode(path.join(work, 'n1'), {segmentBytes: MiB, segments: {0: 3}, slots: null})
  copyFileSync(fixturePath('layouts', 'after-failover', 'data.rdb'), old)
  const relative = path.relative(work, old)
  const run = await runCli(['rejoin', 'apply', '--data-path', data, '--node-data-path', relative, '--available-from-lsn', '20'], {cwd: work})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.equal(markerOf(path.join(path.dirname(old), 'data.rebootstrap.ready')).pending_path, path.join(path.dirname(old), 'data.rebootstrap.pending.rdb'))
})

test('the demo run in a relative directory writes an absolute pending path', async () => {
  const work = await scratch.dir('redrepl-marker-demo-')
  const demo = await runCli(['demo', 'rc1', '--json'], {cwd: work, timeoutMs: 180_000})
  assert.equal(demo.exitCode, 0, demo.stderr)
  const marker = markerOf(path.join(work, 'rc1', 'p-new', 'data.rebootstrap.ready'))
  assert.equal(marker.pending_path, path.join(work, 'rc1', 'p-new', 'data.rebootstrap.pending.rdb'))
})
