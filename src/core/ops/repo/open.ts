import type {RepoBackend} from '../../repo/backend.js'
import type {RepoSettings} from '../../repo/open.js'

/**
 * The repository as the command layer sees it: opened from its settings,
 * through the codec layer, and throttled when `--max-rate` asks, and the
 * names, limits and types the repository flags describe. Commands and ui/
 * reach core/repo only through here.
 */
export type {RepoBackend} from '../../repo/backend.js'
export type {Compression} from '../../repo/codec.js'
export type {KeySources} from '../../repo/encryption.js'
export type {RepoSettings} from '../../repo/open.js'
export {checkNodeName} from '../../repo/keys.js'
export {CONNECT_TIMEOUT_MS, formatSeconds, IDLE_TIMEOUT_MS, networkLimits, type NetworkLimits} from '../../repo/network.js'

/** Opens the repository `settings` names (repo/open.ts builds it); with `maxRate` (bytes a second) its transfers are paced, and `signal` ends a wait for the pace. */
export async function openRunRepository(settings: RepoSettings, maxRate: number | undefined, signal?: AbortSignal): Promise<RepoBackend> {
  // Loaded here, not at start-up: every command with repository flags reaches this module, and most runs name no repository.
  const {openRepository} = await import('../../repo/open.js')
  return openRepository({...settings, maxRate, paceSignal: signal})
}
