import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {test} from 'node:test'

import {shellCommand, shellQuote} from '../../src/ui/shell-quote.js'

test('plain words stay as they are; others are single-quoted', () => {
  assert.equal(shellQuote('/var/lib/reddb/data.rdb'), '/var/lib/reddb/data.rdb')
  assert.equal(shellQuote('--max-bytes=4GiB'), '--max-bytes=4GiB')
  assert.equal(shellQuote(''), "''")
  assert.equal(shellQuote("it's"), `'it'\\''s'`)
  assert.equal(shellQuote('$(rm -rf /)'), "'$(rm -rf /)'")
})

test('a quoted command gives a POSIX shell back exactly the words it was made of', () => {
  const words = ['a b', "it's", '$HOME', '`id`', 'tab\there', 'new\nline', '*', '~', '"q"', '\\', '-n', '']
  const echoed = execFileSync('sh', ['-c', `printf '%s\\0' ${shellCommand(words)}`]).toString('utf8')
  assert.deepEqual(echoed.split('\0').slice(0, -1), words)
})
