import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {FormatError, RedreplError} from '../../src/core/errors.js'
import {ioError, ioReason} from '../../src/core/fs/io-error.js'
import {openRegular, readBounded, readBoundedIfExists} from '../../src/core/fs/open.js'
import {readRecordBatch} from '../../src/core/ops/relay/records.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

const errno = (code: string, message = `${code}: something`) => Object.assign(new Error(message), {code})

test('one errno translator: the same errno reads the same everywhere, naming the operation and the file', () => {
  const cases: Array<[string, string, string]> = [
    ['ENOENT', 'not-found', '/x: cannot read: no such file or directory'],
    ['EISDIR', 'corrupt', '/x: cannot read: is a directory'],
    ['ELOOP', 'corrupt', '/x: cannot read: is a symbolic link (or a loop of them)'],
    ['ENOSPC', 'failure', '/x: cannot read: no space left on device'],
    ['EROFS', 'failure', '/x: cannot read: read-only file system'],
    ['EACCES', 'failure', '/x: cannot read: permission denied'],
    ['EPERM', 'failure', '/x: cannot read: operation not permitted'],
  ]
  for (const [code, kind, message] of cases) {
    const error = ioError('read', '/x', errno(code))
    assert.equal(error.kind, kind, code)
    assert.equal(error.message, message)
    assert.equal(error.code, `io.${code}`)
  }
  assert.equal(ioError('write', '/dest', errno('ENOSPC')).message, '/dest: cannot write: no space left on device')
  // An errno without a wording keeps Node's first line and the code io.other; redrepl's own errors pass through.
  const weird = ioError('read', '/x', errno('EWEIRD', 'EWEIRD: odd\nsecond line'))
  assert.equal(weird.message, '/x: cannot read: EWEIRD: odd')
  assert.equal(weird.code, 'io.other')
  assert.equal(weird.kind, 'failure')
  const own = new FormatError('bad', '/y')
  assert.equal(ioError('read', '/x', own), own)
})

test('the translator words what was attempted, what is known to have happened and the way out, on one line', () => {
  const removed = ioError('remove the old ready marker', '/m', errno('EISDIR'), {outcome: 'the pending database was left as it was'})
  assert.equal(removed.message, '/m: cannot remove the old ready marker: is a directory; the pending database was left as it was')
  assert.equal(removed.kind, 'corrupt')
  const locked = ioError('lock', '/l', errno('ENOLCK', 'ENOLCK: no locks available, flock'), {hint: 'use a local file system'})
  assert.equal(locked.message, '/l: cannot lock: ENOLCK: no locks available, flock')
  assert.equal(locked.hint, 'use a local file system')
  // Where the README gives a path its own exit code, the kind is the caller's and the wording the table's; the code,
  // which always comes with one exit code, is left out unless it has that one.
  const log = ioError('open the log file', '/log', errno('ELOOP'), {kind: 'usage'})
  assert.equal(log.kind, 'usage')
  assert.equal(log.code, undefined)
  assert.equal(ioError('open the log file', '/log', errno('ENAMETOOLONG'), {kind: 'usage'}).code, 'io.ENAMETOOLONG')
  assert.equal(log.message, '/log: cannot open the log file: is a symbolic link (or a loop of them)')
  // A thrown value that is no errno (a programming error) still names the file, without a code.
  const plain = ioError('write', '/w', new TypeError('bad\nthing'))
  assert.equal(plain.message, '/w: cannot write: bad')
  assert.equal(plain.code, undefined)
  assert.equal(ioError('read', '/x', errno('ENOENT', 'ENOENT: x')).exitCode, 6)
  assert.equal(ioReason(errno('EACCES')), 'permission denied')
})

test('errno wording lives in fs/io-error.ts only: no other module of src spells an errno\'s reason', () => {
  const root = path.resolve(import.meta.dirname, '../../../src')
  const phrases = ['permission denied', 'no space left on device', 'read-only file system', 'disk quota exceeded', 'input/output error', 'no such file or directory']
  const offenders: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, {withFileTypes: true})) {
      const file = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(file)
      else if (file.endsWith('.ts') && path.relative(root, file) !== path.join('core', 'fs', 'io-error.ts')) {
        const text = readFileSync(file, 'utf8')
        for (const phrase of phrases) if (text.includes(`'${phrase}'`) || text.includes(`: ${phrase}`)) offenders.push(`${path.relative(root, file)}: ${phrase}`)
      }
    }
  }
  walk(root)
  assert.deepEqual(offenders, [])
})

test('only regular files are opened: a FIFO (without waiting for a writer), a directory, a device link', async () => {
  const dir = await scratch.dir()
  const fifo = path.join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  mkdirSync(path.join(dir, 'dir'))
  symlinkSync('/dev/zero', path.join(dir, 'zero'))
  for (const [name, type] of [['fifo', /is a FIFO/], ['dir', /is a directory/], ['zero', /is a character device/]] as const) {
    await assert.rejects(openRegular(path.join(dir, name)), (error: RedreplError) => {
      assert.equal(error.kind, 'corrupt')
      assert.equal(error.code, 'artifact.not-regular')
      assert.match(error.message, type)
      assert.ok(error.message.startsWith(path.join(dir, name)))
      return true
    })
  }
  await assert.rejects(openRegular(path.join(dir, 'absent')), (error: RedreplError) => error.kind === 'not-found')
  assert.equal(await readBoundedIfExists(path.join(dir, 'absent'), 10, 'thing'), undefined)
})

test('the size cap is checked before reading: a sparse 4 GiB file is refused at once', async () => {
  const dir = await scratch.dir()
  const file = path.join(dir, 'huge')
  writeFileSync(file, '')
  truncateSync(file, 4 * 1024 ** 3)
  const started = performance.now()
  await assert.rejects(readBounded(file, 16 * 1024 * 1024, 'timeline history'), (error: RedreplError) => {
    assert.equal(error.code, 'artifact.too-large')
    assert.match(error.message, /is 4294967296 bytes, more than any timeline history can be \(at most 16777216 bytes\)/)
    return true
  })
  assert.ok(performance.now() - started < 1000)
  writeFileSync(file, 'abc')
  assert.deepEqual(await readBounded(file, 3, 'x'), new Uint8Array([97, 98, 99]))
  await assert.rejects(readBounded(file, 2, 'x'), /more than any x can be/)
})

test('a stdin batch is read up to its limit and refused past it, naming stdin', async () => {
  async function* pieces(...parts: Uint8Array[]) {
    yield* parts
  }
  // A multi-byte character split across two reads still decodes.
  const euro = Buffer.from('€\n')
  assert.equal(await readRecordBatch(pieces(euro.subarray(0, 1), euro.subarray(1)), 4), '€\n')
  await assert.rejects(readRecordBatch(pieces(Buffer.alloc(3), Buffer.alloc(3)), 5), (error: RedreplError) => {
    assert.equal(error.kind, 'usage')
    assert.match(error.message, /^stdin: the record batch is larger than 5 bytes/)
    return true
  })
})
