import assert from 'node:assert/strict'
import {test} from 'node:test'

import {dataPathArtifacts, storedPathProblem, Layout, parseWalSegmentName, replaceExtension} from '../../src/core/layout.js'

test('extension replacement follows the data path rule', () => {
  assert.equal(replaceExtension('data.rdb', 'primary-replica'), 'data.primary-replica')
  assert.equal(replaceExtension('data', 'primary-replica'), 'data.primary-replica')
  assert.equal(replaceExtension('my.db.rdb', 'primary-replica'), 'my.db.primary-replica')
  assert.equal(replaceExtension('/var/lib/reddb/.hidden', 'x'), '/var/lib/reddb/.hidden.x')
  assert.equal(replaceExtension('./a/../data.rdb', 'rebootstrap.pending.rdb'), './a/../data.rebootstrap.pending.rdb')
})

test('every artifact path derives from the data path', () => {
  const paths = dataPathArtifacts('/var/lib/reddb/data.rdb')
  assert.equal(paths.root, '/var/lib/reddb/data.primary-replica')
  assert.equal(paths.legacySlotStore, '/var/lib/reddb/data.rdb.logical.slots.json')
  assert.equal(paths.rebootstrapPending, '/var/lib/reddb/data.rebootstrap.pending.rdb')
  assert.equal(paths.rebootstrapReady, '/var/lib/reddb/data.rebootstrap.ready')
  assert.equal(paths.rebootstrapStaging, '/var/lib/reddb/data.rebootstrap.redbase')
  assert.equal(paths.rebootstrapPrevious, '/var/lib/reddb/data.rebootstrap.previous.rdb')
  const layout = Layout.fromDataPath('/d/data.rdb')
  assert.equal(layout.walSegmentPath(2n, 5n), '/d/data.primary-replica/timeline-00000000000000000002/wal/00000000000000000005.redwal')
  assert.equal(
    layout.basebackupManifestPath(1n, 0n, 5242882n),
    '/d/data.primary-replica/timeline-00000000000000000001/basebackup/base-00000000000000000000-00000000000005242882.redbase',
  )
  assert.equal(layout.relayManifestPath(1n, 'replica-a'), '/d/data.primary-replica/timeline-00000000000000000001/relay/replica-a/relay.redmanifest')
})

test('only {decimal}.redwal names are WAL segments', () => {
  assert.equal(parseWalSegmentName('00000000000000000005.redwal'), 5n)
  assert.equal(parseWalSegmentName('7.redwal'), 7n)
  assert.equal(parseWalSegmentName('relay-00000000000000000001-00000000000000000002.redwal'), undefined)
  assert.equal(parseWalSegmentName('5.redwal.tmp'), undefined)
  assert.equal(parseWalSegmentName('99999999999999999999999.redwal'), undefined)
})

test('manifest-stored paths may not leave their directory or be unusable', () => {
  for (const fine of ['a/b.redchunk', '..a/b', 'a..', 'a/./b//c.snapshot', '...hidden/..x/chunk', 'relay-00000000000000000001-00000000000000000010.redwal', 'a\\..\\b', 'é/ü']) {
    assert.equal(storedPathProblem(fine), undefined, fine)
  }
  const bad: Array<[string, RegExp]> = [
    ['/etc/passwd', /relative/],
    ['a/../../b', /leave its directory/],
    ['..', /leave its directory/],
    ['a/..', /leave its directory/],
    ['', /empty/],
    ['a\0b', /NUL/],
    ['a\nb', /control/],
    ['a\u007fb', /control/],
  ]
  for (const [path, problem] of bad) assert.match(storedPathProblem(path) ?? 'accepted', problem, JSON.stringify(path))
})
