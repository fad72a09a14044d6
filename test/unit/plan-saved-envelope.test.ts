import assert from 'node:assert/strict'
import test from 'node:test'

import {parseJson, stringifyJson} from '../../src/core/codec/json.js'
import {RedreplError} from '../../src/core/errors.js'
import {backupDiffers, compareExpirePlans, decodeSavedExpirePlan, expirePlanDocument, savedExpirePlan, type ExpirePlanInputs, type PinnedBackup} from '../../src/core/plan/saved-basebackup-expire-plan.js'
import {comparePlans, layoutScope, openPlanDocument, scopeChanges} from '../../src/core/plan/saved-plan-envelope.js'
import {compareRepoExpirePlans, decodeSavedRepoExpirePlan, repoExpirePlanDocument, savedRepoExpirePlan, type FreshRepoExpirePlan, type RepoExpirePlanInputs} from '../../src/core/plan/saved-repo-expire-plan.js'
import {compareWalPlans, decodeSavedWalPlan, savedWalPlan, segmentDiffers, type FreshWalPlan, type WalPlanInputs} from '../../src/core/plan/saved-wal-plan.js'

// Plan files as the release before the envelope wrote them, for these very inputs: the bytes must not move.
const WAL_PLAN_FILE = `{
  "schema": "redrepl-plan/1",
  "kind": "wal-prune",
  "data_path": "/srv/data.rdb",
  "root_path": "/srv/data.primary-replica",
  "timeline": 1,
  "current_lsn": 3200000,
  "segment_bytes": 1048576,
  "policy": {
    "min_segments": 1,
    "max_bytes": 0,
    "keep_until_replicas_ack": true
  },
  "fork_lsns": [],
  "catalog_timeline_adopted": false,
  "inputs_fingerprint": "sha256:620e8f7996c8fc8cb21f0fc70b7a4bd73b25b40f61f1ce9d784e34bc767a5d1f",
  "history_sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "slots": [
    {
      "replica_id": "replica-a",
      "active": true,
      "floor_lsn": 2100000
    }
  ],
  "segments": [
    {
      "name": "00000000000000000000.redwal",
      "index": 0,
      "bytes": 1048576,
      "header_crc32": 4660
    },
    {
      "name": "00000000000000000001.redwal",
      "index": 1,
      "bytes": 1048576,
      "header_crc32": 4661
    }
  ]
}\n`
const BASEBACKUP_EXPIRE_PLAN_FILE = `{
  "schema": "redrepl-plan/1",
  "kind": "basebackup-expire",
  "data_path": "/srv/data.rdb",
  "root_path": "/srv/data.primary-replica",
  "timeline": 1,
  "planned_at_unix_ms": 1700000000000,
  "policy": {
    "keep_last": 1
  },
  "available_from_lsn": 0,
  "inputs_fingerprint": "sha256:1617d21024c6b7ed4d58e5a4e0731475969cc12d461907d230ad852da7207298",
  "backups": [
    {
      "name": "base-00000000000000000000-00000000000000000010.redbase",
      "checkpoint_lsn": 10,
      "snapshot_bytes": 9004,
      "snapshot_checksum": 77
    }
  ]
}\n`
const REPO_EXPIRE_PLAN_FILE = `{
  "schema": "redrepl-plan/1",
  "kind": "repo-expire",
  "repository": "file:///srv/repo",
  "node": "db1",
  "planned_at_unix_ms": 1700000000000,
  "policy": {
    "keep_within_ms": 86400000
  },
  "segment_bytes": 1048576,
  "inputs_fingerprint": "sha256:687f7c87b34723ae2478646acde1c5a212385c1d9fdf719735ddf11491e399e7",
  "backups": [
    {
      "name": "db1/basebackup/a.redbase",
      "size": 100,
      "modified_unix_ms": 1699999999000,
      "checkpoint_lsn": 10,
      "snapshot_bytes": 9004
    }
  ],
  "wal": [
    {
      "name": "db1/wal/1/0.redwal",
      "size": 100,
      "modified_unix_ms": 1699999999000
    }
  ],
  "orphan_grace_ms": 86400000,
  "orphans": [
    {
      "name": "db1/basebackup/x.part",
      "size": 100,
      "modified_unix_ms": 1699999999000
    }
  ]
}\n`

