import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {RedreplError} from '../../src/core/errors.js'
import {compareExpirePlans, decodeSavedExpirePlan, expirePlanDocument, savedExpirePlan, type FreshExpirePlan} from '../../src/core/plan/saved-basebackup-expire-plan.js'
import {compareWalPlans, decodeSavedWalPlan, savedWalPlan, type FreshWalPlan, type WalPlanInputs} from '../../src/core/plan/saved-wal-plan.js'

const HISTORY = 'a'.repeat(64)

const inputs = (overrides: Partial<WalPlanInputs> = {}): WalPlanInputs => ({
  history_sha256: HISTORY,
  segment_bytes: 1_048_576n,
  policy: {min_segments: 2n, max_bytes: 0n, keep_until_replicas_ack: true},
  fork_lsns: [],
  catalog_timeline_adopted: false,
  slots: [
    {replica_id: 'replica-a', active: true, floor_lsn: 9_000_000n},
    {replica_id: 'replica-b', active: true, floor_lsn: 3_200_000n},
  ],
  segments: Array.from({length: 8}, (_, i) => ({index: BigInt(i), bytes: 1000n + BigInt(i), header_crc32: 100 + i})),
  ...overrides,
})

/** Segments below `releasedBelow` are released, the rest kept. */
const fresh = (releasedBelow: number, overrides: Partial<FreshWalPlan> = {}, inputOverrides: Partial<WalPlanInputs> = {}): FreshWalPlan => {
  const made = inputs(inputOverrides)
  return {
    root_path: '/srv/data.primary-replica',
    timeline: 1n,
    inputs: made,
    verdicts: made.segments.map((s) => (s.index < BigInt(releasedBelow) ? {index: s.index, action: 'remove' as const, reason: 'released below the window'} : {index: s.index, action: 'keep' as const, reason: 'slot floor (replica-b, LSN 3200000)'})),
    ...overrides,
  }
}

const saved = savedWalPlan({data_path: '/srv/data.rdb', root_path: '/srv/data.primary-replica', timeline: 1n, current_lsn: 7_400_000n, inputs: inputs(), removable: [0n, 1n, 2n]})

