import assert from 'node:assert/strict'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'
import {execa} from 'execa'

import {repoRoot} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'
import {primaryCopy} from '../support/layout-node.js'

/** Flags the layout contradicts are refused before anything is written. */

const scratch = useScratch()

async function primary() {
  const copy = await primaryCopy(scratch)
  return {
    ...copy,
    history: copy.layout.historyPath,
    backup: copy.layout.basebackupManifestPath(1n, 0n, 5242882n),
    relay: (id: string) => copy.layout.relayDir(1n, id),
  }
}

const promote = (data: string, ...args: string[]) => runCli(['timeline', 'promote', '--data-path', data, ...args])

test('promote refuses a replica the layout does not know, naming the known ones; --force records it with a warning', async () => {
  const {data, history} = await primary()
  const before = readFileSync(history)
  const typo = await promote(data, '--replica', 'replca-a', '--applied-lsn', '25')
  assert.equal(typo.exitCode, 4)
  assert.match(typo.stderr, /no slot, relay log or legacy slot entry for replica "replca-a" on timeline 1 \(known: replica-a, replica-b, replica-c\)/)
  assert.equal(typo.stderr.trimEnd().split('\n').length, 1)
  assert.deepEqual(readFileSync(history), before)
  const forced = await promote(data, '--replica', 'replca-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--force', '--json')
  assert.equal(forced.exitCode, 0, forced.stderr)
  assert.match(forced.stderr, /^redrepl: warning: .*replca-a/)
  assert.deepEqual((jsonOf(forced).findings as any[]).map((f) => [f.code, f.severity, f.message]), [['force.overridden', 'warning', forced.stderr.trimEnd().replace('redrepl: warning: ', '')]])
})

test('promote refuses an applied LSN past the replica\'s acks or the WAL head, and an invalidated slot', async () => {
  const {data, history} = await primary()
  const before = readFileSync(history)
  const pastAck = await promote(data, '--replica', 'replica-b', '--applied-lsn', '3145733')
  assert.equal(pastAck.exitCode, 4)
  assert.match(pastAck.stderr, /replica replica-b acknowledged applying up to LSN 2097162 \(slot-catalog\), not 3145733/)
  const pastWal = await promote(data, '--replica', 'replica-a', '--applied-lsn', '99999999', '--force', '--json')
  assert.equal(pastWal.exitCode, 0)
  assert.match(pastWal.stderr, /the WAL of timeline 1 ends at LSN 5242882, below the applied LSN 99999999/)
  const unforced = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '99999999', '--dry-run'])
  assert.equal(unforced.exitCode, 4, 'a dry run applies the same checks')
  const copy = await primary()
  const invalidated = await promote(copy.data, '--replica', 'replica-c')
  assert.equal(invalidated.exitCode, 4)
  assert.match(invalidated.stderr, /replication-slots\.redslots: the slot of replica replica-c is invalidated \(wal-removed\)/)
  assert.deepEqual(readFileSync(copy.history), before)
})

test('--applied-lsn defaults to the replica\'s acknowledged applied LSN, with its source', async () => {
  const {data} = await primary()
  const report = jsonOf(await promote(data, '--replica', 'replica-a', '--expect-timeline', '1', '--json'))
  assert.deepEqual([report.fork_lsn, report.applied_lsn_source, report.selection], [5242881n, 'slot-catalog', 'named'])
})

test('a promotion that repeats the last fork is refused, even without --expect-timeline', async () => {
  const {data, history} = await primary()
  assert.equal((await promote(data, '--replica', 'replica-b', '--applied-lsn', '25', '--max-lag-lsn', '9999999')).exitCode, 0)
  const before = readFileSync(history)
  for (const force of [[], ['--force']]) {
    const again = await promote(data, '--replica', 'replica-b', '--applied-lsn', '25', '--max-lag-lsn', '9999999', ...force)
    assert.equal(again.exitCode, 4)
    assert.match(again.stderr, /timeline 2 already records promote replica-b at LSN 25: this failover is done/)
  }
  assert.deepEqual(readFileSync(history), before)
})

