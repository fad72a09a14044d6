// npm test: every unit, conformance, property and end-to-end test file under
// node's test runner, then the conformance runner over every fixture set: one
// per RedDB release served (1.12 and 1.23). REDREPL_FIXTURES=DIR[:DIR…] runs
// the conformance runner over those sets instead (the test files use the first).
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const suites = ['unit', 'conformance', 'property', 'e2e', 'reliability']
const files = suites.flatMap((suite) => {
  const dir = `${root}dist/test/${suite}`
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.js'))
    .sort()
    .map((name) => `${dir}/${name}`)
})
if (files.length === 0) {
  console.error('test: no test files found under dist/test')
  process.exit(1)
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const tests = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], {
  cwd: root,
  stdio: 'inherit',
})
const sets = process.env.REDREPL_FIXTURES?.split(':').filter(Boolean) ?? ['v1.12.0', 'v1.23.2'].map((version) => `${root}../shared/fixtures/${version}`)
let conformanceOk = true
for (const fixtures of sets) {
  console.log(`conformance over ${fixtures}`)
  const run = spawnSync(process.execPath, [`${root}dist/test/conformance/run.js`, '--fixtures', fixtures], {cwd: root, stdio: 'inherit'})
  conformanceOk &&= run.status === 0
}
process.exit(tests.status === 0 && conformanceOk ? 0 : 1)
