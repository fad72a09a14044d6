import {readdir, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {refused} from '../errors.js'
import {dataPathArtifacts} from '../layout.js'

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

/** Refuses unless forced when a process holds a flock on the data file; a missing file means no node. */
export async function assertNoLiveNode(dataPath: string, options: {force: boolean}, locksPath = PROC_LOCKS): Promise<void> {
  if (options.force) return
  let holders: FlockHolder[]
  try {
    holders = await findFlockHolders(dataPath, locksPath)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && !(await stat(dataPath).then(() => true, () => false))) return
    throw refused(`cannot tell whether a RedDB process holds ${dataPath} (${locksPath}: ${(error as Error).message}); stop the node and pass --force`)
  }
  if (holders.length > 0) {
    throw refused(`${dataPath} is open by a running RedDB process (pid ${holders.map((h) => h.pid).join(', ')}); stop the node or pass --force`)
  }
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
    throw refused(`cannot list ${dir} to find the layout's data files (${(error as Error).message})`)
  }
  const files: string[] = []
  for (const name of names.sort()) {
    const candidate = path.join(dir, name)
    if (dataPathArtifacts(candidate).root !== root) continue
    if ((await stat(candidate).catch(() => undefined))?.isFile()) files.push(candidate)
  }
  return files
}
