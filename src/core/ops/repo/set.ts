import {loadConfig} from '../../config/load-config.js'

export interface ConfiguredRepo {
  name: string
  url: string
}

/** The `[repo.NAME]` sections, in file order; none without a config file. */
export async function configuredRepositories(configPath: string | undefined): Promise<ConfiguredRepo[]> {
  const config = await loadConfig(configPath)
  if (config === null) return []
  return [...config.repos].map(([name, section]) => ({name, url: String(section.find((setting) => setting.key === 'url')!.value)}))
}
