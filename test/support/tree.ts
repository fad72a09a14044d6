import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import path from 'node:path'

/**
 * Every file under `dir` (relative path → sha256), the lock file left out:
 * what a run leaves behind. The dir's own path inside file contents (a
 * rebootstrap marker's pending_path) reads as DIR, so two copies compare.
 */
export function treeOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const file = path.join(current, name)
      if (statSync(file).isDirectory()) walk(file)
      else if (name !== '.redrepl.lock') {
        const content = readFileSync(file).toString('latin1').replaceAll(dir, 'DIR')
        out[path.relative(dir, file)] = createHash('sha256').update(content, 'latin1').digest('hex')
      }
    }
  }
  walk(dir)
  return out
}

/** Every regular file under `dir`, relative to it with `/` between names, sorted; none when `dir` does not exist. */
export function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort()
}
