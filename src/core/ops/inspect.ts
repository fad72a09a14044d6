import {open, readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {toHex} from '../codec/hex.js'
import type {JsonValue} from '../codec/json.js'
import {FormatError, notFound, RedreplError, usageError} from '../errors.js'
import type {ArtifactKind} from '../format/artifact.js'
import {scanWalFrames} from '../format/embedded-rdb.js'
import {CODECS, detectKind, isArtifactKind} from '../format/registry.js'
import {streamEmbeddedSnapshot} from './embedded-file.js'

export interface Inspection {
  path: string
  kind: ArtifactKind
  json: JsonValue
}

/**
 * Databases above this are opened from disk (header, WAL, streamed snapshot
 * check) instead of read whole: their snapshot cannot be printed as hex
 * anyway (a JavaScript string holds at most 2^29 characters).
 */
export const LARGE_DATABASE_BYTES = 256 * 1024 * 1024

/** Reads one artifact file, works out its kind unless given, and decodes it. */
export async function inspectFile(file: string, options: {kind?: string; nowMs: bigint; summaryOnly?: boolean}): Promise<Inspection> {
  if (options.kind !== undefined && !isArtifactKind(options.kind)) {
    throw usageError(`unknown kind "${options.kind}"; expected one of ${Object.keys(CODECS).join(', ')}`)
  }
  const size = await stat(file).then((info) => info.size, () => undefined)
  if (size !== undefined && size > LARGE_DATABASE_BYTES && (options.kind ?? (file.endsWith('.rdb') ? 'embedded-rdb' : undefined)) === 'embedded-rdb') {
    if (!options.summaryOnly) {
      throw new RedreplError('refused', `${file}: a ${size}-byte database is too large to print as the JSON model (its snapshot as hex); without --json inspect shows its header, and layout verify checks it`)
    }
    return {path: file, kind: 'embedded-rdb', json: await summarizeLargeDatabase(file)}
  }
  const bytes = await readWholeFile(file)
  try {
    const kind = (options.kind as ArtifactKind | undefined) ?? detectKind(bytes, path.basename(file))
    const codec = CODECS[kind]
    return {path: file, kind, json: codec.toJson(codec.decode(bytes, {nowMs: options.nowMs}))}
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
  }
}

export async function readWholeFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw notFound(`${file}: no such file`)
    if (code === 'EISDIR') throw usageError(`${file}: is a directory, not an artifact file`)
    throw new RedreplError('failure', `${file}: ${(error as Error).message}`)
  }
}

/** A large database's header, manifest and WAL, its snapshot checked by streaming but not shown. */
async function summarizeLargeDatabase(file: string): Promise<JsonValue> {
  const {candidate, snapshotBytes} = await streamEmbeddedSnapshot(file, () => {}, () => {})
  const {superblock, manifest} = candidate
  const start = Number(manifest.wal_region_offset)
  const end = Number(superblock.wal_recovery_boundary)
  const region = new Uint8Array(Math.max(0, end - start))
  const handle = await open(file, 'r')
  try {
    await handle.read(region, 0, region.length, start)
  } finally {
    await handle.close()
  }
  return {
    selected_superblock: {...superblock},
    manifest: {...manifest},
    snapshot: `${snapshotBytes} bytes, CRC checked (too large to show)`,
    wal_payloads_hex: scanWalFrames(region).map(toHex),
  }
}
