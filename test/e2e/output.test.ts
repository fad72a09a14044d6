import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {execa} from 'execa'

import {repoRoot} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {layoutIn, primaryCopy} from '../support/layout-node.js'

const scratch = useScratch()
const ESC = '\u001B'
/** Every check runs as a developer runs it and as CI does (CI=true changes how ora and colour libraries behave). */
const ENVIRONMENTS: Array<Record<string, string | undefined>> = [{CI: undefined}, {CI: 'true'}]

const primary = () => primaryCopy(scratch)

const tsvLines = (stdout: string) => {
  assert.ok(stdout.endsWith('\n'), 'TSV ends with a newline')
  return stdout.slice(0, -1).split('\n')
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), after `stty` sizes it. */
async function onTerminal(stty: string, args: string[], env: Record<string, string | undefined>): Promise<string> {
  const command = [process.execPath, path.join(repoRoot, 'bin', 'run.js'), ...args].map((word) => `'${word}'`).join(' ')
  const result = await execa('script', ['-qec', `${stty}; ${command}`, '/dev/null'], {stdin: 'ignore', reject: false, timeout: 30_000, env: {REDREPL_NOW_MS: '1700000000000', NO_COLOR: undefined, FORCE_COLOR: undefined, ...env}})
  assert.equal(result.exitCode, 0, String(result.stdout).slice(-500))
  return String(result.stdout)
}

test('--output tsv: a header line and tab-separated rows of every column, no decoration, for slots show, layout verify and basebackup list', async () => {
  const {dir, data} = await primary()
  const slots = await runCli(['slots', 'show', '--data-path', data, '--output', 'tsv'])
  assert.equal(slots.exitCode, 0, slots.stderr)
  const [head, ...rows] = tsvLines(slots.stdout)
  const columns = head.split('\t')
  assert.deepEqual(columns, ['replica_id', 'holds_floor', 'active', 'restart_lsn', 'confirmed_write_lsn', 'confirmed_flush_lsn', 'confirmed_apply_lsn', 'lag_lsn', 'last_seen_at_unix_ms', 'invalidation_reason', 'invalidated_at_unix_ms', 'source'])
  assert.equal(rows.length, 3)
  for (const row of rows) assert.equal(row.split('\t').length, columns.length, row)
  assert.deepEqual(rows.map((row) => row.split('\t')[0]), ['replica-a', 'replica-b', 'replica-c'])
  assert.equal(rows[1].split('\t')[1], 'true')
  assert.deepEqual(rows.map((row) => row.split('\t')[2]), ['true', 'true', 'false'], 'one spelling for booleans in TSV: the JSON value, never yes/no')
  assert.doesNotMatch(slots.stdout, /[│┌└─]|timeline 1|holds the retention floor/)

  const backups = await runCli(['basebackup', 'list', '--data-path', data, '-o', 'tsv'])
  const [backupHead, backup] = tsvLines(backups.stdout)
  assert.equal(backupHead, 'checkpoint_lsn\tstart_lsn\ttimeline\tcreated_unix_ms\tage_ms\tsize_bytes\tchunks\tusable\tmanifest_path')
  const fields = Object.fromEntries(backupHead.split('\t').map((name, index) => [name, backup.split('\t')[index]]))
  assert.equal(fields.checkpoint_lsn, '5242882')
  assert.equal(fields.usable, 'true')
  assert.match(fields.size_bytes, /^\d+$/, 'sizes are exact bytes, not "8.8 KiB"')
  assert.equal(fields.manifest_path, layoutIn(dir).basebackupManifestPath(1n, 0n, 5242882n))

  writeFileSync(layoutIn(dir).slotCatalogPath(1n), 'garbage')
  const verify = await runCli(['layout', 'verify', '--data-path', data, '--output=tsv'])
  assert.equal(verify.exitCode, 3, 'the exit code still tells monitoring')
  const [verifyHead, ...findings] = tsvLines(verify.stdout)
  assert.equal(verifyHead, 'path\tcode\tseverity\tmessage')
  assert.deepEqual(findings.map((line) => line.split('\t').slice(1, 3)).find(([code]) => code === 'artifact.corrupt'), ['artifact.corrupt', 'error'])
  assert.ok(findings.some((line) => line.split('\t')[2] === 'note'), 'notes are rows too')
  for (const line of findings) assert.equal(line.split('\t').length, 4, line)
})

