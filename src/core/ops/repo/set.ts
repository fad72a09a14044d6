import {loadConfig} from '../../config/load-config.js'

export interface ConfiguredRepo {
  name: string
  url: string
}

/** One repository's outcome in a run over several: its report, or the one line its failure printed alone and its exit code. */
export interface RepoOutcome<R> {
  repository_name: string
  /** The repository's url, as its section gives it. */
  repository: string
  exit_code: number
  error: {message: string; code: string | null} | null
  report: R | null
}

/** The document of a run over every configured repository: one outcome each. */
export interface EachRepository<R> {
  repositories: Array<RepoOutcome<R>>
}

/** The `[repo.NAME]` sections, in file order; none without a config file. */
export async function configuredRepositories(configPath: string | undefined): Promise<ConfiguredRepo[]> {
  const config = await loadConfig(configPath)
  if (config === null) return []
  return [...config.repos].map(([name, section]) => ({name, url: String(section.find((setting) => setting.key === 'url')!.value)}))
}
