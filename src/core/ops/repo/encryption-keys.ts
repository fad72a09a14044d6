import {randomBytes} from 'node:crypto'

import {notFound, refused} from '../../errors.js'
import {writeSecretFileExclusive} from '../../fs/secret-file.js'
import {openDataKey, readRepoConfig, secretFrom, writeRepoConfig, type KeySources} from '../../repo/encryption.js'
import {openStore, type RepoSettings} from '../../repo/open.js'
import {CONFIG_KEY, newEncryptedConfig, SCRYPT_DEFAULT, wrapKey, type EncryptedConfig, type KeyEntry, type RepoConfig} from '../../repo/repo-config.js'
import type {RepoBackend} from '../../repo/backend.js'

/**
 * Setting up an encrypted repository and rotating its keys: `repo init`,
 * `repo key add`, `repo key remove`, `repo key create`. Every change is one
 * rewrite of the config object (a put: whole or not at all); the data key
 * and so every stored object stay as they are.
 */

export interface KeyListing {
  /** @pattern ^[0-9a-f]{16}$ */
  key_id: string
  kind: KeyEntry['kind']
  added_unix_ms: bigint
}

export interface RepoInitReport {
  repository: string
  encryption: RepoConfig['encryption']
  config_object: string
  /** @pattern ^[0-9a-f]{16}$ */
  data_key_id: string | null
  frame_bytes: number | null
  keys: KeyListing[]
  scrypt: {n: number; r: number; p: number} | null
}

interface RepoKeyChange {
  repository: string
  config_object: string
  keys: KeyListing[]
}

export interface RepoKeyAddReport extends RepoKeyChange {
  /** @pattern ^[0-9a-f]{16}$ */
  added_key_id: string
  removed_key_id: null
}

export interface RepoKeyRemoveReport extends RepoKeyChange {
  added_key_id: null
  /** @pattern ^[0-9a-f]{16}$ */
  removed_key_id: string
}

export type RepoKeyChangeReport = RepoKeyAddReport | RepoKeyRemoveReport

export interface KeyCreateReport {
  path: string
  /** A key file is always 32 bytes. */
  bytes: 32
}

const listing = (config: EncryptedConfig): KeyListing[] => config.keys.map((k) => ({key_id: k.key_id, kind: k.kind, added_unix_ms: k.added_unix_ms}))

async function withStore<T>(settings: RepoSettings, work: (store: RepoBackend) => Promise<T>): Promise<T> {
  const store = await openStore(settings)
  try {
    return await work(store)
  } finally {
    await store.close()
  }
}

/** Whether any object is stored under the repository, beside the config object. */
async function holdsObjects(store: RepoBackend): Promise<boolean> {
  for await (const object of store.list('')) if (object.key !== CONFIG_KEY) return true
  return false
}

export interface RepoInitOptions {
  encrypt: 'none' | 'passphrase' | 'key-file'
  /** The new repository's first key, for --encrypt. */
  keys?: KeySources
  nowMs: bigint
  /** scrypt's N as a power of two. */
  scryptLogN?: number
}

