import {readFile} from 'node:fs/promises'
import path from 'node:path'

import type {JsonValue} from '../codec/json.js'
import {FormatError, notFound, RedreplError, usageError} from '../errors.js'
import type {ArtifactKind} from '../format/artifact.js'
import {CODECS, detectKind, isArtifactKind} from '../format/registry.js'

export interface Inspection {
  path: string
  kind: ArtifactKind
  json: JsonValue
}

/** Reads one artifact file, works out its kind unless given, and decodes it. */
export async function inspectFile(file: string, options: {kind?: string; nowMs: bigint}): Promise<Inspection> {
  if (options.kind !== undefined && !isArtifactKind(options.kind)) {
    throw usageError(`unknown kind "${options.kind}"; expected one of ${Object.keys(CODECS).join(', ')}`)
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
