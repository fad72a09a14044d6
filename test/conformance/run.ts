import {existsSync} from 'node:fs'
import path from 'node:path'

import {runConformance} from './suite.js'

// npm run conformance -- --fixtures DIR
const args = process.argv.slice(2)
const at = args.indexOf('--fixtures')
const dir = at >= 0 ? args[at + 1] : undefined
if (!dir || !existsSync(dir)) {
  console.error(`usage: npm run conformance -- --fixtures DIR${dir ? ` (no such directory: ${dir})` : ''}`)
  process.exit(2)
}

const results = await runConformance(path.resolve(dir))
const failed = results.filter((result) => result.failure !== undefined)
for (const result of failed) console.log(`FAIL ${result.name}: ${result.failure}`)
console.log(`conformance: ${results.length - failed.length} passed, ${failed.length} failed`)
process.exit(failed.length === 0 && results.length > 0 ? 0 : 1)
