import {openAppendOnly} from '../core/fs/append-file.js'
import {installLogger, LOG_LEVELS, type LogFields, type Logger, type LogLevel} from '../core/log.js'

/**
 * `--log-file`: one timestamped line per event, appended through
 * fs/append-file.ts (O_APPEND, so overlapping cron runs interleave whole
 * lines; never through a link of either kind, only to a regular file):
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
  const out = openAppendOnly(file, 'log file')
  const threshold = LOG_LEVELS.indexOf(minimum)
  const logger: Logger = {
    write(level, event, fields) {
      if (LOG_LEVELS.indexOf(level) < threshold) return
      out.append(formatLogLine(new Date(), process.pid, command, level, event, fields))
    },
  }
  const previous = installLogger(logger)
  return () => {
    installLogger(previous)
    out.close()
  }
}
