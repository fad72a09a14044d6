import {statSync} from 'node:fs'
import path from 'node:path'

/**
 * A path made absolute the way an operator writes it into a node's
 * configuration. RedDB compares the rebootstrap marker's pending_path with
 * the path it derives from its own data path without resolving symlinks
 * (format §8), so a relative path is completed with the working directory
 * as the shell names it (`$PWD`, like `pwd -L`) when that names this very
 * directory, not with getcwd(), which resolves every symlink on the way.
 */
export function absolutePath(file: string): string {
  if (path.isAbsolute(file)) return file
  return path.resolve(workingDirectory(), file)
}

function workingDirectory(): string {
  const physical = process.cwd()
  const logical = process.env.PWD
  if (logical === undefined || !path.isAbsolute(logical) || logical === physical) return physical
  try {
    const a = statSync(logical, {bigint: true})
    const b = statSync('.', {bigint: true})
    return a.dev === b.dev && a.ino === b.ino ? logical : physical
  } catch {
    return physical
  }
}
