/**
 * The archive's health as the repository records it (format/repo-status.ts):
 * when `repo push` last succeeded for the namespace, when it last failed and
 * why. For `repo list`, and for `check`/`metrics` to turn into findings
 * and gauges; reading it needs the repository only, not the node.
 */
import type {RepoPushStatus} from '../../format/repo-status.js'
import type {RepoBackend} from '../../repo/backend.js'
import {readRepoStatus} from '../../repo/facts-store.js'
import type {RepoInventory} from '../../repo/inventory.js'
import {RepoKeys} from '../../repo/keys.js'

export interface ArchiveHealth {
  /** Null when no push recorded one (a new namespace, or one an older redrepl wrote). */
  last_success_unix_ms: bigint | null
  last_success_host: string | null
  last_failure_unix_ms: bigint | null
  last_failure_host: string | null
  /** The failed push's error, one line. */
  last_failure_reason: string | null
  /** The last push recorded failed: no success since the last failure. */
  failing: boolean
}

export function archiveHealthOf(status: RepoPushStatus | null): ArchiveHealth {
  const success = status?.last_success ?? null
  const failure = status?.last_failure ?? null
  return {
    last_success_unix_ms: success?.unix_ms ?? null,
    last_success_host: success?.host ?? null,
    last_failure_unix_ms: failure?.unix_ms ?? null,
    last_failure_host: failure?.host ?? null,
    last_failure_reason: failure?.reason ?? null,
    failing: status?.failing ?? false,
  }
}

/** Reads the namespace's push status; `listing`, when the caller has one, spares a listing. */
export async function readArchiveHealth(backend: RepoBackend, node: string, listing?: RepoInventory): Promise<ArchiveHealth> {
  return archiveHealthOf(await readRepoStatus(backend, listing?.keys ?? new RepoKeys(node), listing))
}
