import assert from 'node:assert/strict'
import {readdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {layoutIn} from '../support/layout-node.js'

const scratch = useScratch()
const name = (checkpoint: bigint) => `base-00000000000000000000-${checkpoint.toString().padStart(20, '0')}.redbase`

async function addBackup(data: string, checkpoint: bigint, fill = Number(checkpoint % 250n)) {
  const snapshot = Buffer.concat([Buffer.from('RDST'), Buffer.alloc(9000, fill)])
  jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', String(snapshot.length), '--checkpoint-lsn', String(checkpoint), '--chunk-size', '4KiB', '--json'], {input: snapshot}))
}

/** primary-basic (one backup at 5242882) plus backups at 5242890 and 5242900; a --keep-last 2 plan saved. */
async function planned() {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  for (const checkpoint of [5242890n, 5242900n]) await addBackup(data, checkpoint)
  const planPath = path.join(dir, 'expire.plan')
  const saved = jsonOf(await runCli(['basebackup', 'expire', '--data-path', data, '--keep-last', '2', '--out', planPath, '--json']))
  const backups = layoutIn(dir).basebackupDir(1n)
  const manifests = () => readdirSync(backups).filter((n) => n.endsWith('.redbase')).sort()
  return {dir, data, planPath, saved, backups, manifests}
}

test('expire --out saves the dry run; --plan deletes exactly its backups, and only with --confirm', async () => {
  const node = await planned()
  assert.equal(node.saved.dry_run, true)
  assert.equal(node.saved.plan_path, node.planPath)
  const doc = parseJson(readFileSync(node.planPath, 'utf8')) as Record<string, any>
  assert.equal(doc.kind, 'basebackup-expire')
  assert.deepEqual(doc.policy, {keep_last: 2n})
  assert.deepEqual(doc.backups.map((b: any) => b.name), [name(5242882n)])

  await addBackup(node.data, 5242910n)
  const dry = jsonOf(await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', node.planPath, '--json']))
  assert.equal(dry.dry_run, true)
  assert.equal(node.manifests().length, 4)
  assert.deepEqual((dry.plan as any).more_released_manifests, [name(5242890n)])

  const run = await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', node.planPath, '--confirm'])
  assert.equal(run.exitCode, 0, run.stderr)
  assert.match(run.stdout, /also deletes 1 more backup\(s\), left in place/)
  assert.match(run.stdout, /deleted 1 backup\(s\)/)
  assert.deepEqual(node.manifests(), [name(5242890n), name(5242900n), name(5242910n)])
})

test('expire --plan refuses when a planned backup is gone or replaced, and deletes nothing', async () => {
  const gone = await planned()
  jsonOf(await runCli(['basebackup', 'delete', '--data-path', gone.data, '--checkpoint-lsn', '5242882', '--json']))
  const goneRun = await runCli(['basebackup', 'expire', '--data-path', gone.data, '--plan', gone.planPath, '--confirm'])
  assert.equal(goneRun.exitCode, 4, goneRun.stderr)
  assert.match(goneRun.stderr, new RegExp(`backup ${name(5242882n)} is gone; nothing was deleted`))

  const replaced = await planned()
  jsonOf(await runCli(['basebackup', 'delete', '--data-path', replaced.data, '--checkpoint-lsn', '5242882', '--json']))
  await addBackup(replaced.data, 5242882n, 7)
  const before = replaced.manifests()
  const run = await runCli(['basebackup', 'expire', '--data-path', replaced.data, '--plan', replaced.planPath, '--confirm'])
  assert.equal(run.exitCode, 4, run.stderr)
  assert.match(run.stderr, new RegExp(`backup ${name(5242882n)} was replaced by another snapshot`))
  assert.deepEqual(replaced.manifests(), before)
})

test('expire --plan refuses policy flags, a tampered plan, and a plan behind a link', async () => {
  const node = await planned()
  const withPolicy = await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', node.planPath, '--keep-last', '1', '--confirm'])
  assert.equal(withPolicy.exitCode, 2, withPolicy.stderr)
  assert.match(withPolicy.stderr, /--plan carries its own policy/)
  const outAndConfirm = await runCli(['basebackup', 'expire', '--data-path', node.data, '--keep-last', '2', '--out', node.planPath, '--confirm'])
  assert.equal(outAndConfirm.exitCode, 2, outAndConfirm.stderr)

  const original = readFileSync(node.planPath, 'utf8')
  const doc = parseJson(original) as any
  doc.backups[0].name = `../../../${name(5242882n)}`
  writeFileSync(node.planPath, stringifyJson(doc))
  const tampered = await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', node.planPath, '--confirm'])
  assert.equal(tampered.exitCode, 4, tampered.stderr)
  assert.match(tampered.stderr, /not a base backup manifest of checkpoint 5242882/)

  writeFileSync(node.planPath, original)
  const link = `${node.planPath}.link`
  symlinkSync(node.planPath, link)
  const viaLink = await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', link, '--confirm'])
  assert.equal(viaLink.exitCode, 3, viaLink.stderr)
  assert.match(viaLink.stderr, /is a symbolic link, not a regular file/)

  const walPlan = path.join(node.dir, 'wal.plan')
  jsonOf(await runCli(['wal', 'plan', '--data-path', node.data, '--out', walPlan, '--json']))
  const wrongKind = await runCli(['basebackup', 'expire', '--data-path', node.data, '--plan', walPlan, '--confirm'])
  assert.equal(wrongKind.exitCode, 4, wrongKind.stderr)
  assert.match(wrongKind.stderr, /a plan of kind "wal-prune", not a base backup expiry plan/)
  assert.equal(node.manifests().length, 3)
})

test('with --plan a policy flag counts by where it came from: typed is refused, the config file\'s is ignored, typed over the file is refused', async () => {
  const node = await planned()
  const config = path.join(node.dir, 'redrepl.conf')
  writeFileSync(config, '[defaults]\nkeep-last = 1\norphan-grace = "1h"\n')
  const expire = (...extra: string[]) => runCli(['basebackup', 'expire', '--config', config, '--data-path', node.data, '--plan', node.planPath, ...extra])
  const before = node.manifests()
  // The file says keep 1; the plan says keep 2 and wins: only the plan's backup would go.
  const fromFile = jsonOf(await expire('--json'))
  assert.deepEqual((fromFile.backups as any[]).filter((b: any) => b.action === 'delete').map((b: any) => path.basename(b.manifest_path)), [name(5242882n)])
  for (const typed of [['--keep-last', '1'], ['--keep-last=1']]) {
    const run = await expire(...typed, '--confirm')
    assert.equal(run.exitCode, 2, `${typed}: ${run.stderr}`)
    const flag = typed[0].replace(/=.*/, '')
    assert.match(run.stderr, new RegExp(`^redrepl: --plan carries its own policy: leave out ${flag} \\(see: redrepl basebackup expire --help\\)$`, 'm'))
  }
  assert.deepEqual(node.manifests(), before)
  const applied = jsonOf(await expire('--confirm', '--json'))
  assert.equal(applied.deleted, 1n)
  assert.deepEqual(node.manifests(), before.filter((n) => n !== name(5242882n)))
})
