import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {appendFileSync, existsSync, readdirSync, readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import path from 'node:path'
import {test} from 'node:test'

import {writeSampleCluster} from '../../src/core/ops/node/sample-layout.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {cliBinary, runCli, useScratch} from '../support/cli.js'
import {writeInventory, type NodeEntry} from '../support/cluster.js'
import {NOW_MS} from '../support/fixtures.js'
import {jsonOf} from '../support/node.js'
import {MiB, writeWalNode} from '../support/wal-node.js'
import {layoutIn} from '../support/layout-node.js'

const scratch = useScratch()
const self = [process.execPath, cliBinary]

/**
 * The sample's three nodes (p primary; ra at 5242918, rc at 4194334, each with
 * its database and relay log), and ra holding WAL only from LSN 5242880 on:
 * promoting ra leaves rc behind the oldest WAL it can serve, so rc must be
 * recloned by RedDB's rejoin rule. `repos` adds [repo.NAME] sections.
 */
async function recloneCluster(repos: string[], entries?: (nodes: {p: string; ra: string; rc: string}, dir: string) => NodeEntry[]) {
  const dir = await scratch.dir('redrepl-reclone-')
  const {nodes} = await writeSampleCluster(dir, NOW_MS)
  writeWalNode(path.join(dir, 'ra'), {segmentBytes: MiB, segments: {5: 3}, slots: null})
  const list = entries?.(nodes, dir) ?? [
    {name: 'p', dataPath: nodes.p},
    {name: 'ra', dataPath: nodes.ra},
    {name: 'rc', dataPath: nodes.rc},
  ]
  const config = await writeInventory(path.join(dir, 'redrepl.conf'), list)
  for (const name of repos) appendFileSync(config, `\n[repo.${name}]\nurl = ${JSON.stringify(path.join(dir, `repo-${name}`))}\n`)
  const plan = path.join(dir, 'failover.plan')
  const planned = await runCli(['failover', 'plan', '--config', config, '--out', plan, '--json'])
  assert.equal(planned.exitCode, 0, planned.stderr)
  assert.deepEqual((jsonOf(planned).steps as any[]).map((step) => [step.node, step.decision]), [['p', 'rewind'], ['rc', 'reclone']])
  return {dir, nodes, config, plan}
}

const FORK = 5_242_918n
const BACKUP = 'base-00000000000000000000-00000000000005242918.redbase'
const stepsOf = (report: Record<string, unknown>) => (report.steps as any[]).map((step) => `${step.step} ${step.node} ${step.status}`)
/** The base backup manifests a directory repository holds for timeline 2 of namespace main. */
const repoBackups = (repo: string) => {
  const dir = path.join(repo, new RepoKeys('main').basebackupPrefix(2n))
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.redbase')) : []
}
/** A process group holding the data file's flock as RedDB does, ended whole (flock and its sleep) by `release`. */
async function runningNode(file: string): Promise<{pid: number; release: () => Promise<void>}> {
  const child = spawn('flock', ['-x', file, 'sleep', '60'], {stdio: 'ignore', detached: true})
  const pid = child.pid!
  const held = () => readFileSync('/proc/locks', 'utf8').split('\n').some((line) => line.includes('FLOCK') && line.split(/\s+/).includes(String(pid)))
  for (let i = 0; i < 250 && !held(); i++) await sleep(20)
  return {
    pid,
    release: async () => {
      process.kill(-pid, 'SIGKILL')
      for (let i = 0; i < 250 && held(); i++) await sleep(20)
    },
  }
}
const staged = (data: string) => ({marker: existsSync(path.join(path.dirname(data), 'data.rebootstrap.ready')), pending: existsSync(path.join(path.dirname(data), 'data.rebootstrap.pending.rdb'))})

test('failover apply reclones through the config\'s repository: a backup of the new primary pushed, then staged on the node and verified', async () => {
  const {dir, nodes, config, plan} = await recloneCluster(['offsite'])
  const dry = jsonOf(await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--dry-run', '--json']))
  assert.deepEqual([dry.repo_name, dry.repo_name_source], ['offsite', 'config'])
  assert.deepEqual(stepsOf(dry), ['promote ra pending', 'rejoin p pending', 'reclone-backup rc pending', 'reclone-restore rc pending'])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [])

  const applied = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(applied.exitCode, 0, applied.stderr)
  const report = jsonOf(applied)
  assert.deepEqual(stepsOf(report), ['promote ra done', 'rejoin p done', 'reclone-backup rc done', 'reclone-restore rc done'])
  assert.equal(report.complete, true)
  assert.match((report.steps as any[])[2].detail, new RegExp(`^base backup ${BACKUP} of ra \\(timeline 2, checkpoint ${FORK}\\) pushed to repository offsite, namespace main$`))
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [BACKUP])
  // The staged rebootstrap is the new primary's timeline-2 backup, as RedDB reads it at its next start.
  assert.deepEqual(staged(nodes.rc), {marker: true, pending: true})
  assert.deepEqual(readFileSync(path.join(dir, 'rc', 'data.rebootstrap.pending.rdb')).subarray(-256 * 1024), readFileSync(nodes.ra).subarray(-256 * 1024))
  for (const data of [nodes.ra, nodes.rc]) assert.equal((await runCli(['layout', 'verify', '--data-path', data, '--quiet'])).exitCode, 0, data)
  const journal = JSON.parse(readFileSync(`${plan}.journal`, 'utf8'))
  assert.deepEqual(journal.entries[2].backup, {repo_name: 'offsite', timeline: 2, checkpoint_lsn: Number(FORK), manifest_name: BACKUP})

  const again = jsonOf(await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json']))
  assert.deepEqual(stepsOf(again), ['promote ra already-done', 'rejoin p already-done', 'reclone-backup rc already-done', 'reclone-restore rc already-done'])
})

test('failover apply killed after each step: the re-run after the backup step restores that backup and takes no second one', async () => {
  const {dir, nodes, config, plan} = await recloneCluster(['offsite'], (all, root) => {
    const log = path.join(root, 'ra-transport.log')
    // ra's transport logs every redrepl run on it; rc's passes through.
    return [
      {name: 'p', dataPath: all.p},
      {name: 'ra', dataPath: all.ra, transport: ['sh', '-c', `echo "$*" >> '${log}'; exec "$@"`, 'transport'], redrepl: self},
      {name: 'rc', dataPath: all.rc, transport: ['sh', '-c', 'exec "$@"', 'transport'], redrepl: self},
    ]
  })
  // Nodes behind a transport read their own host's config file: here the same one.
  const env = {REDREPL_CONFIG: config, REDREPL_CRASH_AT: 'failover-journal:after-rename'}
  const journaled: string[] = []
  for (let run = 0; run < 4; run++) {
    const killed = await runCli(['failover', 'apply', '--plan', plan, '--yes'], {env})
    assert.notEqual(killed.exitCode, 0, `run ${run} was not killed: ${killed.stderr}`)
    const entries = JSON.parse(readFileSync(`${plan}.journal`, 'utf8')).entries
    journaled.push(entries.map((entry: any) => `${entry.step} ${entry.node} ${entry.status}`).join(', '))
    if (run === 2) assert.deepEqual(staged(nodes.rc), {marker: false, pending: false}, 'killed between the steps: nothing staged yet')
  }
  assert.deepEqual(journaled.at(-1), 'promote ra done, rejoin p done, reclone-backup rc done, reclone-restore rc done')
  assert.deepEqual(journaled.map((line) => line.split(', ').length), [1, 2, 3, 4])
  const last = await runCli(['failover', 'apply', '--plan', plan, '--yes', '--json'], {env})
  assert.equal(last.exitCode, 0, last.stderr)
  const runs = readFileSync(path.join(dir, 'ra-transport.log'), 'utf8').split('\n')
  assert.equal(runs.filter((line) => line.includes('basebackup create')).length, 1)
  assert.equal(runs.filter((line) => line.includes('repo push')).length, 1)
  assert.equal(runs.filter((line) => line.includes('timeline promote')).length, 1)
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [BACKUP])
  assert.deepEqual(staged(nodes.rc), {marker: true, pending: true})
  for (const data of [nodes.ra, nodes.rc]) assert.equal((await runCli(['layout', 'verify', '--data-path', data, '--quiet'])).exitCode, 0, data)
})

