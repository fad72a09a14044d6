/**
 * What an unattended run did, for its log: operations report events here
 * (planned, removed, written, refused) with structured fields, and the
 * ui layer decides where they go. Silent unless a logger is installed, so
 * the library costs nothing when used without one.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export type LogFields = Record<string, string | number | bigint | boolean | null | undefined>

export interface Logger {
  write(level: LogLevel, event: string, fields?: LogFields): void
}

const SILENT: Logger = {write() {}}
let current: Logger = SILENT

/** Installs the process's logger (the CLI does, from --log-file); returns the previous one. */
export function installLogger(logger: Logger): Logger {
  const previous = current
  current = logger
  return previous
}

export const log = {
  debug: (event: string, fields?: LogFields) => current.write('debug', event, fields),
  info: (event: string, fields?: LogFields) => current.write('info', event, fields),
  warn: (event: string, fields?: LogFields) => current.write('warn', event, fields),
  error: (event: string, fields?: LogFields) => current.write('error', event, fields),
}

/**
 * What the operator must read whatever the output mode (a guard overridden,
 * a live file replaced): the ui prints each on stderr, and the log file
 * gets it too. Without a sink it only reaches the log.
 */
let warningSink: (message: string) => void = () => {}

export function installWarningSink(sink: (message: string) => void): void {
  warningSink = sink
}

export function warnOperator(message: string, fields?: LogFields): void {
  current.write('warn', 'warning', {message, ...fields})
  warningSink(message)
}
