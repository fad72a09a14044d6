// Writes dist/vendor/oclif-core.cache: V8's code cache of the oclif bundle,
// taken after `redrepl --help` has run in it (its output discarded), so the
// code every start-up runs is in it compiled. Node refuses a cache made by
// another Node version and compiles the bundle instead.
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {bundleCodeCache} from '../dist/src/ui/bundle.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bundle = `${root}dist/vendor/oclif-core.cjs`
const cache = await bundleCodeCache(bundle, async (oclif) => {
  const write = process.stdout.write
  process.stdout.write = () => true
  try {
    await oclif.execute({dir: new URL('../bin/run.js', import.meta.url).href, args: ['--help']})
  } finally {
    process.stdout.write = write
  }
})
writeFileSync(bundle.replace(/\.cjs$/, '.cache'), cache)