test('killed after the backup was taken and pushed but before the journal held it: the re-run finds it taken and pushed, and restores it', async () => {
  const {dir, nodes, config, plan} = await recloneCluster(['offsite'])
  for (let run = 0; run < 2; run++) {
    const killed = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'], {env: {REDREPL_CRASH_AT: 'failover-journal:after-rename'}})
    assert.notEqual(killed.exitCode, 0, `run ${run} was not killed`)
  }
  // The third journal write is the backup step's entry: killed before it is durable.
  const killed = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'], {env: {REDREPL_CRASH_AT: 'failover-journal:after-temp-write'}})
  assert.notEqual(killed.exitCode, 0)
  assert.deepEqual(JSON.parse(readFileSync(`${plan}.journal`, 'utf8')).entries.map((entry: any) => entry.step), ['promote', 'rejoin'])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [BACKUP])
  const again = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(again.exitCode, 0, again.stderr)
  const steps = jsonOf(again).steps as any[]
  assert.match(steps[2].detail, /^base backup .* already in repository offsite, namespace main$/)
  assert.equal(steps[3].status, 'done')
  const local = readdirSync(layoutIn(path.join(dir, 'ra')).basebackupDir(2n)).filter((name) => name.endsWith('.redbase'))
  assert.deepEqual(local, [BACKUP])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [BACKUP])
  assert.deepEqual(staged(nodes.rc), {marker: true, pending: true})
})

