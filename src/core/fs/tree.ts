import {mkdir, mkdtemp, rename, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/**
 * Whole directories: created with their parents, made new under the system
 * temp directory, moved by one rename, and removed with everything in them.
 * Callers translate the errors, because only they know what the directory
 * was for ("cannot write the scratch directory" is theirs to say).
 */

/** Creates `dir` and any missing parents; an existing directory is no error. */
export async function makeDirs(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true})
}

/** A new, empty directory under the system temp directory, its name starting with `prefix` (mkdtemp: unique, created exclusively). */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix))
}

/** Renames a directory (or file) in one step; both names must be on one filesystem. */
export function moveEntry(from: string, to: string): Promise<void> {
  return rename(from, to)
}

/** Removes `target` and everything below it; an absent target is no error. */
export function removeTree(target: string): Promise<void> {
  return rm(target, {recursive: true, force: true})
}
