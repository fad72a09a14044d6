import {createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCallback, timingSafeEqual} from 'node:crypto'

import {isJsonObject, parseJson, stringifyJson, type JsonObject, type JsonValue} from '../codec/json.js'
import {FormatError, refused, usageError} from '../errors.js'
import {SEAL_FRAME_BYTES, type SealKey} from './seal.js'

/**
 * The repository's config object, `redrepl.repository` at its root: whether
 * objects are sealed (repo/seal.ts) and, if so, the data key wrapped by each
 * key that may open the repository. Its first line carries the SHA-256 of
 * the JSON after it, so a flipped bit is damage (corrupt), told apart from
 * a wrong key (refused). The data key never leaves this process unwrapped.
 *
 *   redrepl-repository 1 sha256=<64 hex>\n
 *   {"version":1,"encryption":"aes-256-gcm","frame_bytes":1048576,"data_key_id":"<16 hex>","keys":[…]}\n
 *
 * Each key entry wraps the 32-byte data key with AES-256-GCM under a key
 * encryption key: scrypt(passphrase, salt, N, r, p) for a passphrase, the
 * 32 bytes of a key file for a key file. The wrap's additional data binds
 * the entry's fields and the data key id, so no field can be swapped.
 */

export const CONFIG_KEY = 'redrepl.repository'
export const MAX_CONFIG_BYTES = 256 * 1024
const FIRST_LINE = /^redrepl-repository 1 sha256=([0-9a-f]{64})$/
const KEY_FILE_BYTES = 32
const MAX_KEYS = 64

/** scrypt: N = 2^17, r = 8, p = 1 uses 128 MiB (128·N·r bytes) and about half a second; maxmem leaves room for N = 2^20 at r = 8 being refused, not run. */
export const SCRYPT_DEFAULT = {logN: 17, r: 8, p: 1} as const
export const SCRYPT_LOG_N = {min: 15, max: 20} as const
const SCRYPT_MAXMEM = 256 * 1024 * 1024 + 4096

export type KeyKind = 'passphrase' | 'key-file'

export interface KeyEntry {
  key_id: string
  kind: KeyKind
  /** scrypt's parameters, for a passphrase. */
  scrypt?: {n: number; r: number; p: number; salt: string}
  nonce: string
  wrapped_key: string
  added_unix_ms: bigint
}

export type RepoConfig = {version: 1; encryption: 'none'} | {version: 1; encryption: 'aes-256-gcm'; frame_bytes: number; data_key_id: string; keys: KeyEntry[]}
export type EncryptedConfig = Extract<RepoConfig, {encryption: 'aes-256-gcm'}>

/** A key that may open the repository: a passphrase's bytes or a key file's 32 bytes. */
export type Secret = {kind: 'passphrase'; passphrase: Buffer; source: string} | {kind: 'key-file'; key: Buffer; source: string}

export function encodeConfig(config: RepoConfig): Buffer {
  const json = Buffer.from(stringifyJson(config, 0) + '\n', 'utf8')
  const sum = createHash('sha256').update(json).digest('hex')
  return Buffer.concat([Buffer.from(`redrepl-repository 1 sha256=${sum}\n`, 'utf8'), json])
}

/** Decodes the config object; damage or a field out of its rules is a FormatError (the caller names the object). */
export function decodeConfig(bytes: Uint8Array): RepoConfig {
  const text = Buffer.from(bytes)
  const newline = text.indexOf(0x0a)
  if (newline < 0) throw new FormatError('config object has no first line')
  const match = FIRST_LINE.exec(text.subarray(0, newline).toString('latin1'))
  if (!match) throw new FormatError('config object does not start with "redrepl-repository 1 sha256=…"')
  const json = text.subarray(newline + 1)
  if (!timingSafeEqual(createHash('sha256').update(json).digest(), Buffer.from(match[1], 'hex'))) throw new FormatError('config object fails its SHA-256 (damaged)')
  let value: JsonValue
  try {
    value = parseJson(json.toString('utf8'))
  } catch (error) {
    throw new FormatError(`config object is not JSON: ${(error as Error).message}`)
  }
  return validateConfig(value)
}