test('the restore step refuses while RedDB runs on the node; the re-run once it stopped stages the backup already pushed', async () => {
  const {dir, nodes, config, plan} = await recloneCluster(['offsite'])
  const node = await runningNode(nodes.rc)
  let first
  try {
    first = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes'])
  } finally {
    await node.release()
  }
  assert.equal(first.exitCode, 4, first.stderr)
  assert.match(first.stderr, /rc: reclone-restore failed: repo restore on rc: .* exited 4: /)
  assert.deepEqual(staged(nodes.rc), {marker: false, pending: false})
  const journal = JSON.parse(readFileSync(`${plan}.journal`, 'utf8'))
  assert.deepEqual(journal.entries.map((entry: any) => `${entry.step} ${entry.status}`), ['promote done', 'rejoin done', 'reclone-backup done', 'reclone-restore failed'])

  const second = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(second.exitCode, 0, second.stderr)
  assert.deepEqual(stepsOf(jsonOf(second)), ['promote ra already-done', 'rejoin p already-done', 'reclone-backup rc already-done', 'reclone-restore rc done'])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-offsite')), [BACKUP])
  assert.deepEqual(staged(nodes.rc), {marker: true, pending: true})
})

test('without a repository, or with several and none named, the reclone stays manual; --repo-name picks one, an unknown one is a usage error', async () => {
  const none = await recloneCluster([])
  const manual = await runCli(['failover', 'apply', '--config', none.config, '--plan', none.plan, '--yes', '--json'])
  assert.equal(manual.exitCode, 0, manual.stderr)
  const report = jsonOf(manual)
  assert.deepEqual([report.repo_name, report.repo_name_source], [null, null])
  assert.deepEqual(stepsOf(report), ['promote ra done', 'rejoin p done', 'rejoin rc manual'])
  assert.match((report.steps as any[])[2].commands[0], /redrepl basebackup create --data-path .*ra.data\.rdb --from /)
  assert.deepEqual(staged(none.nodes.rc), {marker: false, pending: false})

  const two = await recloneCluster(['near', 'far'])
  const dry = jsonOf(await runCli(['failover', 'apply', '--config', two.config, '--plan', two.plan, '--dry-run', '--json']))
  assert.deepEqual(stepsOf(dry).at(-1), 'rejoin rc pending')
  const unknown = await runCli(['failover', 'apply', '--config', two.config, '--plan', two.plan, '--yes', '--repo-name', 'nowhere'])
  assert.equal(unknown.exitCode, 2, unknown.stderr)
  assert.match(unknown.stderr, /no \[repo\.nowhere\] section \(repositories: near, far\)/)
  const named = await runCli(['failover', 'apply', '--config', two.config, '--plan', two.plan, '--yes', '--repo-name', 'far', '--json'])
  assert.equal(named.exitCode, 0, named.stderr)
  assert.deepEqual([jsonOf(named).repo_name, jsonOf(named).repo_name_source], ['far', 'flag'])
  assert.deepEqual(stepsOf(jsonOf(named)).slice(2), ['reclone-backup rc done', 'reclone-restore rc done'])
  assert.deepEqual(repoBackups(path.join(two.dir, 'repo-far')), [BACKUP])
  assert.deepEqual(repoBackups(path.join(two.dir, 'repo-near')), [])
})

test('failover plan --repo-name pins the repository in the plan: apply uses it, and refuses another named at apply', async () => {
  const {dir, nodes, config, plan} = await recloneCluster(['near', 'far'])
  const unknown = await runCli(['failover', 'plan', '--config', config, '--out', `${plan}.x`, '--repo-name', 'nowhere'])
  assert.equal(unknown.exitCode, 2, unknown.stderr)
  const pinned = await runCli(['failover', 'plan', '--config', config, '--out', plan, '--repo-name', 'near', '--json'])
  assert.equal(pinned.exitCode, 0, pinned.stderr)
  assert.equal(jsonOf(pinned).repo_name, 'near')
  const other = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--repo-name', 'far'])
  assert.equal(other.exitCode, 4, other.stderr)
  assert.match(other.stderr, /the plan pins repository near, not far; nothing was done/)
  assert.equal(existsSync(`${plan}.journal`), false)
  const applied = await runCli(['failover', 'apply', '--config', config, '--plan', plan, '--yes', '--json'])
  assert.equal(applied.exitCode, 0, applied.stderr)
  assert.deepEqual([jsonOf(applied).repo_name, jsonOf(applied).repo_name_source], ['near', 'plan'])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-near')), [BACKUP])
  assert.deepEqual(repoBackups(path.join(dir, 'repo-far')), [])
  assert.deepEqual(staged(nodes.rc), {marker: true, pending: true})
})
