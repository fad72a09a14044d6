import type {Finding} from '../core/findings.js'
import {paint} from './style.js'

/** One line per finding, `severity: path: message [code]`, coloured by severity (after loadStyle). */
export function findingLine(f: Finding): string {
  const line = `${f.severity}: ${f.path}: ${f.message} [${f.code}]`
  return f.severity === 'error' ? paint.red(line) : f.severity === 'warning' ? paint.yellow(line) : paint.dim(line)
}

/** The same line without colour, for stderr, which scripts and cron mail read. */
export const plainFindingLine = (f: Finding) => `redrepl: ${f.severity}: ${f.path}: ${f.message} [${f.code}]`