function field(object: JsonObject, name: string, path: string): JsonValue {
  if (!(name in object)) throw new FormatError(`config object: ${path}${name} is missing`)
  return object[name]
}
function text(object: JsonObject, name: string, path: string, pattern: RegExp): string {
  const value = field(object, name, path)
  if (typeof value !== 'string' || !pattern.test(value)) throw new FormatError(`config object: ${path}${name} is not ${pattern.source}`)
  return value
}
function integer(object: JsonObject, name: string, path: string, min: number, max: number): number {
  const value = field(object, name, path)
  if (typeof value !== 'bigint' || value < BigInt(min) || value > BigInt(max)) throw new FormatError(`config object: ${path}${name} must be an integer ${min}-${max}`)
  return Number(value)
}

const HEX16 = /^[0-9a-f]{16}$/
const B64 = (bytes: number) => new RegExp(`^[A-Za-z0-9+/]{${Math.floor((bytes * 4) / 3)}}[A-Za-z0-9+/=]{0,3}$`)

export function validateConfig(value: JsonValue): RepoConfig {
  if (!isJsonObject(value)) throw new FormatError('config object is not a JSON object')
  if (field(value, 'version', '') !== 1n) throw new FormatError(`config object: version ${String(value.version)} is not 1 (a newer redrepl wrote it)`)
  const encryption = field(value, 'encryption', '')
  if (encryption === 'none') return {version: 1, encryption: 'none'}
  if (encryption !== 'aes-256-gcm') throw new FormatError(`config object: encryption ${JSON.stringify(encryption)} is not none or aes-256-gcm`)
  const frameBytes = integer(value, 'frame_bytes', '', 4096, 64 * 1024 * 1024)
  const dataKeyId = text(value, 'data_key_id', '', HEX16)
  const list = field(value, 'keys', '')
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_KEYS) throw new FormatError(`config object: keys must list 1-${MAX_KEYS} keys`)
  const keys = list.map((entry, i): KeyEntry => {
    const path = `keys[${i}].`
    if (!isJsonObject(entry)) throw new FormatError(`config object: keys[${i}] is not an object`)
    const kind = field(entry, 'kind', path)
    if (kind !== 'passphrase' && kind !== 'key-file') throw new FormatError(`config object: ${path}kind is not passphrase or key-file`)
    const out: KeyEntry = {key_id: text(entry, 'key_id', path, HEX16), kind, nonce: text(entry, 'nonce', path, B64(12)), wrapped_key: text(entry, 'wrapped_key', path, B64(48)), added_unix_ms: BigInt(integer(entry, 'added_unix_ms', path, 0, Number.MAX_SAFE_INTEGER))}
    if (kind === 'passphrase') {
      const params = field(entry, 'scrypt', path)
      if (!isJsonObject(params)) throw new FormatError(`config object: ${path}scrypt is not an object`)
      const n = integer(params, 'n', `${path}scrypt.`, 2 ** SCRYPT_LOG_N.min, 2 ** SCRYPT_LOG_N.max)
      if ((n & (n - 1)) !== 0) throw new FormatError(`config object: ${path}scrypt.n is not a power of two`)
      out.scrypt = {n, r: integer(params, 'r', `${path}scrypt.`, 1, 32), p: integer(params, 'p', `${path}scrypt.`, 1, 16), salt: text(params, 'salt', `${path}scrypt.`, B64(16))}
      if (128 * out.scrypt.n * out.scrypt.r > SCRYPT_MAXMEM - 4096) throw new FormatError(`config object: ${path}scrypt needs more than 256 MiB`)
    }
    return out
  })
  if (new Set(keys.map((k) => k.key_id)).size !== keys.length) throw new FormatError('config object: two keys share a key_id')
  return {version: 1, encryption: 'aes-256-gcm', frame_bytes: frameBytes, data_key_id: dataKeyId, keys}
}

function scrypt(passphrase: Buffer, salt: Buffer, params: {n: number; r: number; p: number}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, salt, 32, {N: params.n, r: params.r, p: params.p, maxmem: SCRYPT_MAXMEM}, (error, key) => (error ? reject(error) : resolve(key)))
  })
}

/** What the wrap of an entry authenticates besides the data key: every field of the entry, and the data key's id. */
function wrapAad(dataKeyId: string, entry: Omit<KeyEntry, 'nonce' | 'wrapped_key'>): Buffer {
  return Buffer.from(JSON.stringify(['redrepl-repository-key', 1, dataKeyId, entry.key_id, entry.kind, entry.scrypt?.n ?? 0, entry.scrypt?.r ?? 0, entry.scrypt?.p ?? 0, entry.scrypt?.salt ?? '', String(entry.added_unix_ms)]), 'utf8')
}

