import {settingsFor, type SettingValue} from '../../config/config-file.js'
import {DEFAULT_CONFIG_PATH, loadConfig} from '../../config/load-config.js'

export interface EffectiveSetting {
  key: string
  value: SettingValue
  /** `FILE [section]`, or `environment NAME` where a variable overrides the file. */
  source: string
}

export interface ConfigShowReport {
  config_path: string
  config_found: boolean
  node: string | null
  nodes: string[]
  /** Each [repo.NAME] section: its url and its own options, as the file gives them. */
  repositories: Array<{name: string; settings: EffectiveSetting[]}>
  settings: EffectiveSetting[]
}

export interface ConfigShowOptions {
  /** --config or REDREPL_CONFIG; the default path otherwise. */
  configPath?: string
  node?: string
  /** Flag name → its environment variable, for every flag that has one. */
  envNames: Map<string, string>
  env: Record<string, string | undefined>
}

/** The settings a command would take from the config file and the environment, and where each comes from. */
export async function showConfig(options: ConfigShowOptions): Promise<ConfigShowReport> {
  const config = await loadConfig(options.configPath)
  const fromFile = config ? settingsFor(config, options.node) : []
  const settings = new Map<string, EffectiveSetting>(fromFile.map((setting) => [setting.key, setting]))
  for (const [key, name] of options.envNames) {
    const value = options.env[name]
    if (value !== undefined && !['config', 'node'].includes(key)) settings.set(key, {key, value, source: `environment ${name}`})
  }
  return {
    config_path: config?.path ?? options.configPath ?? DEFAULT_CONFIG_PATH,
    config_found: config !== null,
    node: options.node ?? null,
    nodes: config ? [...config.nodes.keys()] : [],
    repositories: config ? [...config.repos].map(([name, section]) => ({name, settings: section.map(({key, value, source}) => ({key, value, source}))})) : [],
    settings: [...settings.values()].sort((a, b) => a.key.localeCompare(b.key)),
  }
}
