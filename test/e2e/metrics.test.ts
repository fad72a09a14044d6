import assert from 'node:assert/strict'
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'

import parsePrometheusTextFormat from 'parse-prometheus-text-format'

import {slotCatalogCodec} from '../../src/core/format/slot-catalog.js'
import type {ReplicationSlot} from '../../src/core/model.js'
import {METRICS, type MetricSpec} from '../../src/ui/metrics.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {closePrimaryBasicHole} from '../support/wal-node.js'
import {T1} from '../support/layout-node.js'

const scratch = useScratch()

const MANIFEST = path.join(T1, 'basebackup', 'base-00000000000000000000-00000000000005242882.redbase')

async function node() {
  const dir = await scratch.layout('primary-basic')
  closePrimaryBasicHole(dir)
  const seconds = (Number(NOW_MS) - 7_200_000) / 1000
  utimesSync(path.join(dir, MANIFEST), seconds, seconds)
  return {dir, data: path.join(dir, 'data.rdb')}
}

/** Parsed by a real exposition-format parser, as family name → samples. */
function parse(text: string) {
  const families = parsePrometheusTextFormat(text)
  return new Map(families.map((family) => [family.name, family]))
}

/** A sample's value by its own labels; node and cluster, on every sample, are checked apart. */
const sample = (families: ReturnType<typeof parse>, name: string, labels: Record<string, string> = {}) =>
  families.get(name)?.metrics.find((m) => {
    const {node: _node, cluster: _cluster, ...own} = m.labels ?? {}
    return JSON.stringify(own) === JSON.stringify(labels)
  })?.value

test('metrics on stdout parse with a real exposition-format parser; every family is declared in the table, with HELP and TYPE', async () => {
  const {data} = await node()
  const result = await runCli(['metrics', '--data-path', data])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.equal(result.stderr, '')
  const families = parse(result.stdout)
  const declared = new Map<string, MetricSpec>(Object.values(METRICS).map((m) => [m.name, m]))
  for (const [name, family] of families) {
    const spec = declared.get(name)
    assert.ok(spec, `${name} is not in METRICS`)
    assert.equal(family.type, 'GAUGE')
    assert.equal(family.help, spec.help)
    for (const m of family.metrics) assert.deepEqual(Object.keys(m.labels ?? {}).sort(), [...spec.labels, 'node', 'cluster'].sort(), name)
  }
  assert.equal(sample(families, 'redrepl_scrape_success'), '1')
  assert.equal(sample(families, 'redrepl_check_status'), '1', 'WARNING: replica-c is invalidated')
  assert.equal(sample(families, 'redrepl_timeline_current'), '1')
  assert.equal(sample(families, 'redrepl_wal_head_lsn'), '5242882')
  assert.equal(sample(families, 'redrepl_wal_segments'), '6')
  assert.equal(sample(families, 'redrepl_wal_retained_bytes'), '5965')
  assert.equal(sample(families, 'redrepl_slot_lag_lsn', {replica: 'replica-b', source: 'catalog'}), '3145720')
  assert.equal(sample(families, 'redrepl_slot_active', {replica: 'replica-c', source: 'catalog'}), '0')
  assert.equal(sample(families, 'redrepl_slot_invalidated', {replica: 'replica-c', source: 'catalog'}), '1')
  assert.equal(sample(families, 'redrepl_slot_last_seen_timestamp_seconds', {replica: 'replica-a', source: 'catalog'}), '1699999998.000')
  assert.equal(sample(families, 'redrepl_basebackup_count'), '1')
  assert.equal(sample(families, 'redrepl_basebackup_last_completed_timestamp_seconds'), '1699992800.000', 'the manifest\'s mtime')
  assert.equal(sample(families, 'redrepl_basebackup_last_checkpoint_timestamp_seconds'), '1699992800.000', 'the former name, kept until 0.3')
  assert.equal(sample(families, 'redrepl_basebackup_last_checkpoint_lsn'), '5242882')
  assert.equal(sample(families, 'redrepl_check_findings', {code: 'slot.invalidated', severity: 'warning'}), '1')
  assert.match(sample(families, 'redrepl_scrape_duration_seconds') ?? '', /^\d+\.\d{3}$/)
  const duration = Number(sample(families, 'redrepl_scrape_duration_seconds'))
  assert.ok(duration > 0 && duration < 30, String(duration))
})