async function keyEncryptionKey(secret: Secret, entry: KeyEntry | Omit<KeyEntry, 'nonce' | 'wrapped_key'>): Promise<Buffer> {
  if (secret.kind === 'key-file') return secret.key
  return scrypt(secret.passphrase, Buffer.from(entry.scrypt!.salt, 'base64'), entry.scrypt!)
}

/** A new key entry wrapping `dataKey` for `secret`. */
export async function wrapKey(dataKey: Buffer, dataKeyId: string, secret: Secret, nowMs: bigint, logN: number = SCRYPT_DEFAULT.logN): Promise<KeyEntry> {
  if (!Number.isInteger(logN) || logN < SCRYPT_LOG_N.min || logN > SCRYPT_LOG_N.max) throw usageError(`scrypt cost 2^${logN} is outside 2^${SCRYPT_LOG_N.min}-2^${SCRYPT_LOG_N.max}`)
  const entry: Omit<KeyEntry, 'nonce' | 'wrapped_key'> = {key_id: randomBytes(8).toString('hex'), kind: secret.kind, added_unix_ms: nowMs}
  if (secret.kind === 'passphrase') entry.scrypt = {n: 2 ** logN, r: SCRYPT_DEFAULT.r, p: SCRYPT_DEFAULT.p, salt: randomBytes(16).toString('base64')}
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', await keyEncryptionKey(secret, entry), nonce)
  cipher.setAAD(wrapAad(dataKeyId, entry))
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()])
  return {...entry, nonce: nonce.toString('base64'), wrapped_key: wrapped.toString('base64')}
}

/** The data key, unwrapped by the first entry of the secret's kind it opens; refused (exit 4) when it opens none. */
export async function unwrapKey(config: EncryptedConfig, secret: Secret, name: string): Promise<{seal: SealKey; keyId: string}> {
  const candidates = config.keys.filter((entry) => entry.kind === secret.kind)
  if (candidates.length === 0) throw refused(`${name}: the repository has no ${secret.kind} key; ${secret.source} cannot open it`, {code: 'repo.wrong-key'})
  for (const entry of candidates) {
    const wrapped = Buffer.from(entry.wrapped_key, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', await keyEncryptionKey(secret, entry), Buffer.from(entry.nonce, 'base64'))
    decipher.setAAD(wrapAad(config.data_key_id, entry))
    decipher.setAuthTag(wrapped.subarray(32))
    const key = decipher.update(wrapped.subarray(0, 32))
    try {
      decipher.final()
    } catch {
      continue
    }
    return {seal: {key, id: Buffer.from(config.data_key_id, 'hex'), frameBytes: config.frame_bytes}, keyId: entry.key_id}
  }
  throw refused(`${name}: wrong key: ${secret.source} opens none of the repository's ${candidates.length} ${secret.kind} key(s)`, {code: 'repo.wrong-key'})
}

/** A new encrypted config with one key, and its data key. */
export async function newEncryptedConfig(secret: Secret, nowMs: bigint, logN?: number): Promise<EncryptedConfig> {
  const dataKey = randomBytes(32)
  const dataKeyId = randomBytes(8).toString('hex')
  return {version: 1, encryption: 'aes-256-gcm', frame_bytes: SEAL_FRAME_BYTES, data_key_id: dataKeyId, keys: [await wrapKey(dataKey, dataKeyId, secret, nowMs, logN)]}
}

/** A key file's bytes are its key: exactly 32 of them. */
export function keyFromFile(bytes: Uint8Array, file: string): Buffer {
  if (bytes.length !== KEY_FILE_BYTES) throw usageError(`${file}: a key file holds exactly ${KEY_FILE_BYTES} bytes, this one ${bytes.length}`, {hint: 'make one with "redrepl repo key create"'})
  return Buffer.from(bytes)
}

/** A passphrase file's first line (a trailing newline is not part of it); an empty one is refused. */
export function passphraseFromFile(bytes: Uint8Array, file: string): Buffer {
  let end = bytes.length
  if (end > 0 && bytes[end - 1] === 0x0a) end--
  if (end > 0 && bytes[end - 1] === 0x0d) end--
  if (end === 0) throw usageError(`${file}: the passphrase is empty`)
  if (Buffer.from(bytes.subarray(0, end)).includes(0x0a)) throw usageError(`${file}: a passphrase file holds one line`)
  return Buffer.from(bytes.subarray(0, end))
}
