import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {chmodSync, chownSync, existsSync, linkSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {execFileSync} from 'node:child_process'
import path from 'node:path'
import {test} from 'node:test'

import {runCli, useScratch} from '../support/cli.js'
import {documentOf, holdFlock, stop} from '../support/node.js'

/**
 * Configuration that cannot disarm the guards: a config file others can
 * change is not read, the flags that switch a check off are never taken from
 * one, an override of the live-node check is always said on stderr, a file a
 * running RedDB holds is replaced only with its own flag, and the log file
 * is never written through a link or into a FIFO.
 */

const scratch = useScratch()

async function node() {
  const dir = await scratch.layout('primary-basic')
  return {dir, data: path.join(dir, 'data.rdb')}
}

async function configFile(body: string, mode = 0o644): Promise<string> {
  const dir = await scratch.dir('redrepl-guards-conf-')
  const file = path.join(dir, 'redrepl.conf')
  writeFileSync(file, body)
  chmodSync(file, mode)
  return file
}

test('a config file another user could change is refused (exit 2), naming the file and its mode', async () => {
  const {data} = await node()
  const body = `[defaults]\ndata-path = "${data}"\n`
  const cases: Array<[string, (file: string) => void, RegExp]> = [
    ['mode 0666', (file) => chmodSync(file, 0o666), /the config file is writable by its group and any user \(mode 0666\); refusing to read it/],
    ['group-writable', (file) => chmodSync(file, 0o664), /the config file is writable by its group \(mode 0664\)/],
    ['world-writable only', (file) => chmodSync(file, 0o602), /the config file is writable by any user \(mode 0602\)/],
    ['owned by nobody', (file) => chownSync(file, 65534, 65534), /the config file is owned by uid 65534, neither root nor the running user \(uid 0\) \(mode 0644\)/],
  ]
  for (const [what, spoil, message] of cases) {
    const file = await configFile(body)
    spoil(file)
    for (const args of [['config', 'show', '--config', file], ['slots', 'show', '--config', file], ['timeline', 'show']]) {
      const result = await runCli(args, {env: {REDREPL_CONFIG: file}})
      assert.equal(result.exitCode, 2, `${what} ${args.join(' ')}: ${result.stderr}`)
      assert.equal(result.stderr.split('\n').length, 2, `${what}: one line`)
      assert.ok(result.stderr.startsWith(`redrepl: ${file}: `), result.stderr)
      assert.match(result.stderr, message, what)
    }
    // The same file reached through a symlink is judged by what it is.
    const link = path.join(path.dirname(file), 'via-link.conf')
    symlinkSync(file, link)
    const linked = await runCli(['slots', 'show', '--config', link])
    assert.equal(linked.exitCode, 2, `${what} through a symlink: ${linked.stderr}`)
    assert.match(linked.stderr, message, `${what} through a symlink`)
  }
  // Owned by root or the user, writable by the owner only: read.
  for (const mode of [0o644, 0o600, 0o400]) {
    const file = await configFile(body, mode)
    const result = await runCli(['slots', 'show', '--config', file])
    assert.equal(result.exitCode, 0, `mode ${mode.toString(8)}: ${result.stderr}`)
  }
})

test('force, confirm, yes and overwrite-live are refused in a config file, in any section, whatever their value', async () => {
  const {data} = await node()
  for (const key of ['force', 'confirm', 'yes', 'overwrite-live']) {
    for (const [section, value] of [['defaults', 'true'], ['node.primary', 'true'], ['defaults', 'false']]) {
      const file = await configFile(`[${section}]\n${key} = ${value}\n\n[node.other]\ndata-path = "${data}"\n`)
      for (const args of [['basebackup', 'expire', '--data-path', data, '--keep-last', '1'], ['config', 'show']]) {
        const result = await runCli([...args, '--config', file])
        assert.equal(result.exitCode, 2, `${key} in [${section}]: ${result.stderr}`)
        assert.equal(result.stderr.split('\n').length, 2, `${key}: one line`)
        assert.match(result.stderr, new RegExp(`^redrepl: ${file.replaceAll('.', '\\.')} \\[${section.replace('.', '\\.')}\\] ${key}: not taken from a config file: it switches a safety check off, so it must be typed`), `${key} in [${section}]`)
      }
    }
  }
  // Typed, they still work: the expire dry run is left as a dry run by the file, and --confirm on the line confirms.
  const file = await configFile(`[defaults]\nkeep-last = 1\n`)
  const dry = documentOf((await runCli(['basebackup', 'expire', '--data-path', data, '--config', file, '--json'])).stdout)
  assert.equal(dry.dry_run, true)
})

test('--force past a running node says so on stderr, also with --json', async () => {
  const {data} = await node()
  const holder = await holdFlock(data)
  try {
    for (const json of [false, true]) {
      const result = await runCli(['basebackup', 'materialize', '--data-path', data, '--rebootstrap', '--force', ...(json ? ['--json'] : [])])
      assert.equal(result.exitCode, 0, result.stderr)
      assert.match(result.stderr, new RegExp(`^redrepl: warning: ${data.replaceAll('.', '\\.')} is open by a running RedDB process \\(pid ${holder.pid}\\); going ahead as forced`, 'm'))
      if (json) documentOf(result.stdout)
    }
    const promote = await runCli(['timeline', 'promote', '--data-path', data, '--replica', 'replica-a', '--applied-lsn', '25', '--force', '--json'])
    assert.equal(promote.exitCode, 0, promote.stderr)
    assert.match(promote.stderr, /^redrepl: warning: .* is open by a running RedDB process/m)
  } finally {
    await stop(holder)
  }
  // No node: no warning (a copy nobody holds: the holder's child keeps the lock it inherited).
  const other = await node()
  const quiet = await runCli(['basebackup', 'materialize', '--data-path', other.data, '--rebootstrap', '--force'])
  assert.equal(quiet.exitCode, 0, quiet.stderr)
  assert.equal(quiet.stderr, '')
})

test('a file a running RedDB holds is replaced only with --overwrite-live, never by --force alone, and with a warning', async () => {
  const {data} = await node()
  const repo = await scratch.dir('redrepl-guards-repo-')
  const pushed = await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1'])
  assert.equal(pushed.exitCode, 0, pushed.stderr)
  const live = path.join(await scratch.dir('redrepl-guards-live-'), 'data.rdb')
  const runs = [
    ['basebackup', 'materialize', '--data-path', data, '--to', live],
    ['repo', 'restore', '--repo', repo, '--node', 'db1', '--rdb-version', '1', '--to', live],
  ]
  for (const args of runs) {
    const what = args.slice(0, 2).join(' ')
    writeFileSync(live, 'the live node\'s database\n')
    // A node holding the file (replaced, it would hold the old inode: each run gets a node of its own).
    const holder = await holdFlock(live)
    try {
      const forced = await runCli([...args, '--force'])
      assert.equal(forced.exitCode, 4, `${what} --force: ${forced.stderr}`)
      assert.match(forced.stderr, new RegExp(`^redrepl: ${live.replaceAll('.', '\\.')} is held by a running RedDB process \\(pid ${holder.pid}\\); it was left as it was; stop the node first; to replace it under the running node all the same, pass --overwrite-live\\n$`))
      assert.equal(readFileSync(live, 'utf8'), 'the live node\'s database\n', `${what} --force`)
      const overwritten = await runCli([...args, '--overwrite-live', '--json'])
      assert.equal(overwritten.exitCode, 0, `${what} --overwrite-live: ${overwritten.stderr}`)
      assert.match(overwritten.stderr, new RegExp(`^redrepl: warning: ${live.replaceAll('.', '\\.')} is held by a running RedDB process \\(pid ${holder.pid}\\); replacing it as asked`, 'm'))
      documentOf(overwritten.stdout)
      assert.ok(readFileSync(live).equals(readFileSync(data)), `${what}: replaced`)
    } finally {
      await stop(holder)
    }
  }
  // Nobody holds it: --force replaces it as before, silently.
  writeFileSync(live, 'the live node\'s database\n')
  const free = await runCli(['basebackup', 'materialize', '--data-path', data, '--to', live, '--force'])
  assert.equal(free.exitCode, 0, free.stderr)
  assert.equal(free.stderr, '')
})

test('the log file is refused through a symlink, a hard link, a FIFO or a device, and the file behind is untouched', async () => {
  const {data} = await node()
  const dir = await scratch.dir('redrepl-guards-log-')
  const precious = path.join(dir, 'precious.conf')
  writeFileSync(precious, 'not a log\n')
  const hard = path.join(dir, 'hard.log')
  linkSync(precious, hard)
  const soft = path.join(dir, 'soft.log')
  symlinkSync(precious, soft)
  const fifo = path.join(dir, 'fifo.log')
  execFileSync('mkfifo', [fifo])
  const cases: Array<[string, RegExp]> = [
    [hard, /the log file has 2 hard links, so it is also another name's file; refusing to append to it/],
    [soft, /cannot open the log file: is a symbolic link/],
    [fifo, /cannot open the log file: is a FIFO or socket, not a regular file/],
    ['/dev/null', /the log file is not a regular file/],
  ]
  for (const [file, message] of cases) {
    const result = await runCli(['slots', 'show', '--data-path', data, '--log-file', file], {timeoutMs: 10_000})
    assert.equal(result.exitCode, 2, `${file}: ${result.stderr}`)
    assert.match(result.stderr, message, file)
  }
  // A FIFO someone reads from: still not a log file.
  const reader = spawn('cat', [fifo], {stdio: ['ignore', 'pipe', 'ignore']})
  let read = ''
  reader.stdout.on('data', (piece) => (read += piece))
  try {
    await new Promise((resolve) => setTimeout(resolve, 200))
    const result = await runCli(['slots', 'show', '--data-path', data, '--log-file', fifo], {timeoutMs: 10_000})
    assert.equal(result.exitCode, 2, result.stderr)
    assert.match(result.stderr, /the log file is not a regular file/)
  } finally {
    reader.kill('SIGKILL')
  }
  assert.equal(read, '')
  assert.equal(readFileSync(precious, 'utf8'), 'not a log\n')
  // A plain file of one name is appended to.
  const plain = path.join(dir, 'redrepl.log')
  const ok = await runCli(['slots', 'show', '--data-path', data, '--log-file', plain])
  assert.equal(ok.exitCode, 0, ok.stderr)
  assert.ok(existsSync(plain) && readFileSync(plain, 'utf8').includes('slots-show INFO start'))
})
