import {usageError} from '../core/errors.js'
import {Parser} from './oclif.js'

/**
 * How a command prints its result (--output), and how wide a human table
 * may be. One place decides, so no command tracks the mode itself.
 */

export const OUTPUT_MODES = ['human', 'json', 'tsv', 'wide'] as const
export type OutputMode = (typeof OUTPUT_MODES)[number]

/** The width a piped human table keeps when COLUMNS does not say: what a terminal has by default. */
export const PIPE_WIDTH = 80

/**
 * The mode from --json and --output. --json is --output json; with any other
 * --output it contradicts itself and is refused rather than one of them
 * silently winning. A command without a JSON document (metrics prints the
 * Prometheus format) refuses json and tsv.
 */
export function resolveOutputMode(flags: {json?: boolean; output?: string}, hasDocument: boolean): OutputMode {
  const asked = flags.output as OutputMode | undefined
  if (flags.json && asked !== undefined && asked !== 'json') throw usageError(`--json and --output ${asked} contradict each other`, {hint: 'pass one of them'})
  const mode: OutputMode = flags.json ? 'json' : (asked ?? 'human')
  if (!hasDocument && (mode === 'json' || mode === 'tsv')) throw usageError(`--output ${mode}: this command prints text only, no document`, {hint: 'leave --output out'})
  return mode
}

/** JSON and TSV are for programs: nothing but the document on stdout, no colour, no progress on stderr. */
export const isMachineMode = (mode: OutputMode) => mode === 'json' || mode === 'tsv'

/**
 * The mode a run asked for when its other flags could not be parsed (check
 * reports UNKNOWN in the form asked): oclif parses --json and --output
 * alone, the other flags set aside as ones it does not know (their parse
 * is complete when it says so); a mode that does not parse either is human.
 */
export async function askedOutputMode(argv: readonly string[], flags: {json?: unknown; output: unknown}): Promise<OutputMode> {
  const declared = flags.json === undefined ? {output: flags.output} : flags
  let asked: {json?: boolean; output?: OutputMode}
  try {
    asked = (await Parser.parse([...argv], {flags: declared as never, strict: false})).flags
  } catch (error) {
    // Only "nonexistent flags" comes after a complete parse of the two.
    const parsed = (error as {parse?: {output?: {flags?: typeof asked}}}).parse?.output?.flags
    if (Array.isArray((error as {flags?: unknown}).flags) && parsed !== undefined) asked = parsed
    else return 'human'
  }
  return asked.json ? 'json' : (asked.output ?? 'human')
}

/**
 * The width a human table must fit: COLUMNS when set (as ls and ps honour
 * it), else the terminal's width, else PIPE_WIDTH, so that a table piped
 * into a mail or a log keeps a readable shape instead of the widest row's.
 */
export function tableWidth(env: NodeJS.ProcessEnv, stdout: {isTTY?: boolean; columns?: number}): number {
  const columns = Number(env.COLUMNS)
  if (Number.isInteger(columns) && columns > 0) return columns
  if (stdout.isTTY && stdout.columns !== undefined && stdout.columns > 0) return stdout.columns
  return PIPE_WIDTH
}
