import type {Hook} from '@oclif/core'

import {EXIT_CODES} from '../core/errors.js'
import {suggest} from '../ui/suggest.js'

/** An unknown command is a usage error like any other: one line, exit 2, with the nearest commands. */
const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.replaceAll(':', ' ')
  const ids = options.config.commandIDs.map((id) => id.replaceAll(':', ' '))
  const near = suggest(typed, ids)
  const sameTopic = ids.filter((id) => id.startsWith(`${typed.split(' ')[0]} `))
  const shown = near.length > 0 ? near : sameTopic
  const hint = shown.length > 0 ? `; did you mean: ${shown.join(', ')}` : ''
  process.stderr.write(`redrepl: unknown command "${typed}"${hint} (see: redrepl --help)\n`)
  process.exit(EXIT_CODES.usage)
}

export default hook
