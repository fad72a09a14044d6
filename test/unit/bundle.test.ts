import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

import {BUNDLE_IMPORT, bundleCodeCache, loadBundle} from '../../src/ui/bundle.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()

/** A small CommonJS bundle: a value, a function, a require and an import() through the bundle's parameter. */
const SOURCE = `
const path = require('node:path')
exports.answer = 6 * 7
exports.base = path.basename(__filename)
exports.load = (url) => ${BUNDLE_IMPORT}(url)
exports.self = this === exports
`

async function bundleIn(dir: string, source = SOURCE): Promise<{file: string; cache: string}> {
  const file = path.join(dir, 'bundle.cjs')
  await writeFile(file, source)
  await writeFile(path.join(dir, 'module.mjs'), 'export const from = "esm"\n')
  return {file, cache: path.join(dir, 'bundle.cache')}
}

/**
 * Loads the bundle in a fresh Node and says whether the cache was used: in
 * one process V8 keeps what it compiled, and a second load of the same
 * source would not look at the cache at all.
 */
function cacheUsedInFreshNode(file: string, cache: string): boolean {
  const loader = new URL('../../src/ui/bundle.js', import.meta.url).href
  const script = `const {loadBundle} = await import(${JSON.stringify(loader)})
const loaded = loadBundle(${JSON.stringify(file)}, ${JSON.stringify(cache)})
if (loaded.exports.answer !== 42 || loaded.exports.self !== true) throw new Error('wrong exports')
await loaded.exports.load(${JSON.stringify(new URL(`file://${path.join(path.dirname(file), 'module.mjs')}`).href)})
process.stdout.write(String(loaded.cacheUsed))`
  return execFileSync(process.execPath, ['--input-type=module', '-e', script]).toString() === 'true'
}

async function assertWorks(exports: unknown, dir: string): Promise<void> {
  const bundle = exports as {answer: number; base: string; self: boolean; load(url: string): Promise<{from: string}>}
  assert.equal(bundle.answer, 42)
  assert.equal(bundle.self, true, 'this at the top of the bundle is its exports, as under require')
  assert.equal(bundle.base, 'bundle.cjs')
  assert.equal((await bundle.load(new URL(`file://${path.join(dir, 'module.mjs')}`).href)).from, 'esm')
}

test('without a cache file the bundle is compiled and runs', async () => {
  const dir = await scratch.dir()
  const {file, cache} = await bundleIn(dir)
  const loaded = loadBundle(file, cache)
  assert.equal(loaded.cacheUsed, false)
  await assertWorks(loaded.exports, dir)
})

test('a cache taken after a warm run is used, and import() still works when the code comes from it', async () => {
  const dir = await scratch.dir()
  const {file, cache} = await bundleIn(dir)
  await writeFile(cache, await bundleCodeCache(file, async (exports) => assertWorks(exports, dir)))
  assert.equal(cacheUsedInFreshNode(file, cache), true)
})

test('a cache that does not fit is refused and the source compiled: random bytes, a truncated cache, another source’s', async () => {
  const dir = await scratch.dir()
  const {file, cache} = await bundleIn(dir)
  const good = await bundleCodeCache(file, async () => {})
  const otherDir = await scratch.dir()
  const other = await bundleIn(otherDir, `${SOURCE}\nexports.more = [1, 2, 3].map((n) => n * 2)\n`)
  const otherCache = await bundleCodeCache(other.file, async () => {})
  for (const bytes of [randomBytes(good.length), good.subarray(0, good.length >> 1), otherCache, Buffer.alloc(0)]) {
    await writeFile(cache, bytes)
    assert.equal(cacheUsedInFreshNode(file, cache), false)
  }
})

test('the build leaves a code cache this Node uses for the oclif bundle', () => {
  const bundle = fileURLToPath(new URL('../../vendor/oclif-core.cjs', import.meta.url))
  const loader = new URL('../../src/ui/bundle.js', import.meta.url).href
  const script = `const {loadBundle} = await import(${JSON.stringify(loader)})
const loaded = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(bundle.replace(/\.cjs$/, '.cache'))})
process.stdout.write(String(loaded.cacheUsed && typeof loaded.exports.execute === 'function'))`
  assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script]).toString(), 'true')
})
