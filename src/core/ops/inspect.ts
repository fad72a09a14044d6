import {readFile, stat} from 'node:fs/promises'
import path from 'node:path'

import {toHex} from '../codec/hex.js'
import type {JsonValue} from '../codec/json.js'
import {FormatError, notFound, RedreplError, usageError} from '../errors.js'
import type {Finding} from '../findings.js'
import type {ArtifactKind} from '../format/artifact.js'
import {readersOf, RELEASES} from '../format/embedded-rdb.js'
import {CODECS, detectKind, isArtifactKind} from '../format/registry.js'
import type {RdbFormat, RedDBRelease} from '../model.js'
import {databaseFindings} from './embedded-findings.js'
import {readEmbeddedWal, streamEmbeddedSnapshot, type OpenedEmbeddedFile} from './embedded-file.js'

/** What inspect says about an embedded database besides its JSON model. */
export interface DatabaseFacts {
  rdb_format: RdbFormat
  /** The RedDB releases that open this format. */
  read_by: string[]
  /** Whose rules it was opened by, and why. */
  rules: RedDBRelease
  rules_source: 'flag' | 'superblock-layout-2' | 'no-layout-2-superblock'
  findings: Finding[]
}

export interface Inspection {
  path: string
  kind: ArtifactKind
  json: JsonValue
  database?: DatabaseFacts
}

function factsOf(opened: OpenedEmbeddedFile, reddb: RedDBRelease | undefined): DatabaseFacts {
  return {
    rdb_format: opened.format,
    read_by: readersOf(opened.format),
    rules: opened.rules,
    rules_source: reddb !== undefined ? 'flag' : opened.rules === 'reddb-1.23' ? 'superblock-layout-2' : 'no-layout-2-superblock',
    findings: databaseFindings(opened, opened.file),
  }
}

/** How inspect explains whose rules opened a database. */
export const RULES_SOURCE_TEXT: Record<DatabaseFacts['rules_source'], string> = {
  flag: 'as asked',
  'superblock-layout-2': 'a superblock in layout 2 shows RedDB 1.23 wrote it',
  'no-layout-2-superblock': 'no superblock in layout 2: nothing shows RedDB 1.23 wrote it',
}

export const rulesLabel = (release: RedDBRelease) => RELEASES[release].label

/**
 * Databases above this are opened from disk (header, WAL, streamed snapshot
 * check) instead of read whole: their snapshot cannot be printed as hex
 * anyway (a JavaScript string holds at most 2^29 characters).
 */
export const LARGE_DATABASE_BYTES = 256 * 1024 * 1024

/** Reads one artifact file, works out its kind unless given, and decodes it. */
export async function inspectFile(file: string, options: {kind?: string; nowMs: bigint; summaryOnly?: boolean; reddb?: RedDBRelease}): Promise<Inspection> {
  if (options.kind !== undefined && !isArtifactKind(options.kind)) {
    throw usageError(`unknown kind "${options.kind}"; expected one of ${Object.keys(CODECS).join(', ')}`)
  }
  const size = await stat(file).then((info) => info.size, () => undefined)
  if (size !== undefined && size > LARGE_DATABASE_BYTES && (options.kind ?? (file.endsWith('.rdb') ? 'embedded-rdb' : undefined)) === 'embedded-rdb') {
    if (!options.summaryOnly) {
      throw new RedreplError('refused', `${file}: a ${size}-byte database is too large to print as the JSON model (its snapshot as hex); without --json inspect shows its header, and layout verify checks it`)
    }
    const opened = await streamEmbeddedSnapshot(file, () => {}, () => {}, undefined, options.reddb)
    return {path: file, kind: 'embedded-rdb', json: await summarizeLargeDatabase(opened), database: factsOf(opened, options.reddb)}
  }
  const bytes = await readWholeFile(file)
  let inspection: Inspection
  try {
    const kind = (options.kind as ArtifactKind | undefined) ?? detectKind(bytes, path.basename(file))
    const codec = CODECS[kind]
    inspection = {path: file, kind, json: codec.toJson(codec.decode(bytes, {nowMs: options.nowMs, reddb: options.reddb}))}
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
  }
  if (inspection.kind === 'embedded-rdb') inspection.database = factsOf(await streamEmbeddedSnapshot(file, () => {}, () => {}, undefined, options.reddb), options.reddb)
  return inspection
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
async function summarizeLargeDatabase(opened: OpenedEmbeddedFile): Promise<JsonValue> {
  const model = CODECS['embedded-rdb'].toJson({rules: opened.rules, selected_superblock: opened.candidate.superblock, manifest: opened.candidate.manifest, snapshot: null, wal_payloads: []}) as Record<string, JsonValue>
  return {
    selected_superblock: model.selected_superblock!,
    manifest: model.manifest!,
    snapshot: `${opened.snapshotBytes} bytes, CRC checked (too large to show)`,
    wal_payloads_hex: (await readEmbeddedWal(opened)).map(toHex),
  }
}
