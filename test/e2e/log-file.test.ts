import assert from 'node:assert/strict'
import {readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {formatLogLine} from '../../src/ui/log-file.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z pid=\d+ [a-z-]+ (DEBUG|INFO|WARN|ERROR) \S+/

test('--log-file appends one timestamped line per event: start, what was removed, the outcome', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const logFile = path.join(dir, 'redrepl.log')
  writeFileSync(logFile, 'an older line\n')
  const pruned = jsonOf(await runCli(['wal', 'prune', '--data-path', data, '--segment-bytes', '1MiB', '--min-segments', '1', '--log-file', logFile, '--json']))
  assert.equal((pruned.removed_segments as any[]).length, 2, 'stdout still carries only the JSON document')
  const refused = await runCli(['timeline', 'promote', '--data-path', path.join(dir, 'typo.rdb'), '--replica', 'replica-a', '--applied-lsn', '1', '--log-file', logFile])
  assert.equal(refused.exitCode, 6)
  const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
  assert.equal(lines[0], 'an older line')
  for (const line of lines.slice(1)) assert.match(line, LINE)
  const events = lines.slice(1).map((line) => line.split(' ').slice(2, 5).join(' '))
  assert.deepEqual(events, [
    'wal-prune INFO start',
    'wal-prune INFO removed',
    'wal-prune INFO removed',
    'wal-prune INFO done',
    'timeline-promote INFO start',
    'timeline-promote ERROR not-found',
  ])
  assert.match(lines[2], / path=\/\S+00000000000000000000\.redwal segment=0 bytes=\d+$/)
  assert.match(lines.at(-1)!, /message="no RedDB layout at .*typo\.primary-replica.*" exit=6$/)
})

test('--log-level warn keeps only warnings and errors; a log file behind a symlink is refused', async () => {
  const dir = await scratch.layout('primary-basic')
  const data = path.join(dir, 'data.rdb')
  const logFile = path.join(dir, 'quiet.log')
  assert.equal((await runCli(['slots', 'show', '--data-path', data, '--log-file', logFile, '--log-level', 'warn'])).exitCode, 0)
  assert.equal(readFileSync(logFile, 'utf8'), '')
  const target = path.join(dir, 'target')
  writeFileSync(target, 'keep me\n')
  symlinkSync(target, path.join(dir, 'link.log'))
  const linked = await runCli(['slots', 'show', '--data-path', data, '--log-file', path.join(dir, 'link.log')])
  assert.equal(linked.exitCode, 2)
  assert.match(linked.stderr, /link\.log: cannot open the log file: is a symbolic link/)
  assert.equal(readFileSync(target, 'utf8'), 'keep me\n')
})

test('log values with spaces or quotes are quoted so each line parses back', () => {
  const line = formatLogLine(new Date(0), 7, 'wal-prune', 'info', 'removed', {path: '/a b/c"d', bytes: 5n, note: null})
  assert.equal(line, '1970-01-01T00:00:00.000Z pid=7 wal-prune INFO removed path="/a b/c\\"d" bytes=5 note=-\n')
})
