import {lstat, readdir, rmdir, unlink} from 'node:fs/promises'
import path from 'node:path'

import {RedreplError} from '../errors.js'
import {fsyncDir, isTemporaryName} from '../fs/atomic.js'
import {isProcessAlive} from '../fs/processes.js'
import {Layout, parseBasebackupName, parseTimelineDirName} from '../layout.js'
import {listDir} from './node-state.js'

export type LeftoverKind = 'staging-dir' | 'orphan-parts' | 'temp-file'

export interface Leftover {
  kind: LeftoverKind
  path: string
  bytes: bigint
  reason: string
}

export interface LayoutCleanReport {
  root_path: string
  dry_run: boolean
  leftovers: Leftover[]
  /** Entries that look like leftovers but are not what their names claim: never removed. */
  skipped: Array<{path: string; reason: string}>
  removed: number
  freed_bytes: bigint
}

const STAGING = /^(base-\d{20}-\d{20}\.redbase)\.parts\.tmp-(\d+)-\d+$/
const CHUNK = /^\d{20}\.redchunk$/

/** A directory holding only regular chunk files (or nothing): the total size, or why it is not one. */
async function chunkDirSize(dir: string): Promise<{bytes: bigint} | {not: string}> {
  let bytes = 0n
  for (const name of await readdir(dir)) {
    const info = await lstat(path.join(dir, name))
    if (!CHUNK.test(name) || !info.isFile()) return {not: `holds ${JSON.stringify(name)}, which is not a chunk file`}
    bytes += BigInt(info.size)
  }
  return {bytes}
}

class Finder {
  readonly leftovers: Leftover[] = []
  readonly skipped: LayoutCleanReport['skipped'] = []

  async tempFiles(dir: string): Promise<void> {
    for (const name of (await listDir(dir)).sort()) {
      if (!isTemporaryName(name) || STAGING.test(name)) continue
      const file = path.join(dir, name)
      const info = await lstat(file)
      if (info.isFile()) this.leftovers.push({kind: 'temp-file', path: file, bytes: BigInt(info.size), reason: 'temporary file left by an interrupted write'})
      else this.skipped.push({path: file, reason: 'named like a temporary file but not a regular file'})
    }
  }

  async basebackupDir(dir: string): Promise<void> {
    const names = await listDir(dir)
    for (const name of names.sort()) {
      const file = path.join(dir, name)
      const staging = STAGING.exec(name)
      const orphan = name.endsWith('.redbase.parts') && parseBasebackupName(name.slice(0, -'.parts'.length)) !== undefined && !names.includes(name.slice(0, -'.parts'.length))
      if (!staging && !orphan) continue
      const info = await lstat(file)
      if (!info.isDirectory()) {
        this.skipped.push({path: file, reason: 'named like a chunk directory but not a directory'})
        continue
      }
      // A RedDB process still alive may be writing this staging dir right now.
      if (staging && isProcessAlive(Number(staging[2]))) {
        this.skipped.push({path: file, reason: `process ${staging[2]} that writes it is still running`})
        continue
      }
      const size = await chunkDirSize(file)
      if ('not' in size) this.skipped.push({path: file, reason: size.not})
      else if (staging) this.leftovers.push({kind: 'staging-dir', path: file, bytes: size.bytes, reason: 'staging dir of an interrupted base backup'})
      else this.leftovers.push({kind: 'orphan-parts', path: file, bytes: size.bytes, reason: 'chunk directory without a manifest'})
    }
    await this.tempFiles(dir)
  }
}

/**
 * `layout clean`: finds what interrupted runs left (RedDB's or ours) and,
 * when `confirm`, removes it. Only entries that are what their names claim
 * go: a staging or orphan parts dir must hold nothing but regular chunk
 * files, a temp file must be a regular file; anything else is listed as
 * skipped. Run under the layout lock, so no redrepl writer is mid-way.
 */
export async function cleanLayout(layout: Layout, options: {confirm: boolean}): Promise<LayoutCleanReport> {
  const finder = new Finder()
  await finder.tempFiles(layout.root)
  for (const name of (await listDir(layout.root)).sort()) {
    if (parseTimelineDirName(name) === undefined) continue
    const dir = path.join(layout.root, name)
    if (!(await lstat(dir)).isDirectory()) continue
    await finder.tempFiles(dir)
    await finder.tempFiles(path.join(dir, 'wal'))
    await finder.basebackupDir(path.join(dir, 'basebackup'))
    for (const replica of (await listDir(path.join(dir, 'relay'))).sort()) {
      const relayDir = path.join(dir, 'relay', replica)
      if ((await lstat(relayDir)).isDirectory()) await finder.tempFiles(relayDir)
    }
  }
  let removed = 0
  let freed = 0n
  if (options.confirm) {
    for (const leftover of finder.leftovers) {
      try {
        if (leftover.kind === 'temp-file') await unlink(leftover.path)
        else {
          for (const name of await readdir(leftover.path)) if (CHUNK.test(name)) await unlink(path.join(leftover.path, name))
          await rmdir(leftover.path)
        }
        await fsyncDir(path.dirname(leftover.path))
      } catch (error) {
        throw new RedreplError('failure', `${leftover.path}: cannot remove: ${(error as Error).message}`)
      }
      removed++
      freed += leftover.bytes
    }
  }
  return {root_path: layout.root, dry_run: !options.confirm, leftovers: finder.leftovers, skipped: finder.skipped, removed, freed_bytes: freed}
}