test('metric names follow redrepl_<area>_<what>[_<unit>], are unique, and label names are valid', () => {
  const names = Object.values(METRICS).map((m) => m.name)
  assert.equal(new Set(names).size, names.length)
  for (const m of Object.values(METRICS)) {
    assert.match(m.name, /^redrepl_[a-z]+(_[a-z]+)+$/)
    for (const label of m.labels) assert.match(label, /^[a-z][a-z_]*$/)
    assert.ok(m.help.length > 10)
  }
})

test('u64 values print exactly, and label values are escaped so any replica id survives the round trip', async () => {
  const {dir, data} = await node()
  const created = await runCli(['basebackup', 'create', '--data-path', data, '--snapshot', '-', '--snapshot-bytes', '4', '--checkpoint-lsn', '18446744073709551615'], {input: 'RDST'})
  assert.equal(created.exitCode, 0, created.stderr)
  const hostile = 'a"b\\c\nd'
  const slot: ReplicationSlot = {
    replica_id: hostile,
    restart_lsn: 2n,
    confirmed_write_lsn: 5n,
    confirmed_flush_lsn: 5n,
    confirmed_apply_lsn: 2n,
    active: true,
    last_seen_at_unix_ms: 18446744073709551615n,
    invalidation_reason: null,
    invalidated_at_unix_ms: null,
  }
  writeFileSync(path.join(dir, T1, 'replication-slots.redslots'), slotCatalogCodec.encode({timeline: 1n, slots: [slot]}, {nowMs: NOW_MS}))
  const result = await runCli(['metrics', '--data-path', data])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.ok(/^redrepl_basebackup_last_checkpoint_lsn\{[^}]*\} 18446744073709551615$/m.test(result.stdout), 'all the digits, not 18446744073709552000')
  const families = parse(result.stdout)
  assert.equal(sample(families, 'redrepl_basebackup_last_checkpoint_lsn'), '18446744073709551615')
  assert.equal(sample(families, 'redrepl_slot_lag_lsn', {replica: hostile, source: 'catalog'}), '5242880')
  assert.equal(sample(families, 'redrepl_slot_last_seen_timestamp_seconds', {replica: hostile, source: 'catalog'}), '18446744073709551.615')
})

