import assert from 'node:assert/strict'
import {test} from 'node:test'

import {ARTIFACT_KINDS, fuzzKind} from '../fuzz/mutate.js'

// The always-on slice of `npm run fuzz`: a fixed seed, a few hundred inputs per kind.
for (const kind of ARTIFACT_KINDS) {
  test(`${kind}: mutation fuzzing finds no crash, hang or runaway allocation`, () => {
    const result = fuzzKind(kind, 400, 20261124)
    assert.deepEqual(result.failures, [])
    assert.equal(result.runs, 400)
  })
}
