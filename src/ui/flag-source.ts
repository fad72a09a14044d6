/**
 * Where each parsed flag's value came from (as pgBackRest's
 * cfgOptionSource): typed on the command line, taken from the config file,
 * read from its environment variable, or oclif's default. The preparse
 * hook (hooks/preparse-config.ts) records which flags it supplied from the
 * config file for the run it parses for; oclif's parse result says which
 * flags were given and which were defaulted. Nothing else reads argv.
 */

export type FlagSource = 'typed' | 'config' | 'env' | 'default' | 'absent'

/** The flags the config file supplied, per command run (the parse context is the command). */
const fromConfig = new WeakMap<object, ReadonlySet<string>>()

/** Called by the preparse hook with the flags it supplies from the config file. */
export function recordConfigFlags(run: object, names: Iterable<string>): void {
  fromConfig.set(run, new Set(names))
}

/** What oclif's parser returns that tells a flag's source. */
export interface ParsedTokens {
  raw: ReadonlyArray<{type: string; flag?: string}>
  metadata: {flags: Record<string, {setFromDefault?: boolean} | undefined>}
}

/** Every declared flag's source in one parse of `run`. */
export function flagSources(run: object, parsed: ParsedTokens, declared: Record<string, {env?: string; default?: unknown}>, env: NodeJS.ProcessEnv): Record<string, FlagSource> {
  const config = fromConfig.get(run) ?? new Set<string>()
  const given = new Set(parsed.raw.filter((token) => token.type === 'flag').map((token) => token.flag))
  const sources: Record<string, FlagSource> = {}
  for (const [name, flag] of Object.entries(declared)) {
    if (given.has(name)) sources[name] = config.has(name) ? 'config' : 'typed'
    else if (flag.env !== undefined && env[flag.env] !== undefined && env[flag.env] !== '') sources[name] = 'env'
    // oclif marks every flag without input setFromDefault, whether it declares a default or not.
    else if (flag.default !== undefined && parsed.metadata.flags[name]?.setFromDefault) sources[name] = 'default'
    else sources[name] = 'absent'
  }
  return sources
}
