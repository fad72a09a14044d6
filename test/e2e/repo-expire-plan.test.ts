import assert from 'node:assert/strict'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson} from '../../src/core/codec/json.js'
import {RepoKeys} from '../../src/core/repo/keys.js'
import {filesIn} from '../support/tree.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()
const manifestKey = (checkpoint: bigint) => new RepoKeys('db1').manifest(1n, 0n, checkpoint)

async function addBackup(data: string, checkpoint: bigint) {
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(5000, Number(checkpoint % 250n))])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', '4KiB', '--json'], {input: snapshot}))
}

/** Every object key in a directory repository, sorted. */
const objects = (root: string): string[] => filesIn(root)

/** primary-basic (one backup at 5242882) plus backups at 5242890 and 5242900, pushed to a directory repository; a --keep-last 2 plan saved. */
async function planned() {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const repoDir = await scratch.dir('redrepl-repo-')
  for (const checkpoint of [5242890n, 5242900n]) await addBackup(data, checkpoint)
  const repo = (...args: string[]) => runCli(['repo', ...args, '--repo', `file://${repoDir}`, '--node', 'db1'])
  jsonOf(await repo('push', '--data-path', data, '--include-current', '--json'))
  const planPath = path.join(dir, 'repo-expire.plan')
  const saved = jsonOf(await repo('expire', '--keep-last', '2', '--segment-bytes', '1MiB', '--out', planPath, '--json'))
  return {data, repoDir, repo, planPath, saved}
}

test('repo expire --out saves the dry run; --plan deletes exactly its backup and WAL, only with --confirm, after a newer backup was pushed', async () => {
  const node = await planned()
  assert.equal(node.saved.dry_run, true)
  assert.equal(node.saved.plan_path, node.planPath)
  assert.match(node.saved.inputs_fingerprint as string, /^sha256:[0-9a-f]{64}$/)
  const doc = parseJson(readFileSync(node.planPath, 'utf8')) as Record<string, any>
  assert.equal(doc.kind, 'repo-expire')
  assert.equal(doc.node, 'db1')
  assert.deepEqual(doc.policy, {keep_last: 2n})
  assert.deepEqual(doc.backups.map((b: any) => [b.name, b.checkpoint_lsn]), [[manifestKey(5242882n), 5242882n]])
  const walKeys = doc.wal.map((w: any) => w.name)
  assert.equal(walKeys.length, 4)

  // A newer backup changes nothing about the saved objects: the plan still applies, and the one more backup the policy now deletes stays.
  await addBackup(node.data, 5242910n)
  jsonOf(await node.repo('push', '--data-path', node.data, '--json'))
  const before = objects(node.repoDir)
  const dry = jsonOf(await node.repo('expire', '--plan', node.planPath, '--json'))
  assert.equal(dry.dry_run, true)
  assert.equal((dry.plan as any).fingerprint_matches, false)
  assert.deepEqual((dry.plan as any).more_released_manifests, [manifestKey(5242890n)])
  assert.deepEqual(objects(node.repoDir), before, 'a dry run deletes nothing')

  const done = jsonOf(await node.repo('expire', '--plan', node.planPath, '--confirm', '--json'))
  assert.equal(done.objects_deleted, 1n + 1n + 4n, 'the manifest, its piece index, the 4 WAL segments (its piece is younger than the grace period)')
  const after = objects(node.repoDir)
  const gone = before.filter((key) => !after.includes(key))
  assert.deepEqual(gone.filter((key) => !key.includes('.redbase.parts/')), [manifestKey(5242882n), `${manifestKey(5242882n)}.pieces`, ...walKeys].sort())
  assert.ok(gone.every((key) => !key.includes('.redbase.parts/') || key.startsWith(`${manifestKey(5242882n)}.parts/`)), 'only the planned backup\'s chunks')
  assert.ok(after.includes(manifestKey(5242890n)), 'the backup the plan did not name stays')
})

