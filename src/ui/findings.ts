import type {Finding} from '../core/findings.js'
import {paint} from './style.js'

/** One line per finding, `severity: path: message [code]`, coloured by severity (after loadStyle). */
export function findingLine(f: Finding): string {
  const line = `${f.severity}: ${f.path}: ${f.message} [${f.code}]`
  return f.severity === 'error' ? paint.red(line) : f.severity === 'warning' ? paint.yellow(line) : paint.dim(line)
}

/** The same line without colour, for stderr, which scripts and cron mail read. */
export const plainFindingLine = (f: Finding) => `redrepl: ${f.severity}: ${f.path}: ${f.message} [${f.code}]`

/** On stderr, a warning line for each guard a run overrode (--force): stdout carries only the report. */
export function warnOverridden(findings: ReadonlyArray<{message: string}>): void {
  for (const overridden of findings) process.stderr.write(`redrepl: warning: ${overridden.message}\n`)
}

/** On stderr, each finding of a restore as a note or a warning line, in every output mode. */
export function noteOnStderr(findings: ReadonlyArray<Pick<Finding, 'severity' | 'message'>>): void {
  for (const noted of findings) process.stderr.write(`redrepl: ${noted.severity === 'note' ? 'note' : 'warning'}: ${noted.message}\n`)
}