test('a command with no table prints field/value TSV lines of its JSON document', async () => {
  const {data} = await primary()
  const relay = await runCli(['relay', 'show', '--data-path', data, '--replica', 'replica-a', '--output', 'tsv'])
  assert.equal(relay.exitCode, 0, relay.stderr)
  const lines = tsvLines(relay.stdout)
  assert.equal(lines[0], 'field\tvalue')
  assert.ok(lines.includes('manifest.applied_lsn\t40'), relay.stdout)
  assert.ok(lines.includes('consistent\ttrue'))
  for (const line of lines) assert.equal(line.split('\t').length, 2, line)
})

test('--output json prints exactly what --json prints; --json with another --output is a usage error (exit 2)', async () => {
  const {data} = await primary()
  for (const args of [['slots', 'show'], ['layout', 'verify'], ['basebackup', 'list'], ['wal', 'plan']]) {
    const json = await runCli([...args, '--data-path', data, '--json'])
    const output = await runCli([...args, '--data-path', data, '--output', 'json'])
    assert.equal(output.stdout, json.stdout, args.join(' '))
    assert.equal(output.exitCode, json.exitCode)
    assert.equal((await runCli([...args, '--data-path', data, '--json', '--output', 'json'])).stdout, json.stdout)
  }
  for (const output of ['tsv', 'wide', 'human']) {
    const result = await runCli(['slots', 'show', '--data-path', data, '--json', '--output', output])
    assert.equal(result.exitCode, 2)
    assert.equal(result.stdout, '')
    assert.equal(result.stderr, `redrepl: --json and --output ${output} contradict each other; pass one of them (see: redrepl slots show --help)\n`)
  }
  const metrics = await runCli(['metrics', '--data-path', data, '--output', 'json'])
  assert.equal(metrics.exitCode, 2, 'metrics prints the Prometheus format only')
  const bogus = await runCli(['slots', 'show', '--data-path', data, '--output', 'yaml'])
  assert.equal(bogus.exitCode, 2)
})

test('check: --output tsv gives field/value lines, also for an UNKNOWN that stops the check before its flags are read', async () => {
  const {data} = await primary()
  const ok = await runCli(['check', '--data-path', data, '--output', 'tsv'])
  assert.ok(tsvLines(ok.stdout).includes(`status\t${readStatus(ok.exitCode)}`), ok.stdout)
  const unknown = await runCli(['check', '--data-path', data, '--output', 'tsv', '--warning-slot-lag', 'lots'])
  assert.equal(unknown.exitCode, 3)
  assert.equal(tsvLines(unknown.stdout)[1], 'status\tUNKNOWN')
})

const readStatus = (exitCode: number) => ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'][exitCode]

test('a piped table fits 80 columns, or COLUMNS, hiding columns with a footer; --output wide shows every column', async () => {
  const {data} = await primary()
  const widest = (stdout: string) => Math.max(...stdout.split('\n').map((line) => [...line].length))
  const piped = await runCli(['slots', 'show', '--data-path', data])
  const table = piped.stdout.split('\n').filter((line) => /^[│┌└]/.test(line))
  assert.ok(Math.max(...table.map((line) => [...line].length)) <= 80, piped.stdout)
  assert.match(piped.stdout, /^\d+ columns? hidden \(.*\); --output wide shows all$/m)
  const narrow = await runCli(['slots', 'show', '--data-path', data], {env: {COLUMNS: '60'}})
  const narrowTable = narrow.stdout.split('\n').filter((line) => /^[│┌└]/.test(line))
  assert.ok(Math.max(...narrowTable.map((line) => [...line].length)) <= 60, narrow.stdout)
  assert.ok(narrowTable[0].length < table[0].length)
  const wide = await runCli(['slots', 'show', '--data-path', data, '--output', 'wide'])
  assert.doesNotMatch(wide.stdout, /hidden/)
  for (const header of ['restart', 'write', 'flush', 'apply', 'last seen', 'invalidated', 'source']) assert.match(wide.stdout, new RegExp(`│ ${header} `))
  assert.ok(widest(wide.stdout) > 80)
})