test('repo expire --plan refuses when a planned backup is gone or was pushed again, and deletes nothing', async () => {
  const gone = await planned()
  rmSync(path.join(gone.repoDir, manifestKey(5242882n)))
  const goneBefore = objects(gone.repoDir)
  const goneRun = await gone.repo('expire', '--plan', gone.planPath, '--confirm')
  assert.equal(goneRun.exitCode, 4, goneRun.stderr)
  assert.match(goneRun.stderr, new RegExp(`backup ${manifestKey(5242882n)} is gone; nothing was deleted`))
  assert.deepEqual(objects(gone.repoDir), goneBefore)

  const repushed = await planned()
  rmSync(path.join(repushed.repoDir, manifestKey(5242882n)))
  jsonOf(await repushed.repo('push', '--data-path', repushed.data, '--json'))
  const before = objects(repushed.repoDir)
  assert.ok(before.includes(manifestKey(5242882n)))
  const run = await repushed.repo('expire', '--plan', repushed.planPath, '--confirm', '--json')
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, new RegExp(`backup ${manifestKey(5242882n)} was replaced by another manifest`))
  assert.deepEqual(objects(repushed.repoDir), before)
})

test('repo expire --plan refuses policy flags, --out with --confirm or inside the repository, and a plan of another kind', async () => {
  const node = await planned()
  const before = objects(node.repoDir)
  for (const flag of [['--keep-last', '1'], ['--keep-within', '1d']]) {
    const run = await node.repo('expire', '--plan', node.planPath, ...flag, '--confirm')
    assert.equal(run.exitCode, 2, run.stderr)
    assert.match(run.stderr, /--plan carries its own policy/)
  }
  const outAndConfirm = await node.repo('expire', '--keep-last', '2', '--out', node.planPath, '--confirm')
  assert.equal(outAndConfirm.exitCode, 2, outAndConfirm.stderr)
  const inside = await node.repo('expire', '--keep-last', '2', '--out', path.join(node.repoDir, 'db1', 'expire.plan'))
  assert.equal(inside.exitCode, 4, inside.stderr)
  assert.match(inside.stderr, /lies inside the repository/)
  const expirePlan = path.join(path.dirname(node.data), 'expire.plan')
  jsonOf(await runCli(['basebackup', 'expire', '--data-path', node.data, '--keep-last', '2', '--out', expirePlan, '--json']))
  const wrongKind = await node.repo('expire', '--plan', expirePlan, '--confirm')
  assert.equal(wrongKind.exitCode, 4, wrongKind.stderr)
  assert.match(wrongKind.stderr, /a plan of kind "basebackup-expire", not a repository expiry plan/)
  assert.deepEqual(objects(node.repoDir), before)
})

test('repo expire --plan takes the repository however it is spelled, and refuses another one', async () => {
  const node = await planned()
  const doc = parseJson(readFileSync(node.planPath, 'utf8')) as Record<string, any>
  assert.equal(doc.repository, `file://${node.repoDir}`)
  const relative = path.relative(process.cwd(), node.repoDir)
  for (const spelling of [node.repoDir, `${node.repoDir}/`, `file://${node.repoDir}/`, relative]) {
    const dry = await runCli(['repo', 'expire', '--repo', spelling, '--node', 'db1', '--plan', node.planPath, '--json'])
    assert.equal(dry.exitCode, 0, `${spelling}: ${dry.stderr}`)
  }
  const other = await scratch.dir('redrepl-repo-')
  const elsewhere = await runCli(['repo', 'expire', '--repo', other, '--node', 'db1', '--plan', node.planPath, '--json'])
  assert.equal(elsewhere.exitCode, 4, elsewhere.stderr)
  assert.match(elsewhere.stderr, new RegExp(`the plan is for the repository file://${node.repoDir}, not file://${other}`))
})

test('repo expire --plan ignores the config file\'s policy and grace, and refuses the same flags typed', async () => {
  const node = await planned()
  const config = path.join(path.dirname(node.data), 'redrepl.conf')
  writeFileSync(config, '[defaults]\nkeep-last = 1\n\n[node.db1]\norphan-grace = "1h"\n')
  const before = objects(node.repoDir)
  const dry = jsonOf(await node.repo('expire', '--config', config, '--plan', node.planPath, '--json'))
  assert.deepEqual((dry.backups as any[]).filter((b) => b.action === 'delete').map((b) => b.key), [manifestKey(5242882n)], 'the plan keeps 2, not the file\'s 1')
  const typed = await node.repo('expire', '--config', config, '--plan', node.planPath, '--orphan-grace', '1h', '--confirm')
  assert.equal(typed.exitCode, 2, typed.stderr)
  assert.match(typed.stderr, /--plan carries its own policy: leave out --orphan-grace \(see/)
  assert.deepEqual(objects(node.repoDir), before)
})
