import assert from 'node:assert/strict'
import {test} from 'node:test'

import {Chalk} from 'chalk'

import {loadStyle, paint} from '../../src/ui/style.js'

test('without colour, every style gives what chalk at level 0 gives, chained or not', async () => {
  await loadStyle(false)
  const chalk = new Chalk({level: 0})
  const inputs: unknown[][] = [['text'], [''], [undefined], [42], [['a', 'b']], ['a', 'b'], ['a', undefined, 3], [], ['multi\nline', '\u001b[1mraw\u001b[22m']]
  for (const args of inputs) {
    for (const style of [(c: typeof chalk) => c.bold, (c: typeof chalk) => c.red, (c: typeof chalk) => c.dim.yellow, (c: typeof chalk) => c.bold.red.green.cyan]) {
      assert.equal((style(paint) as (...a: unknown[]) => string)(...args), (style(chalk) as (...a: unknown[]) => string)(...args), `${JSON.stringify(args)}`)
    }
  }
  assert.equal(paint.level, 0)
})
