import assert from 'node:assert/strict'
import {test} from 'node:test'

import {fixtureLayouts, fuzzLayout} from '../fuzz/layout-mutate.js'

// The always-on slice of `npm run fuzz`'s layout part: a fixed seed, a few dozen
// mutated artifacts per fixture layout, the first of them also through the CLI.
for (const layout of fixtureLayouts()) {
  test(`${layout}: layout verify reports every mutated artifact and never stops short of its report`, async () => {
    const result = await fuzzLayout(layout, 80, 20261201, 80)
    assert.deepEqual(result.failures, [])
    assert.ok(result.runs > 60)
    assert.ok(result.flagged > 0)
    assert.equal(result.cliRuns, 1)
  })
}
