import {Readable, type Transform} from 'node:stream'

/** One helper to run an async byte source through a Node stream transform (zlib's), shared by the codecs. */

/** Pipes an async source through a transform; an error on either side ends the output with it. */
export async function* through(source: AsyncIterable<Uint8Array>, transform: Transform, onTransformError: (error: Error) => Error): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, {objectMode: false})
  let sourceFailed = false
  input.on('error', (error) => {
    sourceFailed = true
    transform.destroy(error)
  })
  input.pipe(transform)
  try {
    for await (const piece of transform) yield piece as Buffer
  } catch (error) {
    throw sourceFailed ? error : onTransformError(error as Error)
  } finally {
    input.destroy()
    transform.destroy()
  }
}