const walInputs = (): WalPlanInputs => ({
  history_sha256: 'a'.repeat(64),
  segment_bytes: 1048576n,
  policy: {min_segments: 1n, max_bytes: 0n, keep_until_replicas_ack: true},
  fork_lsns: [],
  catalog_timeline_adopted: false,
  slots: [{replica_id: 'replica-a', active: true, floor_lsn: 2_100_000n}],
  segments: [0n, 1n, 2n, 3n].map((i) => ({index: i, bytes: 1048576n, header_crc32: 0x1234 + Number(i)})),
})
const walFresh = (inputs = walInputs(), released = [0n, 1n], where = {root_path: '/srv/data.primary-replica', timeline: 1n}): FreshWalPlan => ({
  ...where,
  inputs,
  verdicts: inputs.segments.map((s) => (released.includes(s.index) ? {index: s.index, action: 'remove' as const, reason: 'released'} : {index: s.index, action: 'keep' as const, reason: 'minimum window'})),
})

const backup = (checkpoint: bigint): PinnedBackup => ({name: `base-00000000000000000000-${String(checkpoint).padStart(20, '0')}.redbase`, checkpoint_lsn: checkpoint, snapshot_bytes: 9004n, snapshot_checksum: 77})
const expireInputs = (): ExpirePlanInputs => ({policy: {keepLast: 1}, available_from_lsn: 0n, backups: [backup(10n), backup(20n)]})

const object = (name: string, extra = {}) => ({name, size: 100n, modified_unix_ms: 1699999999000n, ...extra})
const repoInputs = (): RepoExpirePlanInputs => ({
  policy: {keepWithinMs: 86400000n},
  segment_bytes: 1048576n,
  backups: [object('db1/basebackup/a.redbase', {checkpoint_lsn: 10n, snapshot_bytes: 9004n}), object('db1/basebackup/b.redbase', {checkpoint_lsn: 20n, snapshot_bytes: 9004n})] as RepoExpirePlanInputs['backups'],
  wal: [object('db1/wal/1/0.redwal'), object('db1/wal/1/1.redwal')],
  orphans: [object('db1/basebackup/x.part')],
})
const repoFresh = (inputs = repoInputs(), where = {repository: 'file:///srv/repo', node: 'db1'}): FreshRepoExpirePlan => {
  const verdict = (doomed: string[]) => (o: {name: string}) => (doomed.includes(o.name) ? {name: o.name, action: 'delete' as const, reason: 'old'} : {name: o.name, action: 'keep' as const, reason: 'kept'})
  return {
    ...where,
    inputs,
    backup_verdicts: inputs.backups.map(verdict(['db1/basebackup/a.redbase'])),
    wal_verdicts: inputs.wal.map(verdict(['db1/wal/1/0.redwal'])),
    orphan_verdicts: inputs.orphans.map(verdict(['db1/basebackup/x.part'])),
  }
}

const fileOf = (document: unknown) => `${stringifyJson(document)}\n`

test('each kind writes the same bytes for the same plan as before the envelope', () => {
  const wal = savedWalPlan({data_path: '/srv/data.rdb', root_path: '/srv/data.primary-replica', timeline: 1n, current_lsn: 3_200_000n, inputs: walInputs(), removable: [0n, 1n]})
  assert.equal(fileOf(wal), WAL_PLAN_FILE)
  const expire = savedExpirePlan({data_path: '/srv/data.rdb', root_path: '/srv/data.primary-replica', timeline: 1n, planned_at_unix_ms: 1700000000000n, inputs: expireInputs(), deleted: [backup(10n).name]})
  assert.equal(fileOf(expirePlanDocument(expire)), BASEBACKUP_EXPIRE_PLAN_FILE)
  const repo = savedRepoExpirePlan({
    repository: 'file:///srv/repo',
    node: 'db1',
    planned_at_unix_ms: 1700000000000n,
    inputs: repoInputs(),
    deleted_backups: ['db1/basebackup/a.redbase'],
    deleted_wal: ['db1/wal/1/0.redwal'],
    orphan_grace_ms: 86400000n,
    deleted_orphans: ['db1/basebackup/x.part'],
  })
  assert.equal(fileOf(repoExpirePlanDocument(repo)), REPO_EXPIRE_PLAN_FILE)
})

