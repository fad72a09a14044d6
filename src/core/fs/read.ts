import {readFile} from 'node:fs/promises'

import {FormatError, RedreplError} from '../errors.js'
import type {ArtifactCodec, CodecContext} from '../format/artifact.js'

/** Reads a file, or undefined when it does not exist; other I/O errors name the path. */
export async function readFileIfExists(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(file))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new RedreplError('failure', `${file}: ${(error as Error).message}`)
  }
}

/** Decodes bytes read from `file`; a broken rule is reported against the file. */
export function decodeFile<M>(file: string, bytes: Uint8Array, codec: ArtifactCodec<M>, context: CodecContext): M {
  try {
    return codec.decode(bytes, context)
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
  }
}

export async function readArtifactIfExists<M>(file: string, codec: ArtifactCodec<M>, context: CodecContext): Promise<M | undefined> {
  const bytes = await readFileIfExists(file)
  return bytes === undefined ? undefined : decodeFile(file, bytes, codec, context)
}

export async function readArtifact<M>(file: string, codec: ArtifactCodec<M>, context: CodecContext): Promise<M> {
  const model = await readArtifactIfExists(file, codec, context)
  if (model === undefined) throw new RedreplError('not-found', `${file}: no such file`)
  return model
}
