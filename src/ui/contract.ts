/**
 * The version tag every --json document carries first: `schema` is
 * `redrepl.<topic>-<verb>/<major>`, and names schemas/<topic>-<verb>.json,
 * whose `$id` holds the same major. A major changes only when a field is
 * removed, renamed or changes meaning (README, "JSON contract").
 */
export const CONTRACT_MAJOR = 1

/**
 * Documents past major 1: a field renamed so that one meaning has one name
 * across commands (docs/json.md, "Renamed in contract version 2").
 */
export const COMMAND_MAJORS: Readonly<Record<string, number>> = {'layout:verify': 2, 'rejoin:plan': 2, 'rejoin:apply': 2, 'slots:drop': 2, 'timeline:show': 2}

/** The major of a command's documents. */
export const majorOf = (commandId: string): number => COMMAND_MAJORS[commandId] ?? CONTRACT_MAJOR

/**
 * `inspect --json` prints the artifact's canonical model (spec/format.md),
 * exactly: its fields belong to RedDB's format, not to this contract.
 */
export const MODEL_COMMANDS: ReadonlySet<string> = new Set(['inspect'])

/** `wal:plan` → `redrepl.wal-plan/1`. */
export const schemaIdOf = (commandId: string): string => `redrepl.${commandId.replaceAll(':', '-')}/${majorOf(commandId)}`

/** The document as printed: `schema` first, then the report's own fields. */
export function withSchema(commandId: string | undefined, document: unknown): unknown {
  if (commandId === undefined || MODEL_COMMANDS.has(commandId) || typeof document !== 'object' || document === null) return document
  return {schema: schemaIdOf(commandId), ...document}
}
