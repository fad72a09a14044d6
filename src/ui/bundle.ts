import {readFileSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {Script} from 'node:vm'

/** Larger than the oclif bundle and its code cache will ever be: a bound on what is read. */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024

/**
 * The name the build gives `import()` inside a pre-bundled file: Node 20
 * drops a script's dynamic-import callback when the script comes from a
 * code cache, so the bundle calls this parameter instead, and it imports
 * from this module.
 */
export const BUNDLE_IMPORT = '__redreplImport'

export interface LoadedBundle {
  exports: unknown
  /** Whether V8 used the code cache (false: no cache file, or V8 refused it and compiled the source). */
  cacheUsed: boolean
}

function readBounded(file: string): Buffer {
  const size = statSync(file).size
  if (size > MAX_BUNDLE_BYTES) throw new Error(`${file}: ${size} bytes, more than a bundle can be`)
  return readFileSync(file)
}

function readCache(file: string): Buffer | undefined {
  try {
    return readBounded(file)
  } catch {
    return undefined
  }
}

/**
 * Runs a CommonJS bundle from `file` as `require` would (its wrapper's
 * arguments, `this` its exports), starting from the
 * V8 code cache in `cacheFile` when there is one. V8 checks the cache
 * against its own version and flags and against the source before using
 * it, and compiles the source when the cache does not fit: a stale or
 * missing cache costs time, never behaviour.
 */
export function loadBundle(file: string, cacheFile: string): LoadedBundle {
  const source = readBounded(file).toString('utf8')
  const cachedData = readCache(cacheFile)
  const script = new Script(wrap(source), {filename: file, cachedData})
  const module = {exports: {} as unknown}
  const run = script.runInThisContext() as (...args: unknown[]) => void
  run.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), (specifier: string) => import(specifier))
  return {exports: module.exports, cacheUsed: script.cachedDataRejected === false}
}

/**
 * The code cache of a bundle, taken after `warm` has run code in it, so
 * that the functions start-up calls are in it compiled (the build writes
 * it beside the bundle).
 */
export async function bundleCodeCache(file: string, warm: (exports: unknown) => Promise<void>): Promise<Buffer> {
  const script = new Script(wrap(readBounded(file).toString('utf8')), {filename: file})
  const module = {exports: {} as unknown}
  const run = script.runInThisContext() as (...args: unknown[]) => void
  run.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), (specifier: string) => import(specifier))
  await warm(module.exports)
  return script.createCachedData()
}

const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname, ${BUNDLE_IMPORT}) {${source}\n})`
