import {FormatError, refused, usageError} from '../errors.js'
import {readBounded} from '../fs/open.js'
import {isAbsent, type RepoBackend} from './backend.js'
import {collect} from './integrity.js'
import {CONFIG_KEY, decodeConfig, encodeConfig, keyFromFile, MAX_CONFIG_BYTES, passphraseFromFile, unwrapKey, type RepoConfig, type Secret} from './repo-config.js'
import {SealBackend, type SealKey} from './seal.js'

/**
 * Opening a repository's encryption: its config object read from the store
 * itself, the key the operator gave read from its file, and the store
 * wrapped in SealBackend when the repository is encrypted. A repository
 * without a config object is unencrypted, as every repository was before.
 */

/** Where the key that opens an encrypted repository comes from; a passphrase is never a flag's value. */
export interface KeySources {
  passphraseFile?: string
  keyFile?: string
  /** The passphrase from the environment (REDREPL_REPO_PASSPHRASE), used when no file is given. */
  passphrase?: string
}

/** A passphrase file is one line; a little room for a long one. */
const MAX_PASSPHRASE_FILE_BYTES = 4096

export async function secretFrom(sources: KeySources | undefined, what = 'key'): Promise<Secret | undefined> {
  if (sources === undefined) return undefined
  if (sources.passphraseFile !== undefined && sources.keyFile !== undefined) throw usageError(`give one ${what}: a passphrase file or a key file, not both`)
  if (sources.keyFile !== undefined) {
    const bytes = await readBounded(sources.keyFile, 64, 'key file', {noFollow: false})
    return {kind: 'key-file', key: keyFromFile(bytes, sources.keyFile), source: `key file ${sources.keyFile}`}
  }
  if (sources.passphraseFile !== undefined) {
    const bytes = await readBounded(sources.passphraseFile, MAX_PASSPHRASE_FILE_BYTES, 'passphrase file', {noFollow: false})
    return {kind: 'passphrase', passphrase: passphraseFromFile(bytes, sources.passphraseFile), source: `passphrase file ${sources.passphraseFile}`}
  }
  if (sources.passphrase !== undefined && sources.passphrase !== '') return {kind: 'passphrase', passphrase: Buffer.from(sources.passphrase, 'utf8'), source: 'the passphrase in the environment'}
  return undefined
}

/** The config object; null when the repository has none (unencrypted). Damage is corrupt, naming it. */
export async function readRepoConfig(store: RepoBackend): Promise<RepoConfig | null> {
  const name = store.describe(CONFIG_KEY)
  let bytes: Uint8Array
  try {
    bytes = await collect(store.get(CONFIG_KEY), BigInt(MAX_CONFIG_BYTES), name)
  } catch (error) {
    if (isAbsent(error)) return null
    throw error
  }
  try {
    return decodeConfig(bytes)
  } catch (error) {
    throw error instanceof FormatError ? error.inFile(name) : error
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** Stores the config object whole or not at all (the store's put), and makes it durable. */
export async function writeRepoConfig(store: RepoBackend, config: RepoConfig): Promise<void> {
  const bytes = encodeConfig(config)
  await store.put(CONFIG_KEY, () => once(bytes), {size: BigInt(bytes.length), checksum: 0})
  await store.flush()
}

/** The repository's data key, opened with the operator's key. */
export async function openDataKey(store: RepoBackend, config: Extract<RepoConfig, {encryption: 'aes-256-gcm'}>, secret: Secret | undefined): Promise<{seal: SealKey; keyId: string}> {
  const name = store.describe(CONFIG_KEY)
  if (secret === undefined) {
    throw refused(`${store.location}: the repository is encrypted and no key was given`, {code: 'repo.key-missing', hint: 'pass --passphrase-file FILE or --key-file FILE, or set REDREPL_REPO_PASSPHRASE'})
  }
  return unwrapKey(config, secret, name)
}

/**
 * The store as the codec layer should see it: sealed when the repository
 * is encrypted (a key required), as it is otherwise (a key refused, so
 * that nothing meant to be encrypted is stored in the clear).
 */
export async function sealedStore(store: RepoBackend, sources: KeySources | undefined): Promise<RepoBackend> {
  const config = await readRepoConfig(store)
  const secret = await secretFrom(sources)
  if (config === null || config.encryption === 'none') {
    if (secret !== undefined) throw refused(`${store.location}: the repository is not encrypted, but ${secret.source} was given`, {code: 'repo.not-encrypted', hint: 'drop the key to use it unencrypted, or use an encrypted repository ("redrepl repo init --encrypt")'})
    return store
  }
  const {seal} = await openDataKey(store, config, secret)
  return new SealBackend(store, seal, CONFIG_KEY)
}
