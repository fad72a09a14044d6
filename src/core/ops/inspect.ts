import path from 'node:path'

import {toHex} from '../codec/hex.js'
import type {JsonValue} from '../codec/json.js'
import {FormatError, RedreplError, usageError} from '../errors.js'
import type {ArtifactKind} from '../format/artifact.js'
import {scanWalFrames} from '../format/embedded-rdb.js'
import {CODECS, detectKind, isArtifactKind} from '../format/registry.js'
import {MAX_ARTIFACT_BYTES, MAX_WHOLE_DATABASE_BYTES} from '../format/size-caps.js'
import {assertWithin, openRegular, readAt, type OpenedFile} from '../fs/open.js'
import {streamEmbeddedSnapshot} from './embedded-file.js'

export interface Inspection {
  path: string
  kind: ArtifactKind
  json: JsonValue
}

/** Enough of a file to recognise its kind: a magic at 0, or an `.rdb`'s second superblock copy at 4096. */
const KIND_PROBE_BYTES = 4096 + 8

/**
 * Reads one artifact file, works out its kind unless given, and decodes it.
 * The file is opened once (a regular file only); its kind's size cap is
 * checked before it is read whole. A database too large to read whole is
 * checked by streaming and summarised instead.
 */
export async function inspectFile(file: string, options: {kind?: string; nowMs: bigint; summaryOnly?: boolean}): Promise<Inspection> {
  if (options.kind !== undefined && !isArtifactKind(options.kind)) {
    throw usageError(`unknown kind "${options.kind}"; expected one of ${Object.keys(CODECS).join(', ')}`)
  }
  const opened = await openRegular(file)
  let large = false
  try {
    const kind = isArtifactKind(options.kind ?? '') ? (options.kind as ArtifactKind) : await detectKindOf(opened)
    large = kind === 'embedded-rdb' && opened.size > MAX_WHOLE_DATABASE_BYTES
    if (!large) {
      const codec = CODECS[kind]
      assertWithin(opened, MAX_ARTIFACT_BYTES[kind], codec.label)
      const bytes = await readAt(opened, 0, opened.size)
      return {path: file, kind, json: inFile(file, () => codec.toJson(codec.decode(bytes, {nowMs: options.nowMs})))}
    }
  } finally {
    await opened.handle.close()
  }
  if (!options.summaryOnly) {
    throw new RedreplError('refused', `${file}: a ${opened.size}-byte database is too large to print as the JSON model (its snapshot as hex); without --json inspect shows its header, and layout verify checks it`)
  }
  return {path: file, kind: 'embedded-rdb', json: await summarizeLargeDatabase(file)}
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
async function summarizeLargeDatabase(file: string): Promise<JsonValue> {
  const {candidate, snapshotBytes} = await streamEmbeddedSnapshot(file, () => {}, () => {})
  const {superblock, manifest} = candidate
  const start = Number(manifest.wal_region_offset)
  const end = Number(superblock.wal_recovery_boundary)
  const opened: OpenedFile = await openRegular(file)
  let region: Uint8Array
  try {
    region = await readAt(opened, start, Math.max(0, end - start))
  } finally {
    await opened.handle.close()
  }
  return {
    selected_superblock: {...superblock},
    manifest: {...manifest},
    snapshot: `${snapshotBytes} bytes, CRC checked (too large to show)`,
    wal_payloads_hex: scanWalFrames(region).map(toHex),
  }
}