test('on a terminal a table fits its width; colour is on there, off under TERM=dumb or FORCE_COLOR=0, and FORCE_COLOR=1 colours a pipe', async () => {
  const {data} = await primary()
  for (const env of ENVIRONMENTS) {
    const label = JSON.stringify(env)
    const sized = await onTerminal('stty cols 70 rows 30', ['slots', 'show', '--data-path', data], env)
    const tableLines = sized.split(/\r?\n/).filter((line) => line.includes('│'))
    assert.ok(tableLines.length > 0, sized)
    for (const line of tableLines) assert.ok([...line.replace(/\u001B\[[0-9;]*m/g, '')].length <= 70, `${label}: ${line}`)
    assert.ok(sized.includes(ESC), `${label}: a terminal gets colour`)
    for (const off of [{TERM: 'dumb'}, {FORCE_COLOR: '0'}, {NO_COLOR: '1'}]) {
      const plain = await onTerminal('stty cols 200 rows 30', ['slots', 'show', '--data-path', data], {...env, ...off})
      assert.ok(!plain.includes(ESC), `${label} ${JSON.stringify(off)}: ${JSON.stringify(plain.slice(0, 200))}`)
    }
    const {data: backupNode, dir} = await primary()
    rmSync(layoutIn(dir).basebackupDir(1n), {recursive: true})
    const dumb = await onTerminal('stty cols 100 rows 30', ['basebackup', 'create', '--data-path', backupNode, '--from', backupNode], {...env, TERM: 'dumb'})
    assert.match(dumb, /base backup at checkpoint 5242882/)
    assert.ok(!dumb.includes(ESC), `${label}: the spinner never animates (nor hides the cursor) under TERM=dumb: ${JSON.stringify(dumb.slice(0, 300))}`)
    const forced = await runCli(['slots', 'show', '--data-path', data], {env: {...env, NO_COLOR: undefined, FORCE_COLOR: '1'}})
    assert.ok(forced.stdout.includes(ESC), `${label}: FORCE_COLOR=1 colours a pipe`)
    const unforced = await runCli(['slots', 'show', '--data-path', data], {env: {...env, NO_COLOR: undefined}})
    assert.ok(!unforced.stdout.includes(ESC), `${label}: a pipe gets no colour`)
    const tsv = await runCli(['slots', 'show', '--data-path', data, '--output', 'tsv'], {env: {...env, NO_COLOR: undefined, FORCE_COLOR: '1'}})
    assert.ok(!tsv.stdout.includes(ESC), `${label}: TSV is never coloured`)
  }
})

test('--progress with stderr to a file: plain lines with bytes, percentage and rate, no carriage return or escape code; none with --json or without --progress', async () => {
  const dir = await scratch.dir('redrepl-progress-')
  const snapshot = path.join(dir, 'snapshot.bin')
  writeFileSync(snapshot, Buffer.concat([Buffer.from('RDST'), randomBytes(4 << 20)]))
  for (const env of ENVIRONMENTS) {
    const run = async (extra: string[], name: string) => {
      const {data} = await primary()
      const log = path.join(dir, `${name}-${env.CI ?? 'local'}.log`)
      const args = [path.join(repoRoot, 'bin', 'run.js'), 'basebackup', 'create', '--data-path', data, '--snapshot', snapshot, '--checkpoint-lsn', '6000000', '--chunk-size', '256KiB', ...extra]
      const result = await execa(process.execPath, args, {stdin: 'ignore', stderr: {file: log}, reject: false, env: {NO_COLOR: undefined, REDREPL_NOW_MS: '1700000000000', ...env}})
      assert.equal(result.exitCode, 0, readFileSync(log, 'utf8'))
      return {stdout: String(result.stdout), stderr: readFileSync(log, 'utf8')}
    }
    const plain = await run(['--progress'], 'human')
    const lines = plain.stderr.split('\n').filter(Boolean)
    assert.ok(lines.length >= 2, plain.stderr)
    for (const line of lines) assert.match(line, /^basebackup create: [\d.]+ (B|KiB|MiB) of 4\.0 MiB \(\d+ %\)( at [\d.]+ [KMG]?i?B\/s)?(, ETA \d+ s)?$/)
    assert.match(lines.at(-1)!, /\(100 %\)/)
    assert.doesNotMatch(plain.stderr, /[\r\u001B]/)
    assert.doesNotMatch(plain.stdout, /basebackup create:/, 'progress never goes to stdout')
    assert.equal((await run(['--progress', '--json'], 'json')).stderr, '')
    assert.equal((await run(['--progress', '--output', 'tsv'], 'tsv')).stderr, '')
    assert.equal((await run([], 'quiet')).stderr, '')
  }
})
