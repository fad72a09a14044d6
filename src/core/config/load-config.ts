import {usageError} from '../errors.js'
import {ioError} from '../fs/io-error.js'
import {openReadOnlyNonBlocking} from '../fs/open.js'
import {MAX_CONFIG_BYTES, parseConfig, type ConfigFile} from './config-file.js'

export const DEFAULT_CONFIG_PATH = '/etc/redrepl/redrepl.conf'

/**
 * A config file can disarm what it sets (a data path, a repository), so
 * only root and the user running redrepl may be able to change it: like
 * sshd with its files, one that another user owns, or that its group or
 * anyone may write, is refused rather than read. The checks apply to the
 * file opened, so a symlink to such a file is refused too.
 */
function refuseUnsafeOwnership(file: string, mode: number, uid: number): void {
  const octal = `mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`
  const writers = [mode & 0o020 ? 'its group' : '', mode & 0o002 ? 'any user' : ''].filter((who) => who !== '')
  const hint = 'make it owned by root or by the user running redrepl, and writable by its owner only (chmod go-w)'
  if (writers.length > 0) throw usageError(`${file}: the config file is writable by ${writers.join(' and ')} (${octal}); refusing to read it`, {hint})
  const me = process.getuid?.()
  if (uid !== 0 && me !== undefined && uid !== me) throw usageError(`${file}: the config file is owned by uid ${uid}, neither root nor the running user (uid ${me}) (${octal}); refusing to read it`, {hint})
}

/**
 * Reads the config file: the one named (`--config`, `REDREPL_CONFIG`) must
 * exist; the default one is optional. Regular files only, and bounded, so a
 * FIFO or a huge file at the path cannot hang or exhaust a cron run.
 */
export async function loadConfig(named: string | undefined): Promise<ConfigFile | null> {
  const file = named ?? DEFAULT_CONFIG_PATH
  let handle
  try {
    handle = await openReadOnlyNonBlocking(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' && named === undefined) return null
    if (code === 'ENOENT') throw usageError(`${file}: no such config file`)
    throw ioError('read the config file', file, error)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw usageError(`${file}: the config file is not a regular file`)
    refuseUnsafeOwnership(file, info.mode, info.uid)
    if (info.size > MAX_CONFIG_BYTES) throw usageError(`${file}: the config file is ${info.size} bytes, more than ${MAX_CONFIG_BYTES}`)
    const buffer = Buffer.alloc(info.size)
    const {bytesRead} = await handle.read(buffer, 0, info.size, 0)
    return await parseConfig(buffer.subarray(0, bytesRead).toString('utf8'), file)
  } finally {
    await handle.close()
  }
}
