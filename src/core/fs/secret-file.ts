import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, open, unlink} from 'node:fs/promises'
import path from 'node:path'

import {refused} from '../errors.js'
import {fsyncDir} from './atomic.js'
import {ioError} from './io-error.js'

/**
 * A file only its owner may read (mode 0600 from its creation, never
 * widened), written whole under a temp name and linked into place, which
 * fails if the name exists: a key file is never overwritten, never written
 * through a link, and never seen half-written.
 */
export async function writeSecretFileExclusive(target: string, bytes: Uint8Array): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(8).toString('hex')}.tmp`)
  let handle
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  } catch (error) {
    throw ioError('create', target, error)
  }
  try {
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      await link(temp, target)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw refused(`${target}: already exists; a key file is never overwritten`)
      throw ioError('write', target, error)
    }
  } finally {
    await unlink(temp).catch(() => {})
  }
  await fsyncDir(path.dirname(target))
}