/** Writes the config object of a repository that has none and holds nothing yet. */
export async function initRepository(settings: RepoSettings, options: RepoInitOptions): Promise<RepoInitReport> {
  const secret = options.encrypt === 'none' ? undefined : await secretFrom(options.keys, 'new key')
  if (options.encrypt !== 'none') {
    if (secret === undefined) throw refused(`${settings.url}: --encrypt ${options.encrypt} needs its key`, {code: 'repo.key-missing', hint: options.encrypt === 'passphrase' ? 'pass --passphrase-file FILE or set REDREPL_REPO_PASSPHRASE' : 'pass --key-file FILE (make one with "redrepl repo key create")'})
    if (secret.kind !== options.encrypt) throw refused(`${settings.url}: --encrypt ${options.encrypt} was asked, but ${secret.source} was given`)
  } else if (await secretFrom(options.keys)) throw refused(`${settings.url}: a key was given without --encrypt`, {hint: 'add --encrypt passphrase or --encrypt key-file'})
  return withStore(settings, async (store) => {
    const existing = await readRepoConfig(store)
    if (existing !== null) throw refused(`${store.describe(CONFIG_KEY)}: the repository is already set up (${existing.encryption}); nothing was changed`, {code: 'repo.already-initialised'})
    if (options.encrypt !== 'none' && (await holdsObjects(store))) {
      throw refused(`${store.location}: holds objects stored unencrypted; an encrypted repository starts empty`, {code: 'repo.not-empty', hint: 'use a new directory or prefix'})
    }
    const config: RepoConfig = secret === undefined ? {version: 1, encryption: 'none'} : await newEncryptedConfig(secret, options.nowMs, options.scryptLogN)
    await writeRepoConfig(store, config)
    const first = config.encryption === 'none' ? undefined : config.keys[0]
    return {
      repository: store.location,
      encryption: config.encryption,
      config_object: store.describe(CONFIG_KEY),
      data_key_id: config.encryption === 'none' ? null : config.data_key_id,
      frame_bytes: config.encryption === 'none' ? null : config.frame_bytes,
      keys: config.encryption === 'none' ? [] : listing(config),
      scrypt: first?.scrypt === undefined ? null : {n: first.scrypt.n, r: first.scrypt.r, p: first.scrypt.p},
    }
  })
}

async function encryptedConfig(store: RepoBackend): Promise<EncryptedConfig> {
  const config = await readRepoConfig(store)
  if (config === null || config.encryption === 'none') throw refused(`${store.location}: the repository is not encrypted; it has no keys`, {code: 'repo.not-encrypted'})
  return config
}

/** Wraps the data key for one more key; the objects are untouched. */
export async function addRepositoryKey(settings: RepoSettings, options: {keys?: KeySources; newKeys: KeySources; nowMs: bigint; scryptLogN?: number}): Promise<RepoKeyAddReport> {
  const secret = await secretFrom(options.keys)
  const fresh = await secretFrom(options.newKeys, 'new key')
  if (fresh === undefined) throw refused(`${settings.url}: no new key to add`, {code: 'repo.key-missing', hint: 'pass --new-passphrase-file FILE or --new-key-file FILE'})
  return withStore(settings, async (store) => {
    const config = await encryptedConfig(store)
    const {seal} = await openDataKey(store, config, secret)
    const entry = await wrapKey(seal.key, config.data_key_id, fresh, options.nowMs, options.scryptLogN ?? SCRYPT_DEFAULT.logN)
    const next: EncryptedConfig = {...config, keys: [...config.keys, entry]}
    await writeRepoConfig(store, next)
    return {repository: store.location, config_object: store.describe(CONFIG_KEY), added_key_id: entry.key_id, removed_key_id: null, keys: listing(next)}
  })
}

/** Removes one key; the last is never removed, and the key given must open the repository. */
export async function removeRepositoryKey(settings: RepoSettings, options: {keys?: KeySources; keyId: string}): Promise<RepoKeyRemoveReport> {
  const secret = await secretFrom(options.keys)
  return withStore(settings, async (store) => {
    const config = await encryptedConfig(store)
    await openDataKey(store, config, secret)
    if (!config.keys.some((k) => k.key_id === options.keyId)) throw notFound(`${store.describe(CONFIG_KEY)}: no key ${options.keyId} (keys: ${config.keys.map((k) => k.key_id).join(', ')})`)
    if (config.keys.length === 1) throw refused(`${store.describe(CONFIG_KEY)}: ${options.keyId} is the repository's last key; removing it would lose every object`, {code: 'repo.last-key'})
    const next: EncryptedConfig = {...config, keys: config.keys.filter((k) => k.key_id !== options.keyId)}
    await writeRepoConfig(store, next)
    return {repository: store.location, config_object: store.describe(CONFIG_KEY), added_key_id: null, removed_key_id: options.keyId, keys: listing(next)}
  })
}

/** A new key file of 32 random bytes, mode 0600, never over an existing file. */
export async function createKeyFile(file: string): Promise<KeyCreateReport> {
  await writeSecretFileExclusive(file, randomBytes(32))
  return {path: file, bytes: 32}
}
