import {fixtureLayouts, fuzzLayout} from './layout-mutate.js'
import {ARTIFACT_KINDS, fuzzKind} from './mutate.js'

// npm run fuzz [-- --iterations N --seed S]
const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const iterations = option('iterations', 10_000)
const seed = option('seed', Date.now() % 1_000_000)

let passed = 0
let failed = 0
for (const kind of ARTIFACT_KINDS) {
  const started = performance.now()
  const result = fuzzKind(kind, iterations, seed)
  for (const failure of result.failures) console.log(`FAIL ${failure}`)
  console.log(`${kind}: ${result.runs} inputs, ${result.decoded} decoded, ${result.rejected} rejected, ${result.failures.length} failures in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  passed += result.runs - result.failures.length
  failed += result.failures.length
}
// Whole layouts: one artifact mutated at a time, layout verify must report it; every 50th run also through the CLI.
for (const layout of fixtureLayouts()) {
  const started = performance.now()
  const result = await fuzzLayout(layout, Math.ceil(iterations / 10), seed, 50)
  for (const failure of result.failures) console.log(`FAIL ${failure}`)
  console.log(`layout ${layout}: ${result.runs} mutations, ${result.flagged} flagged, ${result.cliRuns} through the CLI, ${result.failures.length} failures in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  passed += result.runs - result.failures.length
  failed += result.failures.length
}
console.log(`seed ${seed}`)
console.log(`fuzz: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
