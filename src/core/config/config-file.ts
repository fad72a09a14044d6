import {usageError} from '../errors.js'

/**
 * The config file: TOML with a `[defaults]` table and one `[node.NAME]`
 * table per node (like pgBackRest's stanzas). Keys are the long names of
 * command flags (`data-path`, `min-segments`, `warning-slot-lag`), so
 * every setting reads the way its flag is documented. Values become flag
 * arguments: strings as they are, integers exactly, booleans as the flag
 * or its `--no-` form, arrays as a repeated flag.
 */

export type SettingValue = string | boolean | string[]

export interface Setting {
  key: string
  value: SettingValue
  /** Where it was read, e.g. `/etc/redrepl/redrepl.conf [node.primary]`. */
  source: string
}

export interface ConfigFile {
  path: string
  defaults: Setting[]
  nodes: Map<string, Setting[]>
  /** `[repo.NAME]` sections: one repository each, its `url` and its own options (REPO_KEYS). */
  repos: Map<string, Setting[]>
}

/**
 * What a `[repo.NAME]` section may set: where the repository is (`url`, what
 * --repo takes) and the options that belong to a repository rather than to
 * a run: how it stores objects, how it is reached, how long it keeps
 * backups. Each key but `url` is the long name of the flag it sets.
 */
export const REPO_KEYS = ['url', 'compress', 'compress-level', 'key-file', 'passphrase-file', 's3-sse', 's3-kms-key-id', 's3-storage-class', 's3-endpoint', 's3-region', 's3-force-path-style', 'timeout', 'max-rate', 'keep-last', 'keep-within', 'orphan-grace'] as const

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** A config file larger than this is not a config file. */
export const MAX_CONFIG_BYTES = 1 << 20

type Toml = Record<string, unknown>

const isTable = (value: unknown): value is Toml => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)

function scalar(value: unknown, where: string): string | boolean {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  throw usageError(`${where}: must be a string, an integer or a boolean`)
}

/**
 * Flags that switch a guard off or skip a review: each must be typed for
 * the run it is meant for. From a file they would silently disarm every run
 * (every live-node check, every dry run, every question).
 */
export const TYPED_ONLY = ['force', 'confirm', 'yes', 'overwrite-live', 'old-primary-down'] as const

function settings(table: Toml, file: string, section: string): Setting[] {
  return Object.entries(table).map(([key, raw]) => {
    const where = `${file} [${section}] ${key}`
    if (!/^[a-z][a-z0-9-]*$/.test(key)) throw usageError(`${where}: a setting is named like a long flag (lower case, digits and dashes)`)
    if ((TYPED_ONLY as readonly string[]).includes(key)) throw usageError(`${where}: not taken from a config file: it switches a safety check off, so it must be typed on the command line of the run it is for`)
    if (isTable(raw)) throw usageError(`${where}: tables are only [defaults], [node.NAME] and [repo.NAME]`)
    const value = Array.isArray(raw) ? raw.map((item, i) => String(scalar(item, `${where}[${i}]`))) : scalar(raw, where)
    return {key, value, source: `${file} [${section}]`}
  })
}

/** Parses the file's text; every error is a usage error naming the file and the key. */
export async function parseConfig(text: string, file: string): Promise<ConfigFile> {
  const {parse, TomlError} = await import('smol-toml')
  let root: Toml
  try {
    root = parse(text, {integersAsBigInt: 'asNeeded'}) as Toml
  } catch (error) {
    if (error instanceof TomlError) throw usageError(`${file}: not valid TOML: line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}`)
    throw error
  }
  const config: ConfigFile = {path: file, defaults: [], nodes: new Map(), repos: new Map()}
  for (const [name, value] of Object.entries(root)) {
    if (name === 'defaults' && isTable(value)) config.defaults = settings(value, file, 'defaults')
    else if (name === 'node' && isTable(value)) {
      for (const [node, table] of Object.entries(value)) {
        if (!isTable(table)) throw usageError(`${file} [node] ${node}: each node is a table, [node.${node}]`)
        config.nodes.set(node, settings(table, file, `node.${node}`))
      }
    } else if (name === 'repo' && isTable(value)) {
      for (const [repo, table] of Object.entries(value)) {
        if (!isTable(table)) throw usageError(`${file} [repo] ${repo}: each repository is a table, [repo.${repo}]`)
        if (!REPO_NAME.test(repo)) throw usageError(`${file} [repo.${repo}]: a repository name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`)
        const own = settings(table, file, `repo.${repo}`)
        const url = own.find((setting) => setting.key === 'url')
        if (url === undefined || typeof url.value !== 'string' || url.value === '') throw usageError(`${file} [repo.${repo}] url: each repository needs its url (a directory or s3://bucket/prefix, what --repo takes)`)
        config.repos.set(repo, own)
      }
    } else throw usageError(`${file}: "${name}" is neither [defaults], [node.NAME] nor [repo.NAME]`)
  }
  return config
}

/** The settings of one `[repo.NAME]` section; a usage error lists the configured names when there is none of that name. */
export function repoSection(config: ConfigFile, name: string): Setting[] {
  const section = config.repos.get(name)
  if (section === undefined) {
    const known = [...config.repos.keys()]
    throw usageError(`${config.path}: no [repo.${name}] section (${known.length > 0 ? `repositories: ${known.join(', ')}` : 'it names no repository'})`)
  }
  return section
}

/** The settings for one node: its section over `[defaults]`. */
export function settingsFor(config: ConfigFile, node: string | undefined): Setting[] {
  if (node !== undefined && !config.nodes.has(node)) {
    const known = [...config.nodes.keys()]
    throw usageError(`${config.path}: no [node.${node}] section${known.length > 0 ? ` (nodes: ${known.join(', ')})` : ''}`)
  }
  const own = node === undefined ? [] : config.nodes.get(node)!
  const keys = new Set(own.map((setting) => setting.key))
  return [...config.defaults.filter((setting) => !keys.has(setting.key)), ...own]
}
