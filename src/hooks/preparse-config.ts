import type {Hook} from '@oclif/core'

import {REPO_KEYS, repoSection, settingsFor, type ConfigFile, type Setting} from '../core/config/config-file.js'
import {INVENTORY_KEYS} from '../core/config/inventory.js'
import {DEFAULT_CONFIG_PATH, loadConfig} from '../core/config/load-config.js'
import {RedreplError, usageError} from '../core/errors.js'
import {recordConfigFlags} from '../ui/flag-source.js'
import {suggest} from '../ui/suggest.js'

/**
 * Applies the config file before a command parses its flags: each setting
 * of `[defaults]` and of the `--node` section becomes the flag of the same
 * name, unless the command line gives that flag or its environment variable
 * is set (flag > environment > node section > defaults > built-in value).
 * Values are checked here, so a bad one is reported against the file.
 * The flags it supplies are recorded for the run (ui/flag-source.ts), so a
 * command tells a value from the file from one typed.
 *
 *
 * `--repo-name NAME` takes the repository from the `[repo.NAME]` section:
 * its url becomes --repo, and its options the flags of the same names,
 * between the environment and the node section (flag > environment >
 * repository section > node section > defaults > built-in value).
 */

interface FlagSpec {
  type: 'boolean' | 'option'
  char?: string
  env?: string
  allowNo?: boolean
  multiple?: boolean
  options?: readonly string[]
  parse?: (input: string, context: unknown, options: unknown) => Promise<unknown>
}

/** Settings that select the config itself, or shape only one run's output, are not taken from the file. */
const NOT_CONFIGURABLE = new Set(['config', 'node', 'json', 'output', 'help', 'repo-name'])

function valueOf(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1]
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3)
  }
  return undefined
}

function given(argv: string[], name: string, flag: FlagSpec): boolean {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length
  return argv.slice(0, end).some((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`) || arg === `--no-${name}` || (flag.char !== undefined && arg === `-${flag.char}`))
}

async function argsFor(setting: Setting, flag: FlagSpec): Promise<string[]> {
  const where = `${setting.source} ${setting.key}`
  if (flag.type === 'boolean') {
    if (typeof setting.value !== 'boolean') throw usageError(`${where}: must be true or false`)
    if (setting.value) return [`--${setting.key}`]
    return flag.allowNo ? [`--no-${setting.key}`] : []
  }
  if (typeof setting.value === 'boolean') throw usageError(`${where}: must be a value, not ${setting.value}`)
  const values = Array.isArray(setting.value) ? setting.value : [setting.value]
  if (values.length > 1 && !flag.multiple) throw usageError(`${where}: takes one value, not a list`)
  for (const value of values) {
    if (flag.options && !flag.options.includes(value)) throw usageError(`${where}: must be one of ${flag.options.join(', ')}, got "${value}"`)
    try {
      await flag.parse?.(value, {}, {...flag, name: setting.key})
    } catch (error) {
      throw usageError(`${where}: ${(error as Error).message.replace(/ \(see: .*\)$/, '')}`)
    }
  }
  return values.flatMap((value) => [`--${setting.key}`, value])
}

const hook: Hook<'preparse'> = async function ({argv, options}) {
  try {
    const {argv: applied, supplied} = await applyConfig(argv, options.flags ?? {}, this.config.commands)
    // oclif passes the command being parsed as the parse context.
    const run = (options as {context?: object}).context
    if (run !== undefined) recordConfigFlags(run, supplied)
    return applied
  } catch (error) {
    // oclif passes a hook's error on only when it carries an exit code.
    throw Object.assign(error as Error, {oclif: {exit: error instanceof RedreplError ? error.exitCode : 1}})
  }
}

async function applyConfig(argv: string[], declared: object, commands: ReadonlyArray<{flags?: object}>): Promise<{argv: string[]; supplied: string[]}> {
  const flags = declared as Record<string, FlagSpec>
  if (!('config' in flags)) return {argv, supplied: []}
  const config = await loadConfig(valueOf(argv, 'config') ?? process.env.REDREPL_CONFIG)
  if (config === null) {
    if ('repo-name' in flags && valueOf(argv, 'repo-name') !== undefined) throw usageError(`--repo-name names a [repo.NAME] section of the config file, and there is none (${valueOf(argv, 'config') ?? process.env.REDREPL_CONFIG ?? DEFAULT_CONFIG_PATH})`)
    return {argv, supplied: []}
  }
  const known = new Set(commands.flatMap((command) => Object.keys(command.flags ?? {})))
  checkRepoSections(config)
  const injected: string[] = []
  const supplied: string[] = []
  const fromRepo = new Set<string>()
  const repoName = 'repo-name' in flags ? valueOf(argv, 'repo-name') : undefined
  if (repoName !== undefined) {
    if (given(argv, 'repo', flags.repo ?? {type: 'option'})) throw usageError('--repo and --repo-name both name the repository: give one')
    for (const setting of repoSection(config, repoName)) {
      const key = setting.key === 'url' ? 'repo' : setting.key
      const flag = flags[key]
      // A repository's retention means nothing to push; its url always wins over REDREPL_REPO, as a typed --repo would.
      if (flag === undefined || (key !== 'repo' && (given(argv, key, flag) || (flag.env !== undefined && process.env[flag.env] !== undefined)))) continue
      fromRepo.add(key)
      const args = await argsFor({...setting, key}, flag)
      injected.push(...args)
      if (args.length > 0) supplied.push(key)
    }
  }
  for (const setting of settingsFor(config, valueOf(argv, 'node') ?? process.env.REDREPL_NODE)) {
    // Where a node lives (cluster, host, transport) is read by the cluster commands; it is given to a flag
    // only where the command has one of that name (cluster: metrics' label, the cluster commands' default).
    if (INVENTORY_KEYS.has(setting.key) && !(setting.key in flags)) continue
    if (!known.has(setting.key) || NOT_CONFIGURABLE.has(setting.key)) {
      const near = suggest(setting.key, [...known].filter((name) => !NOT_CONFIGURABLE.has(name)))
      throw usageError(`${setting.source} ${setting.key}: no command takes this setting${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''}`)
    }
    const flag = flags[setting.key]
    if (flag === undefined || fromRepo.has(setting.key) || given(argv, setting.key, flag) || (flag.env !== undefined && process.env[flag.env] !== undefined)) continue
    const args = await argsFor(setting, flag)
    injected.push(...args)
    if (args.length > 0) supplied.push(setting.key)
  }
  return {argv: [...injected, ...argv], supplied}
}

/** Every `[repo.NAME]` section sets only what a repository has (REPO_KEYS); another key is refused with the nearest. */
function checkRepoSections(config: ConfigFile): void {
  for (const section of config.repos.values()) {
    for (const setting of section) {
      if ((REPO_KEYS as readonly string[]).includes(setting.key)) continue
      const near = suggest(setting.key, [...REPO_KEYS])
      throw usageError(`${setting.source} ${setting.key}: not a repository setting (${REPO_KEYS.join(', ')})${near.length > 0 ? `; did you mean ${near.join(' or ')}?` : ''}`)
    }
  }
}

export default hook