test('a plan file written before the envelope loads and applies to the inputs it was made from', () => {
  assert.deepEqual(compareWalPlans(decodeSavedWalPlan(parseJson(WAL_PLAN_FILE)), walFresh()), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
  const expire = decodeSavedExpirePlan(parseJson(BASEBACKUP_EXPIRE_PLAN_FILE))
  const fresh = {root_path: '/srv/data.primary-replica', timeline: 1n, inputs: expireInputs(), verdicts: [{name: backup(10n).name, action: 'delete' as const, reason: 'old'}, {name: backup(20n).name, action: 'keep' as const, reason: 'newest'}]}
  assert.deepEqual(compareExpirePlans(expire, fresh), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
  assert.deepEqual(compareRepoExpirePlans(decodeSavedRepoExpirePlan(parseJson(REPO_EXPIRE_PLAN_FILE)), repoFresh()), {applies: true, fingerprint_matches: true, input_changes: [], more_released: []})
})

test('a segment is the same only with its saved size and header CRC', () => {
  const saved = {index: 1n, bytes: 1048576n, header_crc32: 0x1235}
  assert.equal(segmentDiffers(saved, {...saved}), undefined)
  assert.equal(segmentDiffers(saved, {...saved, bytes: 1048577n}), 'changed size (1048576 → 1048577 bytes)')
  assert.equal(segmentDiffers(saved, {...saved, header_crc32: 0x1236}), 'was rewritten (header CRC 0x00001235 → 0x00001236)')
  const rewritten = walInputs()
  rewritten.segments[1] = {...rewritten.segments[1], header_crc32: 9}
  const result = compareWalPlans(decodeSavedWalPlan(parseJson(WAL_PLAN_FILE)), walFresh(rewritten))
  assert.deepEqual(result, {applies: false, changes: ['segment 00000000000000000001 was rewritten (header CRC 0x00001235 → 0x00000009)']})
})

test('a backup is the same only with its saved snapshot size and checksum', () => {
  assert.equal(backupDiffers(backup(10n), backup(10n)), undefined)
  assert.equal(backupDiffers(backup(10n), {...backup(10n), snapshot_checksum: 78}), 'was replaced by another snapshot')
  assert.equal(backupDiffers(backup(10n), {...backup(10n), snapshot_bytes: 9005n}), 'was replaced by another snapshot')
})

test('a repository object is the same only with its listed size and time; a manifest also with its checkpoint and snapshot', () => {
  const saved = decodeSavedRepoExpirePlan(parseJson(REPO_EXPIRE_PLAN_FILE))
  const touched = repoInputs()
  touched.wal[0] = {...touched.wal[0], modified_unix_ms: 1699999999001n}
  touched.orphans[0] = {...touched.orphans[0], size: 101n}
  touched.backups[0] = {...touched.backups[0], snapshot_bytes: 9005n}
  assert.deepEqual(compareRepoExpirePlans(saved, repoFresh(touched)), {
    applies: false,
    changes: ['backup db1/basebackup/a.redbase was replaced by another manifest', 'WAL object db1/wal/1/0.redwal was replaced by another object', 'unreferenced object db1/basebackup/x.part was replaced by another object'],
  })
})

test('a plan for another layout, timeline, repository or node never applies, and names only the first that moved', () => {
  const wal = decodeSavedWalPlan(parseJson(WAL_PLAN_FILE))
  assert.deepEqual(compareWalPlans(wal, walFresh(undefined, undefined, {root_path: '/other.primary-replica', timeline: 2n})), {applies: false, changes: ['the plan is for the layout /srv/data.primary-replica, not /other.primary-replica']})
  const moved = {...walInputs(), history_sha256: 'b'.repeat(64)}
  assert.deepEqual(compareWalPlans(wal, walFresh(moved, undefined, {root_path: '/srv/data.primary-replica', timeline: 2n})), {applies: false, changes: ['the plan is for timeline 1, the current timeline is 2', 'history changed']})
  const expire = decodeSavedExpirePlan(parseJson(BASEBACKUP_EXPIRE_PLAN_FILE))
  const later = compareExpirePlans(expire, {root_path: '/srv/data.primary-replica', timeline: 2n, inputs: {...expireInputs(), available_from_lsn: 5n}, verdicts: []})
  assert.deepEqual(later, {applies: false, changes: ['the plan is for timeline 1, the current timeline is 2']})
  const repo = decodeSavedRepoExpirePlan(parseJson(REPO_EXPIRE_PLAN_FILE))
  assert.deepEqual(compareRepoExpirePlans(repo, repoFresh(undefined, {repository: 's3://other/x', node: 'db2'})), {applies: false, changes: ['the plan is for the repository file:///srv/repo, not s3://other/x']})
  assert.deepEqual(compareRepoExpirePlans(repo, repoFresh(undefined, {repository: 'file:///srv/repo', node: 'db2'})), {applies: false, changes: ['the plan is for node db1, not db2']})
  assert.deepEqual(scopeChanges(layoutScope({root_path: '/a', timeline: 3n}, {root_path: '/a', timeline: 3n}), ['history changed']), [])
})

const refusal = (pattern: RegExp) => (error: unknown) => error instanceof RedreplError && error.kind === 'refused' && pattern.test(error.message)
const corruption = (pattern: RegExp) => (error: unknown) => error instanceof RedreplError && error.kind === 'corrupt' && pattern.test(error.message)
const edited = (file: string, edit: (doc: Record<string, any>) => void) => {
  const doc = parseJson(file) as Record<string, any>
  edit(doc)
  return doc
}

test('the envelope refuses another kind, another schema version, and a fingerprint that is no digest, for every kind', () => {
  const kinds = [
    [WAL_PLAN_FILE, decodeSavedWalPlan, /not a WAL prune plan/],
    [BASEBACKUP_EXPIRE_PLAN_FILE, decodeSavedExpirePlan, /not a base backup expiry plan/],
    [REPO_EXPIRE_PLAN_FILE, decodeSavedRepoExpirePlan, /not a repository expiry plan/],
  ] as const
  for (const [file, decode, title] of kinds) {
    for (const other of ['wal-prune', 'basebackup-expire', 'repo-expire'].filter((kind) => kind !== (parseJson(file) as Record<string, unknown>).kind)) {
      assert.throws(() => decode(edited(file, (doc) => (doc.kind = other))), refusal(new RegExp(`a plan of kind "${other}", ${title.source}`)))
    }
    assert.throws(() => decode(edited(file, (doc) => (doc.schema = 'redrepl-plan/2'))), refusal(/not a redrepl plan of this version \(schema "redrepl-plan\/2", expected "redrepl-plan\/1"\)/))
    assert.throws(() => decode(edited(file, (doc) => (doc.inputs_fingerprint = 'sha256:zz'))), corruption(/inputs_fingerprint must be a SHA-256 digest/))
    assert.throws(() => decode(edited(file, (doc) => delete doc.inputs_fingerprint)), corruption(/inputs_fingerprint/))
    assert.throws(() => decode([]), corruption(/a plan must be a JSON object/))
  }
  assert.throws(() => openPlanDocument(parseJson(WAL_PLAN_FILE), 'repo-expire'), refusal(/a plan of kind "wal-prune", not a repository expiry plan/))
})

test('a tampered plan is refused: a key named twice, even across lists, and a fingerprint that no longer matches never applies unnoticed', () => {
  assert.throws(() => decodeSavedRepoExpirePlan(edited(REPO_EXPIRE_PLAN_FILE, (doc) => (doc.orphans[0].name = doc.wal[0].name))), refusal(/orphans\[0\] names db1\/wal\/1\/0.redwal twice/))
  assert.throws(() => decodeSavedExpirePlan(edited(BASEBACKUP_EXPIRE_PLAN_FILE, (doc) => doc.backups.push(doc.backups[0]))), refusal(/backups\[1\] names base-\d+-\d+\.redbase twice/))
  assert.throws(() => decodeSavedWalPlan(edited(WAL_PLAN_FILE, (doc) => doc.segments.push(doc.segments[0]))), refusal(/segments\[2\] names segment 0 twice/))
  // A hand-edited fingerprint loads (it is a digest) but no longer says "as planned".
  const forged = decodeSavedWalPlan(edited(WAL_PLAN_FILE, (doc) => (doc.inputs_fingerprint = `sha256:${'0'.repeat(64)}`)))
  const result = compareWalPlans(forged, walFresh())
  assert.ok(result.applies && !result.fingerprint_matches)
})

test('comparePlans names every saved item that blocks, then the input changes, and what the first group releases beyond the plan', () => {
  const group = {
    saved: [{k: 'a'}, {k: 'b'}, {k: 'c'}],
    present: [{k: 'b'}, {k: 'c'}, {k: 'd'}],
    verdicts: [{key: 'b', released: true, reason: 'old'}, {key: 'c', released: false, reason: 'newest'}, {key: 'd', released: true, reason: 'old'}],
    key: (item: {k: string}) => item.k,
    label: (item: {k: string}) => `item ${item.k}`,
    differs: () => undefined,
  }
  assert.deepEqual(comparePlans({scope: [], groups: [group], input_changes: ['x moved'], fingerprints: {saved: 's', fresh: 'f'}}), {applies: false, changes: ['item a is gone', 'item c is kept now (newest)', 'x moved']})
  const fine = {...group, saved: [{k: 'b'}]}
  assert.deepEqual(comparePlans({scope: [], groups: [fine], input_changes: [], fingerprints: {saved: 's', fresh: 's'}}), {applies: true, fingerprint_matches: true, input_changes: [], more_released: ['d']})
})
