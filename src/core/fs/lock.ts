import {mkdir, open, readFile, rmdir, stat, unlink} from 'node:fs/promises'
import os from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {lockHeld, RedreplError} from '../errors.js'
import {isProcessAlive, processStartTime} from './processes.js'

/**
 * redrepl's own writers take turns on a layout through a lock file created
 * with O_EXCL. It records its holder (pid and process start time), so a
 * holder that crashed is recognised as gone and its lock taken over: a
 * crash can never block the next run. Stale locks are only removed under a
 * short-lived guard directory, so two runs cannot both take one over.
 */

export interface LockHolder {
  pid: number
  start_time?: string
  hostname: string
  command: string
  acquired_at: string
}

export interface LayoutLock {
  release(): Promise<void>
}

const POLL_MS = 50
const GUARD_STALE_MS = 10_000

async function readHolder(lockPath: string): Promise<{text: string; holder?: LockHolder} | undefined> {
  try {
    const text = await readFile(lockPath, 'utf8')
    try {
      return {text, holder: JSON.parse(text) as LockHolder}
    } catch {
      return {text}
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function isLive(holder: LockHolder | undefined): boolean {
  if (holder === undefined) return false
  if (holder.hostname !== os.hostname()) return true // another machine's process cannot be checked: assume it lives
  return isProcessAlive(holder.pid, holder.start_time)
}

/** Removes the lock file if it still holds exactly `staleText`, under the takeover guard. */
async function removeStale(lockPath: string, staleText: string): Promise<void> {
  const guard = `${lockPath}.takeover`
  try {
    await mkdir(guard)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const age = await stat(guard).then((info) => Date.now() - info.mtimeMs, () => 0)
    if (age > GUARD_STALE_MS) await rmdir(guard).catch(() => {})
    return
  }
  try {
    const current = await readHolder(lockPath)
    if (current?.text === staleText) await unlink(lockPath).catch(() => {})
  } finally {
    await rmdir(guard).catch(() => {})
  }
}

export async function acquireLayoutLock(lockPath: string, options: {command: string; wait?: number; signal?: AbortSignal}): Promise<LayoutLock> {
  const me: LockHolder = {
    pid: process.pid,
    start_time: processStartTime(process.pid),
    hostname: os.hostname(),
    command: options.command,
    acquired_at: new Date().toISOString(),
  }
  const text = JSON.stringify(me)
  const deadline = Date.now() + (options.wait ?? 0)
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644)
      try {
        await handle.writeFile(text)
        await handle.sync()
      } finally {
        await handle.close()
      }
      return {release: () => releaseIfOurs(lockPath, text)}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new RedreplError('failure', `${lockPath}: cannot create the layout lock: ${(error as Error).message}`)
      }
    }
    const current = await readHolder(lockPath)
    if (current === undefined) continue
    if (!isLive(current.holder)) {
      await removeStale(lockPath, current.text)
      continue
    }
    if (Date.now() >= deadline) {
      const holder = current.holder!
      throw lockHeld(`${lockPath} is held by redrepl ${holder.command} (pid ${holder.pid} on ${holder.hostname}, since ${holder.acquired_at}); try again when it has finished`)
    }
    options.signal?.throwIfAborted()
    await sleep(POLL_MS)
  }
}

async function releaseIfOurs(lockPath: string, text: string): Promise<void> {
  const current = await readHolder(lockPath).catch(() => undefined)
  if (current?.text === text) await unlink(lockPath).catch(() => {})
}
