import {Flags} from './oclif.js'
import {usageError} from '../core/errors.js'

import {parseByteSize, parseRate, parseU64} from './numbers.js'

/** A u64 flag: exact, as bigint. */
export const u64Flag = Flags.custom<bigint>({
  helpValue: 'N',
  async parse(input, _context, options) {
    return parseU64(input, options.name ?? 'value')
  },
})

/** A byte-size flag: plain bytes or a binary-suffixed size (64MiB). */
export const byteSizeFlag = Flags.custom<bigint>({
  helpValue: 'SIZE',
  async parse(input, _context, options) {
    return parseByteSize(input, options.name ?? 'value')
  },
})

export const jsonFlag = Flags.boolean({description: 'Print one JSON document on stdout (integers exact) and nothing else; the same as --output json.'})

/** Plain progress lines for unattended runs of the long byte streams (ui/progress.ts). */
export const progressFlag = Flags.boolean({
  description: 'When stderr is not a terminal (cron mail, journald, a file), print a plain progress line on stderr every 10 % or 10 seconds: done, total, rate, ETA. Never with --json or --output json|tsv; on a terminal the spinner shows progress anyway.',
})

/** `--max-rate`, as pg_basebackup has it: the most bytes per second the run reads (or transfers). */
export const maxRateFlag = Flags.custom<number>({
  description: 'Read at most this many bytes per second (e.g. 100MiB, 512KiB, 1GiB; a bare number is bytes per second), to spare a disk or link a live node needs. Ctrl-C still stops the run at once.',
  helpValue: 'RATE',
  async parse(input, _context, options) {
    return parseRate(input, options.name ?? 'max-rate')
  },
})()

export const dataPathFlag = Flags.string({
  description: 'The node\'s data path D (e.g. /var/lib/reddb/data.rdb); every other path derives from it.',
  env: 'REDDB_DATA_PATH',
  helpValue: 'D',
})

export const forceFlag = Flags.boolean({description: 'Act even though a running RedDB process holds the data file (a warning says so on stderr). Never taken from a config file.'})

/** Replacing a file a running RedDB holds: never implied by --force. */
export const overwriteLiveFlag = Flags.boolean({
  description: 'Replace the --to file even though a running RedDB process holds it (its data file): the node keeps writing to the old file and loses what it writes from then on. A warning says so on stderr. Never taken from a config file; --force alone does not do this.',
})

export const dryRunFlag = Flags.boolean({description: 'Show what would change without writing anything.', default: false})

/** The data path every node command needs; a usage error when neither flag nor env gives it. */
export function requireDataPath(value: string | undefined): string {
  if (value === undefined || value === '') throw usageError('no data path: pass --data-path D or set REDDB_DATA_PATH')
  return value
}

/** How long a writer waits for another redrepl run's layout lock (default: exit 5 at once). */
export const waitFlag = Flags.integer({
  description: 'Wait up to this many seconds for another redrepl run on the same layout to finish (default: exit 5 at once).',
  min: 0,
  default: 0,
  helpValue: 'SECONDS',
})
