import {closeSync, constants, fstatSync, openSync, writeSync} from 'node:fs'

import {installLogger, LOG_LEVELS, type LogFields, type Logger, type LogLevel} from '../core/log.js'
import {RedreplError} from '../core/errors.js'

/**
 * `--log-file`: one timestamped line per event, appended (O_APPEND, so
 * overlapping cron runs interleave whole lines), never through a link of
 * either kind (O_NOFOLLOW; a file with more than one name is refused) and
 * only to a regular file (never a FIFO, device or socket):
 *
 *   2026-12-01T22:17:21.123Z pid=4242 wal-prune INFO removed path=/var/lib/... bytes=67108864
 */

function formatValue(value: LogFields[string]): string {
  const text = value === null || value === undefined ? '-' : String(value)
  return /^[\w./:@+-]+$/.test(text) ? text : JSON.stringify(text)
}

export function formatLogLine(at: Date, pid: number, command: string, level: LogLevel, event: string, fields: LogFields = {}): string {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${formatValue(value)}`)
    .join('')
  return `${at.toISOString()} pid=${pid} ${command} ${level.toUpperCase()} ${formatValue(event)}${pairs}\n`
}

/** Opens the log file and installs a logger writing events at `minimum` and above; returns its closer. */
export function openLogFile(file: string, minimum: LogLevel, command: string): () => void {
  let fd: number
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o640)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // ENXIO: a FIFO nobody reads (O_NONBLOCK), or a socket.
    const reason = code === 'ELOOP' ? 'is a symbolic link' : code === 'EISDIR' ? 'is a directory' : code === 'ENXIO' ? 'is a FIFO or socket, not a regular file' : (error as Error).message
    throw new RedreplError('usage', `${file}: cannot open the log file: ${reason}`)
  }
  const info = fstatSync(fd)
  // A second name for the file is a link too: appending through it would write into whatever file it also is (a config, another log).
  const problem = !info.isFile() ? 'is not a regular file' : info.nlink > 1 ? `has ${info.nlink} hard links, so it is also another name's file` : undefined
  if (problem !== undefined) {
    closeSync(fd)
    throw new RedreplError('usage', `${file}: the log file ${problem}; refusing to append to it`)
  }
  const threshold = LOG_LEVELS.indexOf(minimum)
  const logger: Logger = {
    write(level, event, fields) {
      if (LOG_LEVELS.indexOf(level) < threshold) return
      writeSync(fd, formatLogLine(new Date(), process.pid, command, level, event, fields))
    },
  }
  const previous = installLogger(logger)
  return () => {
    installLogger(previous)
    closeSync(fd)
  }
}
