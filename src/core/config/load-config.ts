import {constants} from 'node:fs'
import {open} from 'node:fs/promises'

import {RedreplError, usageError} from '../errors.js'
import {MAX_CONFIG_BYTES, parseConfig, type ConfigFile} from './config-file.js'

export const DEFAULT_CONFIG_PATH = '/etc/redrepl/redrepl.conf'

/**
 * Reads the config file: the one named (`--config`, `REDREPL_CONFIG`) must
 * exist; the default one is optional. Regular files only, and bounded, so a
 * FIFO or a huge file at the path cannot hang or exhaust a cron run.
 */
export async function loadConfig(named: string | undefined): Promise<ConfigFile | null> {
  const file = named ?? DEFAULT_CONFIG_PATH
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && named === undefined) return null
    if (code === 'ENOENT') throw usageError(`${file}: no such config file`)
    throw new RedreplError('failure', `${file}: cannot read the config file: ${(error as Error).message}`)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw usageError(`${file}: the config file is not a regular file`)
    if (info.size > MAX_CONFIG_BYTES) throw usageError(`${file}: the config file is ${info.size} bytes, more than ${MAX_CONFIG_BYTES}`)
    const buffer = Buffer.alloc(info.size)
    const {bytesRead} = await handle.read(buffer, 0, info.size, 0)
    return await parseConfig(buffer.subarray(0, bytesRead).toString('utf8'), file)
  } finally {
    await handle.close()
  }
}