test('--auto after a RedDB 1.12 failover says the acks carry timeline 1; --adopt-catalog-timeline chooses among them', async () => {
  const data = path.join(await scratch.layout('after-failover'), 'data.rdb')
  const refusedRun = await promote(data, '--auto')
  assert.equal(refusedRun.exitCode, 4)
  assert.match(refusedRun.stderr, /timeline-00000000000000000002: holds acks of replica-a, replica-b \(relay-manifest, slot-catalog\) stamped timeline 1, not 2/)
  assert.match(refusedRun.stderr, /pass --adopt-catalog-timeline/)
  const report = jsonOf(await promote(data, '--auto', '--adopt-catalog-timeline', '--expect-timeline', '2', '--json'))
  assert.deepEqual([report.replica_id, report.previous_timeline, report.new_timeline, report.fork_lsn], ['replica-b', 2n, 3n, 38n])
  assert.equal(report.catalog_timeline_adopted, true)
})

test('the dry run lists one row per replica with the source of its positions; invalidated ones are ineligible', async () => {
  const {data} = await primary()
  const report = jsonOf(await promote(data, '--auto', '--dry-run', '--json'))
  const rows = report.candidates as any[]
  assert.deepEqual(rows.map((row) => row.replica_id), ['replica-a', 'replica-b', 'replica-c'])
  assert.deepEqual(rows.map((row) => [row.applied_lsn, row.position_source, row.eligible, row.chosen]), [
    [5242881n, 'slot-catalog', true, true],
    [2097162n, 'slot-catalog', true, false],
    [20n, 'slot-catalog', false, false],
  ])
  assert.deepEqual(rows[0].sources.map((ack: any) => [ack.source, ack.applied_lsn]), [['relay-manifest', 40n], ['slot-catalog', 5242881n]])
  assert.equal(rows[2].ineligible, 'invalidated-slot')
  // Wide: at the 80 columns of a pipe the reason wraps.
  const human = await promote(data, '--auto', '--dry-run', '--output', 'wide')
  assert.equal(human.exitCode, 0, human.stderr)
  assert.match(human.stdout, /replica-c .* no: its slot is invalidated \(wal-removed, slot-catalog\)/)
  assert.match(human.stdout, /--auto picks replica-a: the highest \(applied, flushed, received\) = \(5242881, 5242882, 5242882\)/)
})

test('on a terminal without --expect-timeline the plan is shown and asked for; --yes skips the question', async () => {
  const {data, history} = await primary()
  const before = readFileSync(history)
  const onTerminal = (answer: string, ...args: string[]) =>
    execa('script', ['-qec', [process.execPath, path.join(repoRoot, 'bin', 'run.js'), 'timeline', 'promote', '--data-path', data, '--replica', 'replica-a', ...args].join(' '), '/dev/null'], {
      input: answer,
      reject: false,
      env: {NO_COLOR: '1', CI: ''},
    })
  const declined = await onTerminal('n\n')
  assert.equal(declined.exitCode, 4, String(declined.stdout))
  assert.match(String(declined.stdout), /--auto picks replica-a/)
  assert.match(String(declined.stdout), /Promote replica-a to timeline 2 at LSN 5242881\? \[y\/N\]/)
  assert.deepEqual(readFileSync(history), before)
  const yes = await onTerminal('', '--yes')
  assert.equal(yes.exitCode, 0, String(yes.stdout))
})

test('relay append refuses a replica the layout does not know unless --create', async () => {
  const {data, relay} = await primary()
  const input = '{"lsn":1,"payload_hex":"00"}\n'
  const typo = await runCli(['relay', 'append', '--data-path', data, '--replica', 'replca-a', '--applied-lsn', '0'], {input})
  assert.equal(typo.exitCode, 4)
  assert.match(typo.stderr, /no relay log or slot for replica "replca-a" on timeline 1 \(known: replica-a, replica-b, replica-c\); .*--create/)
  assert.ok(!existsSync(relay('replca-a')))
  // A replica with a slot but no relay log yet is known.
  assert.equal((await runCli(['relay', 'append', '--data-path', data, '--replica', 'replica-c', '--applied-lsn', '0'], {input})).exitCode, 0)
  assert.equal((await runCli(['relay', 'append', '--data-path', data, '--replica', 'replca-a', '--create', '--applied-lsn', '0'], {input})).exitCode, 0)
})

