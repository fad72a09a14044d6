import {FormatError} from '../../errors.js'
import type {ArtifactCodec, CodecContext} from '../../format/artifact.js'
import {MAX_ARTIFACT_BYTES} from '../../format/size-caps.js'
import {readBounded, readBoundedIfExists} from '../../fs/open.js'

/**
 * Reads an artifact file whole and decodes it: the file is opened through
 * fs/open.ts (regular files only, under the kind's size cap, from
 * format/size-caps.ts), and a broken rule is reported against the file.
 * It joins fs and format, so it lives with the operations that use it.
 */

/** Decodes bytes read from `file`; a broken rule is reported against the file. */
export function decodeFile<M>(file: string, bytes: Uint8Array, codec: ArtifactCodec<M>, context: CodecContext): M {
  try {
    return codec.decode(bytes, context)
  } catch (error) {
    if (error instanceof FormatError) throw error.inFile(file)
    throw error
  }
}

/** An artifact's bytes under its kind's cap, or undefined when the file does not exist. */
export function readArtifactBytesIfExists(file: string, codec: ArtifactCodec<unknown>): Promise<Uint8Array | undefined> {
  return readBoundedIfExists(file, MAX_ARTIFACT_BYTES[codec.kind], codec.label)
}

export async function readArtifactIfExists<M>(file: string, codec: ArtifactCodec<M>, context: CodecContext): Promise<M | undefined> {
  const bytes = await readArtifactBytesIfExists(file, codec)
  return bytes === undefined ? undefined : decodeFile(file, bytes, codec, context)
}

/** A missing file is not-found (exit 6). */
export async function readArtifact<M>(file: string, codec: ArtifactCodec<M>, context: CodecContext): Promise<M> {
  return decodeFile(file, await readBounded(file, MAX_ARTIFACT_BYTES[codec.kind], codec.label), codec, context)
}
