import {lstatSync, realpathSync} from 'node:fs'
import {lstat, realpath} from 'node:fs/promises'
import path from 'node:path'

import {FormatError, usageError} from '../errors.js'
import {storedPathProblem} from '../layout.js'

/**
 * Resolves a path stored in a manifest under `baseDir`, refusing one that
 * breaks the stored-path rule (layout.ts `storedPathProblem`) or reaches
 * outside `baseDir` through a symlink on the way.
 */
export async function resolveContained(baseDir: string, relative: string): Promise<string> {
  const problem = storedPathProblem(relative)
  if (problem !== undefined) throw new FormatError(`path ${JSON.stringify(relative)} ${problem}`)
  const joined = path.join(baseDir, relative)
  const realBase = await realpath(baseDir).catch(() => path.resolve(baseDir))
  let probe = joined
  // The deepest existing ancestor decides where the path really leads.
  for (;;) {
    const exists = await lstat(probe).then(
      () => true,
      () => false,
    )
    if (exists) break
    const parent = path.dirname(probe)
    if (parent === probe) break
    probe = parent
  }
  const real = await realpath(probe).catch(() => path.resolve(probe))
  if (real !== realBase && !real.startsWith(realBase + path.sep)) {
    throw new FormatError(`path ${JSON.stringify(relative)} leads outside ${baseDir} (to ${real})`)
  }
  return joined
}

/**
 * resolveContained with synchronous calls, for a caller that resolves every
 * chunk of a backup before reading it: thousands of thread-pool round trips
 * left the copy waiting on the pool. `realBase`, the real path of `baseDir`,
 * may be passed in once for many paths.
 */
export function resolveContainedSync(baseDir: string, relative: string, realBase = realBaseOf(baseDir)): string {
  const problem = storedPathProblem(relative)
  if (problem !== undefined) throw new FormatError(`path ${JSON.stringify(relative)} ${problem}`)
  const joined = path.join(baseDir, relative)
  let probe = joined
  // The deepest existing ancestor decides where the path really leads.
  for (;;) {
    if (existsNoFollow(probe)) break
    const parent = path.dirname(probe)
    if (parent === probe) break
    probe = parent
  }
  let real: string
  try {
    real = realpathSync.native(probe)
  } catch {
    real = path.resolve(probe)
  }
  if (real !== realBase && !real.startsWith(realBase + path.sep)) {
    throw new FormatError(`path ${JSON.stringify(relative)} leads outside ${baseDir} (to ${real})`)
  }
  return joined
}

function existsNoFollow(file: string): boolean {
  try {
    lstatSync(file)
    return true
  } catch {
    return false
  }
}

/** The real path of a directory, or the path made absolute when it cannot be resolved. */
export function realBaseOf(baseDir: string): string {
  try {
    return realpathSync.native(baseDir)
  } catch {
    return path.resolve(baseDir)
  }
}

/** A name used as one path component (a replica id): not empty, not `.`/`..`, no `/` or NUL. */
export function assertPlainComponent(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw usageError(`${what} ${JSON.stringify(name)} must be a single plain path component (no "/", not "." or "..")`)
  }
}