test('materialize refuses a backup whose checkpoint lies past the fork; --force restores it with a warning', async () => {
  const {data, backup, dir} = await primary()
  assert.equal((await promote(data, '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--expect-timeline', '1')).exitCode, 0)
  const target = path.join(dir, 'restored.rdb')
  for (const destination of [['--to', target], ['--rebootstrap']]) {
    const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--manifest', backup, ...destination])
    assert.equal(result.exitCode, 4, result.stderr)
    assert.match(result.stderr, /its checkpoint 5242882 lies past LSN 25, where timeline 2 forked from its timeline 1/)
  }
  assert.ok(!existsSync(target))
  assert.ok(!existsSync(path.join(dir, 'data.rebootstrap.ready')))
  // The history that counts is the one of the layout the manifest lies in, whatever --data-path names.
  const elsewhere = path.join(await scratch.dir(), 'new-replica.rdb')
  assert.equal((await runCli(['basebackup', 'materialize', '--data-path', elsewhere, '--manifest', backup, '--rebootstrap'])).exitCode, 4)
  const forced = await runCli(['basebackup', 'materialize', '--data-path', data, '--manifest', backup, '--to', target, '--force'])
  assert.equal(forced.exitCode, 0, forced.stderr)
  assert.match(forced.stderr, /^redrepl: warning: .*lies past LSN 25/)
})

test('materialize accepts a backup of the parent timeline taken before the fork', async () => {
  const {data, dir} = await primary()
  const snapshot = path.join(dir, 'snap.bin')
  writeFileSync(snapshot, 'RDST-before-the-fork')
  const made = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', snapshot, '--checkpoint-lsn', '20', '--json']))
  assert.equal((await promote(data, '--replica', 'replica-a', '--applied-lsn', '25', '--max-lag-lsn', '9999999', '--expect-timeline', '1')).exitCode, 0)
  const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--manifest', String(made.manifest_path), '--to', path.join(dir, 'ok.rdb')])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.equal(result.stderr, '')
})

test('basebackup create on a layout that already holds that backup: same bytes exit 0, other bytes explained and refused', async () => {
  const {data, backup, dir} = await primary()
  const before = readFileSync(backup)
  const same = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--json']))
  assert.deepEqual([same.already_existed, same.manifest_path], [true, backup])
  const snapshot = path.join(dir, 'other.bin')
  writeFileSync(snapshot, 'RDST-other-bytes')
  const other = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', snapshot])
  assert.equal(other.exitCode, 4)
  assert.match(other.stderr, /already exists with other snapshot bytes \(it holds 9004 bytes, CRC 0x[0-9a-f]{8}, timeline 1; this snapshot is 16 bytes/)
  assert.match(other.stderr, /--checkpoint-lsn/)
  assert.deepEqual(readFileSync(backup), before)
})

test('two backups at the same checkpoint: the higher start LSN is chosen and the other named', async () => {
  const {data, dir} = await primary()
  const snapshot = path.join(dir, 'snap.bin')
  writeFileSync(snapshot, 'RDST-tie')
  for (const start of ['3', '7', '5']) {
    assert.equal((await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', snapshot, '--checkpoint-lsn', '6000000', '--start-lsn', start])).exitCode, 0)
  }
  const restored = jsonOf(await runCli(['basebackup', 'materialize', '--data-path', data, '--checkpoint-lsn', '6000000', '--to', path.join(dir, 'tie.rdb'), '--json']))
  assert.match(String(restored.manifest_path), /base-00000000000000000007-00000000000006000000\.redbase$/)
  assert.equal((restored.passed_over_same_checkpoint as string[]).length, 2)
  const plan = jsonOf(await runCli(['catchup', 'plan', '--data-path', data, '--replica-lsn', '0', '--available-from-lsn', '10', '--json']))
  assert.match(String((plan.selected_basebackup as any).path), /base-00000000000000000007-00000000000006000000\.redbase$/)
  assert.deepEqual((plan.passed_over_same_checkpoint as string[]).map((file) => path.basename(file)).sort(), [
    'base-00000000000000000003-00000000000006000000.redbase',
    'base-00000000000000000005-00000000000006000000.redbase',
  ])
})
