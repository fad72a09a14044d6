import path from 'node:path'

import {toHex} from '../../codec/hex.js'
import type {JsonValue} from '../../codec/json.js'
import {FormatError, RedreplError, usageError} from '../../errors.js'
import type {Finding} from '../../findings.js'
import type {ArtifactKind} from '../../format/artifact.js'
import {readersOf, RELEASES} from '../../format/embedded-rdb.js'
import {CODECS, detectKind, isArtifactKind} from '../../format/registry.js'
import {MAX_ARTIFACT_BYTES, MAX_WHOLE_DATABASE_BYTES} from '../../format/size-caps.js'
import {assertWithin, openRegular, readAt, type OpenedFile} from '../../fs/open.js'
import type {RdbFormat, RedDBRelease} from '../../model.js'
import {databaseFindings} from '../node/embedded-findings.js'
import {readEmbeddedWal, streamEmbeddedSnapshot, type OpenedEmbeddedFile} from '../node/embedded-file.js'

/** What inspect says about an embedded database besides its JSON model. */
/** The kinds `inspect --kind` accepts. */
export {ARTIFACT_KINDS} from '../../format/registry.js'

export interface DatabaseFacts {
  rdb_format: RdbFormat
  /** The RedDB releases that open this format. */
  read_by: string[]
  /** Whose rules it was opened by, and why. */
  rules: RedDBRelease
  rules_source: 'flag' | 'superblock-layout-2' | 'no-layout-2-superblock'
  findings: Finding[]
}

/** What `inspect --json` prints: the artifact's canonical model (spec/format.md), RedDB's fields, not this contract's. */
export type InspectModel = JsonValue

export interface Inspection {
  path: string
  kind: ArtifactKind
  json: InspectModel
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

/** Enough of a file to recognise its kind: a magic at 0, or an `.rdb`'s second superblock copy at 4096. */
const KIND_PROBE_BYTES = 4096 + 8

/**
 * Reads one artifact file, works out its kind unless given, and decodes it.
 * The file is opened once (a regular file only); its kind's size cap is
 * checked before it is read whole. A database too large to read whole is
 * checked by streaming and summarised instead (its snapshot cannot be
 * printed as hex anyway: a JavaScript string holds at most 2^29 characters).
 */
export async function inspectFile(file: string, options: {kind?: string; nowMs: bigint; summaryOnly?: boolean; reddb?: RedDBRelease}): Promise<Inspection> {
  if (options.kind !== undefined && !isArtifactKind(options.kind)) {
    throw usageError(`unknown kind "${options.kind}"; expected one of ${Object.keys(CODECS).join(', ')}`)
  }
  const opened = await openRegular(file)
  let inspection: Inspection | undefined
  try {
    const kind = isArtifactKind(options.kind ?? '') ? (options.kind as ArtifactKind) : await detectKindOf(opened)
    if (kind !== 'embedded-rdb' || opened.size <= MAX_WHOLE_DATABASE_BYTES) {
      const codec = CODECS[kind]
      assertWithin(opened, MAX_ARTIFACT_BYTES[kind], codec.label)
      const bytes = await readAt(opened, 0, opened.size)
      inspection = {path: file, kind, json: inFile(file, () => codec.toJson(codec.decode(bytes, {nowMs: options.nowMs, reddb: options.reddb})))}
    }
  } finally {
    await opened.handle.close()
  }
  if (inspection !== undefined) {
    if (inspection.kind === 'embedded-rdb') inspection.database = factsOf(await streamEmbeddedSnapshot(file, () => {}, () => {}, undefined, options.reddb), options.reddb)
    return inspection
  }
  if (!options.summaryOnly) {
    throw new RedreplError('refused', `${file}: a ${opened.size}-byte database is too large to print as the JSON model (its snapshot as hex); without --json inspect shows its header, and layout verify checks it`)
  }
  const database = await streamEmbeddedSnapshot(file, () => {}, () => {}, undefined, options.reddb)
  return {path: file, kind: 'embedded-rdb', json: await summarizeLargeDatabase(database), database: factsOf(database, options.reddb)}
}

async function detectKindOf(opened: OpenedFile): Promise<ArtifactKind> {
  const head = await readAt(opened, 0, Math.min(opened.size, KIND_PROBE_BYTES))
  return inFile(opened.path, () => detectKind(head, path.basename(opened.path)))
}

/** Runs a decode step, reporting a broken rule against the file. */
function inFile<T>(file: string, step: () => T): T {
  try {
    return step()
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
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
