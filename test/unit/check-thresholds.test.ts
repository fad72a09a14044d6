import assert from 'node:assert/strict'
import {test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {DEFAULT_THRESHOLDS} from '../../src/core/ops/monitoring/check.js'
import {formatDuration} from '../../src/core/units.js'
import {thresholdsFromFlags} from '../../src/ui/check-flags.js'
import {parseCount, parseDuration} from '../../src/ui/numbers.js'

const usage = (run: () => unknown) => assert.throws(run, (error: unknown) => error instanceof RedreplError && error.kind === 'usage')

test('durations: units, compounds, bare seconds; anything else is a usage error', () => {
  assert.equal(parseDuration('36h', 'x'), 129_600_000n)
  assert.equal(parseDuration('7d', 'x'), 604_800_000n)
  assert.equal(parseDuration('1h30m', 'x'), 5_400_000n)
  assert.equal(parseDuration('1w', 'x'), 604_800_000n)
  assert.equal(parseDuration('250ms', 'x'), 250n)
  assert.equal(parseDuration('90', 'x'), 90_000n)
  assert.equal(parseDuration(' 2D ', 'x'), 172_800_000n)
  for (const bad of ['', 'h', '1.5h', '-1h', '1y', '1h 30m', '30m1', 'soon']) usage(() => parseDuration(bad, 'x'))
  usage(() => parseDuration('99999999999999999999d', 'x'))
})

test('counts take binary suffixes; sizes past 2^64-1 are refused', () => {
  assert.equal(parseCount('1000', 'x'), 1000n)
  assert.equal(parseCount('64Mi', 'x'), 67_108_864n)
  assert.equal(parseCount('64M', 'x'), 67_108_864n)
  assert.equal(parseCount('1Gi', 'x'), 1_073_741_824n)
  for (const bad of ['', '1.5', '-1', '1MB', 'lots']) usage(() => parseCount(bad, 'x'))
  usage(() => parseCount('16777216T', 'x'))
})

test('a duration reads back as it was given where it can', () => {
  assert.equal(formatDuration(129_600_000n), '36h')
  assert.equal(formatDuration(604_800_000n), '7d')
  assert.equal(formatDuration(5_400_000n), '90m')
  assert.equal(formatDuration(0n), '0s')
  assert.equal(formatDuration(129_601_234n), '1.5d')
})

test('thresholds: a flag overrides its default, off turns it off, a warning above its critical is refused', () => {
  assert.deepEqual(thresholdsFromFlags({}), DEFAULT_THRESHOLDS)
  const set = thresholdsFromFlags({'critical-wal-bytes': 'off', 'warning-basebackup-age': 1000n})
  assert.deepEqual(set.wal_retained_bytes, {warning: DEFAULT_THRESHOLDS.wal_retained_bytes.warning, critical: null})
  assert.deepEqual(set.basebackup_age_ms, {warning: 1000n, critical: DEFAULT_THRESHOLDS.basebackup_age_ms.critical})
  assert.deepEqual(thresholdsFromFlags({'warning-wal-segments': 5n, 'critical-wal-segments': 5n}).wal_segments, {warning: 5n, critical: 5n})
  usage(() => thresholdsFromFlags({'warning-wal-segments': 6n, 'critical-wal-segments': 5n}))
  usage(() => thresholdsFromFlags({'critical-basebackup-age': 3_600_000n}))
  assert.deepEqual(thresholdsFromFlags({'critical-basebackup-age': 3_600_000n, 'warning-basebackup-age': 'off'}).basebackup_age_ms, {warning: null, critical: 3_600_000n})
})
