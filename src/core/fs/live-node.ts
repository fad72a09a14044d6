import {readdir, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {refused} from '../errors.js'
import {warnOperator} from '../log.js'
import {dataPathArtifacts} from '../layout.js'
import {absentAsUndefined, ioReason} from './io-error.js'

/**
 * Whether a RedDB process is running on a data file: RedDB holds an
 * exclusive flock() on D while it runs. Node has no flock(), and probing
 * by taking the lock would race with a starting node, so the kernel's lock
 * table (/proc/locks) is read instead and matched by device and inode.
 */

export interface FlockHolder {
  pid: number
  mode: 'WRITE' | 'READ'
}

const PROC_LOCKS = '/proc/locks'

/** Linux's device encoding: major and minor as /proc/locks prints them (hex). */
function deviceParts(dev: bigint): {major: bigint; minor: bigint} {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn)
  return {major, minor}
}

export async function findFlockHolders(file: string, locksPath = PROC_LOCKS): Promise<FlockHolder[]> {
  const info = await stat(file, {bigint: true})
  const {major, minor} = deviceParts(info.dev)
  const table = await readFile(locksPath, 'utf8')
  const holders: FlockHolder[] = []
  for (const line of table.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF"; blocked waiters carry "->" and hold nothing.
    const fields = line.trim().split(/\s+/)
    if (fields[1] === '->' || fields[1] !== 'FLOCK') continue
    const [, , , mode, pid, id] = fields
    const [maj, min, inode] = id?.split(':') ?? []
    if (inode === undefined || BigInt(inode) !== info.ino) continue
    if (BigInt(`0x${maj}`) !== major || BigInt(`0x${min}`) !== minor) continue
    holders.push({pid: Number(pid), mode: mode === 'READ' ? 'READ' : 'WRITE'})
  }
  return holders
}

/**
 * Refuses when a process holds a flock on the data file; a missing file means
 * no node. Forced, it goes ahead, but never silently: the operator is warned
 * (on stderr, whatever the output mode) whenever the check found a node or
 * could not tell.
 */
export async function assertNoLiveNode(dataPath: string, options: {force: boolean}, locksPath = PROC_LOCKS): Promise<void> {
  let holders: FlockHolder[]
  try {
    holders = await findFlockHolders(dataPath, locksPath)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !(await stat(dataPath).then(() => true, () => false))) return
    const unknown = `cannot tell whether a RedDB process holds ${dataPath} (${locksPath}: ${(error as Error).message})`
    if (options.force) return warnOperator(`${unknown}; going ahead as forced`, {path: dataPath})
    throw refused(`${unknown}; stop the node and pass --force`)
  }
  if (holders.length > 0) {
    const held = `${dataPath} is open by a running RedDB process (pid ${holders.map((h) => h.pid).join(', ')})`
    if (options.force) return warnOperator(`${held}; going ahead as forced: the node may overwrite or be confused by what this run writes`, {path: dataPath})
    throw refused(`${held}; stop the node or pass --force`)
  }
}

/**
 * Guards the replacement of a file a running RedDB holds (its data file as
 * a restore's target): refused unless `overwriteLive`, and then warned. The
 * node keeps writing through its open descriptor into the replaced inode,
 * so what it writes meanwhile is lost and the new file is what it finds at
 * its next start.
 */
export async function assertNotLiveFile(file: string, options: {overwriteLive: boolean}): Promise<void> {
  let holders: FlockHolder[]
  try {
    holders = await findFlockHolders(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw refused(`cannot tell whether a RedDB process holds ${file} (${(error as Error).message}); nothing was changed`)
  }
  if (holders.length === 0) return
  const held = `${file} is held by a running RedDB process (pid ${holders.map((h) => h.pid).join(', ')})`
  if (!options.overwriteLive) {
    throw refused(`${held}; it was left as it was`, {code: 'guard.live-file', hint: 'stop the node first; to replace it under the running node all the same, pass --overwrite-live'})
  }
  warnOperator(`${held}; replacing it as asked: the node keeps writing to the old file, and what it writes from now on is lost`, {path: file})
}

/**
 * Every regular file beside `dataPath` whose derived layout root is the same
 * as its own (`data.rdb`, `data`, `data.rbd` all lead to `data.primary-replica`):
 * the names a RedDB node of this layout can be running under. A guard that
 * only looked at the spelling given would miss a node holding another one.
 */
export async function layoutDataFiles(dataPath: string): Promise<string[]> {
  const dir = path.dirname(dataPath)
  const root = dataPathArtifacts(dataPath).root
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw refused(`cannot list ${dir} to find the layout's data files (${ioReason(error)})`)
  }
  const files: string[] = []
  for (const name of names.sort()) {
    const candidate = path.join(dir, name)
    if (dataPathArtifacts(candidate).root !== root) continue
    if ((await stat(candidate).catch(absentAsUndefined('stat', candidate)))?.isFile()) files.push(candidate)
  }
  return files
}

/**
 * The pids of RedDB processes holding a flock on any data file of the
 * layout (empty: none); null when the kernel's lock table cannot be read,
 * so a caller can tell "not running" from "cannot tell".
 */
export async function liveNodePids(dataPath: string, locksPath = PROC_LOCKS): Promise<number[] | null> {
  const pids = new Set<number>()
  for (const file of await layoutDataFiles(dataPath)) {
    try {
      for (const holder of await findFlockHolders(file, locksPath)) pids.add(holder.pid)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !(await stat(file).then(() => true, () => false))) continue
      return null
    }
  }
  return [...pids].sort((a, b) => a - b)
}
