import {loadConfig} from '../../config/load-config.js'
import type {ErrorCode} from '../../errors.js'
import type {RepoListReport} from './list.js'

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
  error: {message: string; code: ErrorCode | null} | null
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

/** `repo list` over every configured repository: each one's listing, then each backup once with where it is. */
export interface RepoListAcross extends EachRepository<RepoListReport> {
  backups: BackupAcrossRepositories[]
}

/** What `repo list` prints: one repository's listing, or every configured one's. */
export type RepoListDocument = RepoListReport | RepoListAcross

/** One base backup of the node across the repositories listed: where it is whole, where damaged, where absent. */
export interface BackupAcrossRepositories {
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  /** The repositories that hold it complete, in the config file's order. */
  complete_in: string[]
  /** Those that list it but could not restore it (a manifest, chunk or piece damaged or missing). */
  incomplete_in: string[]
  /** Those read that do not list it at all; a repository that could not be read is in none of the three. */
  missing_from: string[]
}

/**
 * Each base backup once, by (timeline, start, checkpoint: what its
 * manifest's name says), with the repositories
 * holding it: what `repo list` adds when it lists several, so that an
 * operator sees which backups exist where without comparing listings.
 */
export function backupsAcross(listed: Array<{repository_name: string; report: {backups: Array<{timeline: bigint; start_lsn: bigint; checkpoint_lsn: bigint; complete: boolean}>} | null}>): BackupAcrossRepositories[] {
  const byBackup = new Map<string, BackupAcrossRepositories>()
  for (const {report} of listed) {
    for (const b of report?.backups ?? []) {
      const id = `${b.timeline}/${b.start_lsn}/${b.checkpoint_lsn}`
      if (!byBackup.has(id)) byBackup.set(id, {timeline: b.timeline, start_lsn: b.start_lsn, checkpoint_lsn: b.checkpoint_lsn, complete_in: [], incomplete_in: [], missing_from: []})
    }
  }
  for (const backup of byBackup.values()) {
    for (const {repository_name: name, report} of listed) {
      if (report === null) continue
      // The three make the manifest's name, unique in a namespace: at most one row matches.
      const row = report.backups.find((b) => b.timeline === backup.timeline && b.start_lsn === backup.start_lsn && b.checkpoint_lsn === backup.checkpoint_lsn)
      ;(row === undefined ? backup.missing_from : row.complete ? backup.complete_in : backup.incomplete_in).push(name)
    }
  }
  const cmp = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0)
  return [...byBackup.values()].sort((a, b) => cmp(a.timeline, b.timeline) || cmp(a.checkpoint_lsn, b.checkpoint_lsn) || cmp(a.start_lsn, b.start_lsn))
}
