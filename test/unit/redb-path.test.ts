import assert from 'node:assert/strict'
import {test} from 'node:test'

import {sameRedDbPath} from '../../src/core/layout.js'

/** RedDB's comparison of the marker's pending_path with the path it derives (format §8). */
test('paths compare component by component: repeated separators and . do not count, .. and symlinks are not resolved', () => {
  for (const [a, b] of [
    ['/var/lib/reddb/data.rebootstrap.pending.rdb', '/var/lib/reddb/data.rebootstrap.pending.rdb'],
    ['/var//lib/./reddb/data.rebootstrap.pending.rdb', '/var/lib/reddb/data.rebootstrap.pending.rdb'],
    ['/var/lib/reddb/', '/var/lib/reddb'],
    ['rc1/./x.rdb', 'rc1//x.rdb'],
  ]) assert.ok(sameRedDbPath(a, b), `${a} = ${b}`)
  for (const [a, b] of [
    ['rc1/data.rebootstrap.pending.rdb', '/work/rc1/data.rebootstrap.pending.rdb'],
    ['/var/lib/reddb/../reddb/x.rdb', '/var/lib/reddb/x.rdb'],
    ['/var/lib/reddb/x.rdb', '/var/lib/reddb/x.rdb/y'],
    ['/a/b', '/a/c'],
    ['/', '.'],
  ]) assert.ok(!sameRedDbPath(a, b), `${a} ≠ ${b}`)
})