test('--textfile replaces the file atomically: a crash at any step leaves the old file or the new one, whole, and no temp the collector reads', async () => {
  const {data} = await node()
  const dir = await scratch.dir('redrepl-textfile-')
  const target = path.join(dir, 'redrepl.prom')
  const old = '# HELP old_metric from an earlier run\n# TYPE old_metric gauge\nold_metric 1\n'
  for (const point of ['after-temp-write', 'after-temp-fsync']) {
    writeFileSync(target, old)
    const killed = await runCli(['metrics', '--data-path', data, '--textfile', target], {env: {REDREPL_CRASH_AT: `metrics-textfile:${point}`}})
    assert.notEqual(killed.exitCode, 0, point)
    assert.equal(readFileSync(target, 'utf8'), old, `${point}: the old file, untouched`)
    assert.ok(readdirSync(dir).every((name) => name === 'redrepl.prom' || !name.endsWith('.prom')), `${point}: nothing else the collector would read`)
  }
  const renamed = await runCli(['metrics', '--data-path', data, '--textfile', target], {env: {REDREPL_CRASH_AT: 'metrics-textfile:after-rename'}})
  assert.notEqual(renamed.exitCode, 0)
  assert.equal(sample(parse(readFileSync(target, 'utf8')), 'redrepl_scrape_success'), '1', 'after the rename: the new file, whole')

  const inode = lstatSync(target).ino
  const clean = await runCli(['metrics', '--data-path', data, '--textfile', target])
  assert.equal(clean.exitCode, 0, clean.stderr)
  assert.equal(clean.stdout, '', 'nothing on stdout with --textfile')
  assert.notEqual(lstatSync(target).ino, inode, 'replaced by rename, not rewritten in place')
  assert.deepEqual(readdirSync(dir), ['redrepl.prom'])
  const stdout = await runCli(['metrics', '--data-path', data])
  const strip = (text: string) => text.replace(/^redrepl_scrape_duration_seconds\{.*$/m, '')
  assert.equal(strip(readFileSync(target, 'utf8')), strip(stdout.stdout), 'the same exposition as on stdout')
})

test('a reader polling the textfile while it is rewritten always sees a whole file', async () => {
  const {data} = await node()
  const dir = await scratch.dir('redrepl-textfile-')
  const target = path.join(dir, 'redrepl.prom')
  assert.equal((await runCli(['metrics', '--data-path', data, '--textfile', target])).exitCode, 0)
  let reads = 0
  let writing = true
  const reader = (async () => {
    while (writing) {
      const text = readFileSync(target, 'utf8')
      assert.match(text, /\nredrepl_layout_artifacts_checked\{[^}]*\} \d+\n$/, `read ${reads}: a partial file`)
      assert.equal(sample(parse(text), 'redrepl_scrape_success'), '1')
      reads++
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  for (let i = 0; i < 4; i++) assert.equal((await runCli(['metrics', '--data-path', data, '--textfile', target])).exitCode, 0)
  writing = false
  await reader
  assert.ok(reads > 10, `only ${reads} reads`)
})

test('--textfile refuses what the collector cannot use, and a failed run leaves success 0 instead of a stale healthy file', async () => {
  const {dir, data} = await node()
  const out = await scratch.dir('redrepl-textfile-')
  const wrongName = await runCli(['metrics', '--data-path', data, '--textfile', path.join(out, 'redrepl.txt')])
  assert.equal(wrongName.exitCode, 2)
  assert.match(wrongName.stderr, /reads only \*\.prom files/)
  const noDir = await runCli(['metrics', '--data-path', data, '--textfile', path.join(out, 'missing', 'redrepl.prom')])
  assert.equal(noDir.exitCode, 6)
  const elsewhere = path.join(out, 'elsewhere')
  writeFileSync(elsewhere, 'keep me')
  symlinkSync(elsewhere, path.join(out, 'link.prom'))
  const link = await runCli(['metrics', '--data-path', data, '--textfile', path.join(out, 'link.prom')])
  assert.equal(link.exitCode, 4)
  assert.equal(readFileSync(elsewhere, 'utf8'), 'keep me')
  mkdirSync(path.join(out, 'dir.prom'))
  assert.equal((await runCli(['metrics', '--data-path', data, '--textfile', path.join(out, 'dir.prom')])).exitCode, 4)

  const target = path.join(out, 'redrepl.prom')
  assert.equal((await runCli(['metrics', '--data-path', data, '--textfile', target])).exitCode, 0)
  const failed = await runCli(['metrics', '--data-path', path.join(dir, 'typo.rdb'), '--textfile', target])
  assert.equal(failed.exitCode, 6)
  assert.match(failed.stderr, /^redrepl: no RedDB layout/)
  const families = parse(readFileSync(target, 'utf8'))
  assert.equal(sample(families, 'redrepl_scrape_success'), '0')
  assert.equal(sample(families, 'redrepl_check_status'), '3')
  assert.equal(families.has('redrepl_wal_retained_bytes'), false, 'no stale node metrics')
  assert.ok(existsSync(target))
})

test('every sample carries node and cluster labels, so two nodes on one host never merge into one series', async () => {
  const one = await node()
  const two = await node()
  const config = path.join(two.dir, 'redrepl.conf')
  writeFileSync(config, `[defaults]\ncluster = "prod-eu"\n[node.db1]\ndata-path = "${one.data}"\n[node.db2]\ndata-path = "${two.data}"\n`)
  const texts = await Promise.all(['db1', 'db2'].map(async (name) => {
    const result = await runCli(['metrics', '--node', name], {env: {REDREPL_CONFIG: config}})
    assert.equal(result.exitCode, 0, result.stderr)
    return result.stdout
  }))
  const series = new Set<string>()
  for (const [i, text] of texts.entries()) {
    for (const family of parsePrometheusTextFormat(text)) {
      for (const m of family.metrics) {
        assert.equal(m.labels?.node, `db${i + 1}`, family.name)
        assert.equal(m.labels?.cluster, 'prod-eu', family.name)
        const key = `${family.name}${JSON.stringify(m.labels)}`
        assert.ok(!series.has(key), `${key} appears in both files`)
        series.add(key)
      }
    }
  }
  const bare = await runCli(['metrics', '--data-path', one.data])
  const host = parse(bare.stdout).get('redrepl_scrape_success')?.metrics[0].labels
  assert.deepEqual(host, {node: os.hostname().split('.')[0], cluster: ''}, 'without --node: the host name; without a cluster: empty, no label to Prometheus')
})
