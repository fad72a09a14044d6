import assert from 'node:assert/strict'
import {test} from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {compareRepoExpirePlans, decodeSavedRepoExpirePlan, repoExpirePlanDocument, savedRepoExpirePlan, type FreshRepoExpirePlan, type RepoExpirePlanInputs} from '../../src/core/plan/saved-repo-expire-plan.js'

const backup = (checkpoint: bigint) => ({name: `db1/b-${checkpoint}`, size: 300n, modified_unix_ms: 1000n + checkpoint, checkpoint_lsn: checkpoint, snapshot_bytes: 9000n})
const wal = (index: bigint) => ({name: `db1/w-${index}`, size: 1024n, modified_unix_ms: 2000n + index})

const orphan = (n: bigint) => ({name: `db1/o-${n}`, size: 7n, modified_unix_ms: 3000n + n})

const inputs: RepoExpirePlanInputs = {policy: {keepLast: 1}, segment_bytes: 1024n, backups: [backup(10n), backup(20n)], wal: [wal(0n), wal(1n), wal(2n)], orphans: [orphan(1n), orphan(2n)]}
const saved = savedRepoExpirePlan({repository: '/repo', node: 'db1', planned_at_unix_ms: 5n, inputs, deleted_backups: [backup(10n).name], deleted_wal: [wal(0n).name, wal(1n).name], orphan_grace_ms: 60_000n, deleted_orphans: [orphan(1n).name]})

function fresh(overrides: Partial<RepoExpirePlanInputs> = {}, walKept: string[] = [wal(2n).name], orphansKept: string[] = [orphan(2n).name]): FreshRepoExpirePlan {
  const now = {...inputs, ...overrides}
  return {
    repository: '/repo',
    node: 'db1',
    inputs: now,
    backup_verdicts: now.backups.map((b, i) => ({name: b.name, action: i === now.backups.length - 1 ? 'keep' : 'delete', reason: 'policy'})),
    wal_verdicts: now.wal.map((w) => ({name: w.name, action: walKept.includes(w.name) ? 'keep' : 'delete', reason: 'floor'})),
    orphan_verdicts: now.orphans.map((o) => ({name: o.name, action: orphansKept.includes(o.name) ? 'keep' : 'delete', reason: 'grace'})),
  }
}

test('a repository expiry plan round-trips through its document and applies to the repository it was made from', () => {
  const decoded = decodeSavedRepoExpirePlan(parseJson(stringifyJson(repoExpirePlanDocument(saved))))
  assert.deepEqual(decoded, saved)
  assert.deepEqual(compareRepoExpirePlans(decoded, fresh()), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
})

test('a repository expiry plan refuses another repository or node, a changed or kept WAL object, and a re-pushed manifest', () => {
  assert.equal(compareRepoExpirePlans(saved, {...fresh(), repository: '/other'}).applies, false)
  assert.equal(compareRepoExpirePlans(saved, {...fresh(), node: 'db2'}).applies, false)
  const regrown = compareRepoExpirePlans(saved, fresh({wal: [{...wal(0n), size: 2048n}, wal(1n), wal(2n)]}))
  assert.deepEqual(regrown, {applies: false, changes: [`WAL object ${wal(0n).name} was replaced by another object`]})
  const kept = compareRepoExpirePlans(saved, fresh({}, [wal(1n).name, wal(2n).name]))
  assert.deepEqual(kept, {applies: false, changes: [`WAL object ${wal(1n).name} is kept now (floor)`]})
  const repushed = compareRepoExpirePlans(saved, fresh({backups: [{...backup(10n), modified_unix_ms: 9n}, backup(20n)]}))
  assert.deepEqual(repushed, {applies: false, changes: [`backup ${backup(10n).name} was replaced by another manifest`]})
})

test('a newer backup changes the fingerprint but not the saved objects: the plan applies and names the backup it leaves', () => {
  const result = compareRepoExpirePlans(saved, fresh({backups: [backup(10n), backup(20n), backup(30n)]}))
  assert.deepEqual(result, {applies: true, fingerprint_matches: false, input_changes: [], more_released: [backup(20n).name]})
})

test('a repository expiry plan document naming a key twice is refused', () => {
  const doc = parseJson(stringifyJson(repoExpirePlanDocument(saved))) as any
  doc.wal[1].name = doc.backups[0].name
  assert.throws(() => decodeSavedRepoExpirePlan(doc), /names db1\/b-10 twice/)
})

test('a repository expiry plan deletes an unreferenced object only while it is still there, unchanged and past the grace period', () => {
  assert.deepEqual(saved.orphans, [orphan(1n)])
  assert.equal(saved.orphan_grace_ms, 60_000n)
  const rewritten = compareRepoExpirePlans(saved, fresh({orphans: [{...orphan(1n), modified_unix_ms: 1n}, orphan(2n)]}))
  assert.deepEqual(rewritten, {applies: false, changes: [`unreferenced object ${orphan(1n).name} was replaced by another object`]})
  const young = compareRepoExpirePlans(saved, fresh({}, [wal(2n).name], [orphan(1n).name, orphan(2n).name]))
  assert.deepEqual(young, {applies: false, changes: [`unreferenced object ${orphan(1n).name} is kept now (grace)`]})
  const claimed = compareRepoExpirePlans(saved, fresh({orphans: [orphan(2n)]}))
  assert.deepEqual(claimed, {applies: false, changes: [`unreferenced object ${orphan(1n).name} is gone`]})
})

test('a repository expiry plan saved before orphans were collected deletes none, with the default grace period', () => {
  const document = repoExpirePlanDocument(saved) as Record<string, unknown>
  const {orphans: _orphans, orphan_grace_ms: _grace, ...older} = document
  const decoded = decodeSavedRepoExpirePlan(parseJson(stringifyJson(older)))
  assert.deepEqual([decoded.orphans, decoded.orphan_grace_ms], [[], 86_400_000n])
})
