import {configuredRepositories, type ConfiguredRepo, type EachRepository, type RepoOutcome} from '../core/ops/repo/set.js'
import {InterruptedError, RedreplError, usageError} from '../core/errors.js'
import type {RepoSettings} from '../core/ops/repo/open.js'
import {describeError, exitCodeFor} from './base-command.js'
import {optionalRepository} from './repo-flags.js'

/**
 * Several repositories: the `[repo.NAME]` sections of the config file, for
 * the commands that act on each of them when none is named (`repo push`,
 * `repo list`, `repo verify`, `repo expire`, `wal prune`, `check`,
 * `metrics`), and the refusal of those that need one named. One repository
 * failing does not stop the others; the run's exit code is the worst of
 * theirs.
 */

export {configuredRepositories, type ConfiguredRepo, type EachRepository, type RepoOutcome}

/**
 * Runs `work` for each repository in turn. A failure is recorded against
 * its repository and the next one is tried; an interruption ends the run
 * (the repositories not reached are not tried). `exitOf` gives the exit
 * code of a report that came back but found a problem (`repo verify`'s 3).
 */
export async function forEachRepository<R>(repos: ConfiguredRepo[], work: (name: string) => Promise<R>, exitOf: (report: R) => number = () => 0): Promise<Array<RepoOutcome<R>>> {
  const outcomes: Array<RepoOutcome<R>> = []
  for (const {name, url} of repos) {
    try {
      const report = await work(name)
      outcomes.push({repository_name: name, repository: url, exit_code: exitOf(report), error: null, report})
    } catch (error) {
      if (error instanceof InterruptedError) throw error
      const failure = error as Error & {oclif?: {exit?: number}}
      outcomes.push({
        repository_name: name,
        repository: url,
        exit_code: exitCodeFor(failure),
        error: {message: describeError(failure), code: error instanceof RedreplError ? (error.code ?? null) : null},
        report: null,
      })
    }
  }
  return outcomes
}

/** One line per repository: `say` of its report, or the line its failure printed and its exit code. */
export function eachRepositoryLines<R>({repositories}: EachRepository<R>, say: (report: R, outcome: RepoOutcome<R>) => string): string[] {
  return repositories.map((outcome) =>
    outcome.report === null ? `${outcome.repository_name} (${outcome.repository}): failed (exit ${outcome.exit_code}): ${outcome.error?.message}` : say(outcome.report, outcome),
  )
}

/** The run's exit code: the highest of its repositories' (0 when each succeeded). */
export function worstExitCode(outcomes: Array<{exit_code: number}>): number {
  return outcomes.reduce((worst, outcome) => Math.max(worst, outcome.exit_code), 0)
}

type NamingFlags = {repo?: string; 'repo-name'?: string; config?: string}

/**
 * The `[repo.NAME]` sections of the config file when the run names no
 * repository (no --repo, --repo-name, REDREPL_REPO or repo setting; an empty
 * --repo names none), else none: the repositories a command goes through
 * in turn, or refuses to choose among.
 */
export async function configuredWhenUnnamed(flags: NamingFlags): Promise<ConfiguredRepo[]> {
  if ((flags.repo !== undefined && flags.repo !== '') || flags['repo-name'] !== undefined) return []
  return configuredRepositories(flags.config)
}

/**
 * For the commands that act on one repository (`repo restore`, `fetch-wal`,
 * `drill`, `init`, `key add`/`remove`): with none named and `[repo.NAME]`
 * sections in the config file, the run is refused naming them, rather than
 * picking one or failing as if none were configured.
 */
export async function requireNamedRepository(flags: NamingFlags): Promise<void> {
  const repos = await configuredWhenUnnamed(flags)
  if (repos.length === 0) return
  throw usageError(`no repository named, and the config file has ${repos.length === 1 ? 'one' : 'several'} (repositories: ${repos.map((r) => r.name).join(', ')}); this command reads or changes one`, {
    hint: `name it: --repo-name ${repos[0].name}`,
  })
}

type RepoFlagValues = Parameters<typeof optionalRepository>[0] & {config?: string; 'repo-name'?: string}

/**
 * For the commands that only read what is archived (`wal plan`/`prune`,
 * `check`): every configured repository with its own settings, when the
 * run names none (no --repo, --repo-name, REDREPL_REPO or repo setting).
 * `reparse` parses the typed command line again with `--repo-name NAME`
 * in front, so each repository's options come through the config hook as
 * for a run that named it.
 */
export async function severalRepositories<F extends RepoFlagValues>(flags: F, typed: string[], reparse: (argv: string[]) => Promise<F>): Promise<Array<{name: string; settings: RepoSettings; node: string}>> {
  if (flags.repo !== undefined || flags['repo-name'] !== undefined) return []
  const repos = await configuredRepositories(flags.config)
  const several: Array<{name: string; settings: RepoSettings; node: string}> = []
  for (const {name} of repos) {
    const own = optionalRepository(await reparse(['--repo-name', name, ...typed]))
    if (own !== undefined) several.push({name, ...own})
  }
  return several
}