test('an unchanged layout applies the plan, fingerprint and all', () => {
  assert.deepEqual(compareWalPlans(saved, fresh(3)), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
})

test('a fresh plan that releases more applies, and says which segments it leaves', () => {
  const moved = inputs().slots!.map((slot) => (slot.replica_id === 'replica-b' ? {...slot, floor_lsn: 5_300_000n} : slot))
  const result = compareWalPlans(saved, fresh(5, {}, {slots: moved}))
  assert.deepEqual(result, {applies: true, fingerprint_matches: false, input_changes: ['slot replica-b advanced (LSN 3200000 → 5300000)'], more_released: [3n, 4n]})
})

test('a segment that changed size, was rewritten or is gone refuses, naming it', () => {
  const segments = inputs().segments.map((s) => (s.index === 1n ? {...s, bytes: 5n} : s.index === 2n ? {...s, header_crc32: 7} : s)).filter((s) => s.index !== 0n)
  const result = compareWalPlans(saved, fresh(3, {}, {segments}))
  assert.equal(result.applies, false)
  assert.deepEqual(!result.applies && result.changes, [
    'segment 00000000000000000000 is gone',
    'segment 00000000000000000001 changed size (1001 → 5 bytes)',
    'segment 00000000000000000002 was rewritten (header CRC 0x00000066 → 0x00000007)',
  ])
})

test('a saved segment the fresh plan keeps refuses, with the slot that moved', () => {
  const moved = inputs().slots!.map((slot) => (slot.replica_id === 'replica-b' ? {...slot, floor_lsn: 1_500_000n} : slot))
  const result = compareWalPlans(saved, fresh(1, {}, {slots: moved}))
  assert.equal(result.applies, false)
  const changes = !result.applies ? result.changes : []
  assert.ok(changes.includes('segment 00000000000000000001 is kept now (slot floor (replica-b, LSN 3200000))'), changes.join('\n'))
  assert.ok(changes.includes('slot replica-b regressed (LSN 3200000 → 1500000)'), changes.join('\n'))
})

test('a changed history is named; a history change that moves no saved segment still applies', () => {
  const stillFine = compareWalPlans(saved, fresh(3, {}, {history_sha256: 'b'.repeat(64)}))
  assert.deepEqual(stillFine, {applies: true, fingerprint_matches: false, input_changes: ['history changed'], more_released: []})
  const blocked = compareWalPlans(saved, fresh(2, {}, {history_sha256: 'b'.repeat(64)}))
  assert.equal(blocked.applies, false)
  assert.ok(!blocked.applies && blocked.changes.includes('history changed'))
})

test('another layout or another timeline never applies', () => {
  const elsewhere = compareWalPlans(saved, fresh(3, {root_path: '/other/data.primary-replica'}))
  assert.deepEqual(elsewhere, {applies: false, changes: ['the plan is for the layout /srv/data.primary-replica, not /other/data.primary-replica']})
  const later = compareWalPlans(saved, fresh(3, {timeline: 2n}))
  assert.equal(later.applies, false)
  assert.match(!later.applies ? later.changes[0] : '', /the plan is for timeline 1, the current timeline is 2/)
})

test('slots that appear, vanish or change activity are each named', () => {
  const slots = [{replica_id: 'replica-a', active: false, floor_lsn: 9_000_000n}, {replica_id: 'replica-c', active: true, floor_lsn: 10n}]
  const result = compareWalPlans(saved, fresh(3, {}, {slots}))
  assert.ok(result.applies)
  assert.deepEqual(result.applies && result.input_changes, ['slot replica-a became inactive', 'slot replica-b was dropped', 'slot replica-c appeared (LSN 10)'])
})

test('a saved plan survives its own encoding exactly', () => {
  assert.deepEqual(decodeSavedWalPlan(parseJson(stringifyJson(saved))), saved)
})

const tampered = (edit: (doc: Record<string, any>) => void) => {
  const doc = parseJson(stringifyJson(saved)) as Record<string, any>
  edit(doc)
  return () => decodeSavedWalPlan(doc)
}
const refusal = (pattern: RegExp) => (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && pattern.test(error.message)
const corruption = (pattern: RegExp) => (error: unknown) => error instanceof RedreplError && error.kind === 'corrupt' && pattern.test(error.message)

test('a hand-edited plan that names anything but a segment file of the WAL dir is refused', () => {
  assert.throws(tampered((doc) => (doc.segments[0].name = '../../data.rdb')), refusal(/names "..\/..\/data.rdb", not the WAL segment file of index 0/))
  assert.throws(tampered((doc) => (doc.segments[0].name = '/etc/passwd')), refusal(/not the WAL segment file/))
  assert.throws(tampered((doc) => (doc.segments[1].name = '00000000000000000000.redwal')), refusal(/not the WAL segment file of index 1/))
  assert.throws(tampered((doc) => doc.segments.push(doc.segments[0])), refusal(/names segment 0 twice/))
  assert.throws(tampered((doc) => (doc.schema = 'redrepl-plan/2')), refusal(/not a redrepl plan of this version/))
  assert.throws(tampered((doc) => (doc.kind = 'basebackup-expire')), refusal(/not a WAL prune plan/))
})

test('a plan with fields of the wrong type is corrupt, naming the field', () => {
  assert.throws(tampered((doc) => (doc.segments[0].bytes = -1)), corruption(/segments\[0\]\.bytes must be an unsigned 64-bit integer/))
  assert.throws(tampered((doc) => (doc.segments[0].header_crc32 = 2 ** 32)), corruption(/header_crc32 must be an unsigned 32-bit integer/))
  assert.throws(tampered((doc) => (doc.policy = null)), corruption(/policy must be an object/))
  assert.throws(tampered((doc) => (doc.inputs_fingerprint = 'sha256:00')), corruption(/SHA-256/))
  assert.throws(() => decodeSavedWalPlan([]), corruption(/must be a JSON object/))
})

const backup = (checkpoint: bigint, checksum = 1) => ({name: `base-00000000000000000000-${String(checkpoint).padStart(20, '0')}.redbase`, checkpoint_lsn: checkpoint, snapshot_bytes: 9004n, snapshot_checksum: checksum})
const expireInputs = {policy: {keepLast: 2}, available_from_lsn: 0n, backups: [backup(10n), backup(20n), backup(30n)]}
const savedExpire = savedExpirePlan({data_path: '/srv/data.rdb', root_path: '/srv/data.primary-replica', timeline: 1n, planned_at_unix_ms: 0n, inputs: expireInputs, deleted: [backup(10n).name]})
const freshExpire = (deleted: bigint[], inputs = expireInputs): FreshExpirePlan => ({
  root_path: '/srv/data.primary-replica',
  timeline: 1n,
  inputs,
  verdicts: inputs.backups.map((b) => (deleted.includes(b.checkpoint_lsn) ? {name: b.name, action: 'delete' as const, reason: 'beyond the 2 newest'} : {name: b.name, action: 'keep' as const, reason: 'among the 2 newest'})),
})

test('an expiry plan applies when its backups are still deleted, and names what it leaves', () => {
  assert.deepEqual(compareExpirePlans(savedExpire, freshExpire([10n])), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
  const grown = {...expireInputs, backups: [...expireInputs.backups, backup(40n)]}
  assert.deepEqual(compareExpirePlans(savedExpire, freshExpire([10n, 20n], grown)), {applies: true, fingerprint_matches: false, input_changes: [], more_released: [backup(20n).name]})
})

test('an expiry plan refuses a backup kept now, replaced or gone, and another timeline', () => {
  const kept = compareExpirePlans(savedExpire, freshExpire([], {...expireInputs, available_from_lsn: 15n}))
  assert.deepEqual(kept, {applies: false, changes: [`backup ${backup(10n).name} is kept now (among the 2 newest)`, 'the oldest WAL kept moved (LSN 0 → 15)']})
  const replaced = compareExpirePlans(savedExpire, freshExpire([10n], {...expireInputs, backups: [backup(10n, 9), backup(20n), backup(30n)]}))
  assert.deepEqual(replaced, {applies: false, changes: [`backup ${backup(10n).name} was replaced by another snapshot`]})
  const gone = compareExpirePlans(savedExpire, freshExpire([], {...expireInputs, backups: [backup(20n), backup(30n)]}))
  assert.deepEqual(gone, {applies: false, changes: [`backup ${backup(10n).name} is gone`]})
  assert.equal(compareExpirePlans(savedExpire, {...freshExpire([10n]), timeline: 2n}).applies, false)
})

test('an expiry plan survives its encoding, and refuses a name that is not a manifest of its checkpoint', () => {
  const doc = parseJson(stringifyJson(expirePlanDocument(savedExpire)))
  assert.deepEqual(decodeSavedExpirePlan(doc), savedExpire)
  const edited = parseJson(stringifyJson(expirePlanDocument(savedExpire))) as Record<string, any>
  edited.backups[0].name = backup(20n).name
  assert.throws(() => decodeSavedExpirePlan(edited), refusal(/not a base backup manifest of checkpoint 10/))
  edited.backups[0].name = 'base-00000000000000000000-00000000000000000010.redbase/../x'
  assert.throws(() => decodeSavedExpirePlan(edited), refusal(/not a base backup manifest/))
})
