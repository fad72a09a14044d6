import type {Hook} from '@oclif/core'

import {EXIT_CODES} from '../core/errors.js'

/** An unknown command is a usage error like any other: one line, exit 2. */
const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.replaceAll(':', ' ')
  const near = options.config.commandIDs.filter((id) => id.startsWith(options.id.split(':')[0])).map((id) => id.replaceAll(':', ' '))
  const hint = near.length > 0 ? `; did you mean: ${near.join(', ')}` : ''
  process.stderr.write(`redrepl: unknown command "${typed}"${hint} (see: redrepl --help)\n`)
  process.exit(EXIT_CODES.usage)
}

export default hook
