import type {Interfaces} from '@oclif/core'

import {Command, Flags} from './oclif.js'

import {writeJson} from '../core/codec/json.js'
import {EXIT_CODES, InterruptedError, RedreplError} from '../core/errors.js'
import {installWarningSink, log, LOG_LEVELS, type LogLevel} from '../core/log.js'
import {removeUnfinishedWrites} from '../core/ops/layout/unfinished-writes.js'
import {flagSources, type FlagSource, type ParsedTokens} from './flag-source.js'
import {endBySignal, listenForInterrupts, removedClause, type InterruptMode, type Interrupts} from './interrupt.js'
import {withSchema} from './contract.js'
import {openLogFile} from './log-file.js'
import {OUTPUT_MODES, resolveOutputMode, tableWidth, type OutputMode} from './output.js'
import {progressMode, startProgress, type Progress} from './progress.js'
import {loadStyle} from './style.js'
import {suggest} from './suggest.js'
import {renderFieldTsv, renderTsv, setTableWidth, type TableView} from './table.js'

/**
 * What every redrepl command shares: its output mode (--output, with --json
 * as --output json) and the printing of its report in that mode, and
 * failures reported as one line on stderr with a documented exit code.
 * A command's run() returns its report `R`, the type of its JSON document,
 * and says how the report reads (`human`, and `mainTable` for tsv): it is
 * printed here, then the run ends with the exit code the report states
 * (`exitCodeOf`). Only `help` and `metrics`, which have no report, print
 * for themselves; `emit` is left for a document no run() returns (a
 * plugin's UNKNOWN state, printed from `catch`).
 */
// oclif's FlagOutput and ArgOutput, which it does not export.
type Outputs = {[name: string]: any}

export abstract class RedreplCommand<R = void> extends Command {
  abstract override run(): Promise<R>

  /** How the report `run()` returns reads for a person. */
  protected human?(report: R): void

  /** The report's main table, for --output tsv (field/value lines of the document without one). */
  protected mainTable?(report: R): TableView | undefined

  /**
   * The exit code the run ends with once the report is printed, for a
   * report that states a failure (a corrupt layout, a Nagios state); 0 or
   * none: success.
   */
  protected exitCodeOf?(report: R): number

  /** Read by the preparse hook (hooks/preparse-config.ts) before the command's own flags are parsed. */
  static override baseFlags = {
    config: Flags.string({description: 'The config file (default: /etc/redrepl/redrepl.conf when it exists).', env: 'REDREPL_CONFIG', helpValue: 'FILE', helpGroup: 'GLOBAL'}),
    node: Flags.string({description: 'Take settings from this [node.NAME] section of the config file.', env: 'REDREPL_NODE', helpValue: 'NAME', helpGroup: 'GLOBAL'}),
    'log-file': Flags.string({description: 'Append timestamped lines of what was planned, written, removed or refused to this file (for unattended runs).', helpValue: 'PATH', helpGroup: 'GLOBAL'}),
    'log-level': Flags.string({description: 'The least important events written to --log-file.', options: [...LOG_LEVELS], default: 'info', helpGroup: 'GLOBAL'}),
    output: Flags.string({
      char: 'o',
      description:
        'How to print the result. human: tables fitted to the terminal (COLUMNS, else the terminal width, else 80 columns in a pipe), the least important columns hidden and named in a footer. wide: the same with every column, whatever the width (inspect: every row and every hex byte). json: the same as --json. tsv: a header line, then one line per row, tab-separated, every column, exact values, no colour (a tab, newline, carriage return or backslash inside a value is written \\t, \\n, \\r, \\\\); a command that prints no table prints "field<TAB>value" lines of its JSON document.',
      options: [...OUTPUT_MODES],
      helpGroup: 'GLOBAL',
    }),
  }

  private closeLog?: () => void

  /** True for --json or --output json; set when the flags are parsed. */
  protected json = false
  /** The --output mode, set when the flags are parsed. */
  protected output: OutputMode = 'human'
  /** --progress, on the commands that have it. */
  private progressAsked = false
  private interrupts: Interrupts | undefined
  /** Where each flag's value came from, set when the flags are parsed. */
  private sources: Record<string, FlagSource> = {}

  /** Whether a flag was typed, came from the config file or the environment, was defaulted, or is absent. */
  protected flagSource(name: string): FlagSource {
    return this.sources[name] ?? 'absent'
  }

  /**
   * Makes SIGINT and SIGTERM stop this run (see ui/interrupt.ts) instead of
   * killing it mid-write: pass the returned signal to the operation ('clean-up')
   * and to the progress spinner.
   */
  protected stopOnInterrupt(mode: InterruptMode): AbortSignal {
    if (this.interruptMode !== mode) {
      this.interrupts?.dispose()
      this.interrupts = listenForInterrupts(mode)
      this.interruptMode = mode
    }
    return this.interrupts!.signal
  }

  private interruptMode: InterruptMode | undefined

  /** Until a command says how it stops, a signal removes the temp files of writes in flight and ends the run ('abandon'). */
  override async init(): Promise<void> {
    await super.init()
    // oclif calls run() right after init() and prints nothing of what it returns: the report is printed here,
    // inside the run, so a failure to print is reported as one and the log closes after it.
    const run = this.run.bind(this)
    this.run = async () => {
      const report = await run()
      if (report !== undefined && this.human !== undefined) {
        await this.emit(report, () => this.human!(report), () => this.mainTable?.(report))
        // The report is out; the exit code tells a script or monitoring what it says.
        const code = this.exitCodeOf?.(report) ?? 0
        if (code !== 0) process.exitCode = code
      }
      return report
    }
    this.stopOnInterrupt('abandon')
    // A guard overridden is said on stderr in every output mode: stdout carries only the contract.
    installWarningSink((message) => process.stderr.write(`redrepl: warning: ${message}\n`))
  }

  /**
   * Prints the report in the output mode: the JSON document; for tsv the
   * command's main table (every column), or field/value lines of the
   * document when it has none; else the human renderer, whose tables fit
   * the width (no limit for wide).
   */
  protected async emit(document: unknown, human: () => void, main?: TableView | (() => TableView | undefined)): Promise<void> {
    if (this.json || this.output === 'json') {
      writeJson(withSchema(this.id, document), (piece) => process.stdout.write(piece))
      process.stdout.write('\n')
    } else if (this.output === 'tsv') {
      await loadStyle(false)
      // Built only here: a JSON or human run of 100,000 segments pays for no table it does not print.
      const table = typeof main === 'function' ? main() : main
      process.stdout.write(table === undefined ? renderFieldTsv(document) : renderTsv(table))
    } else {
      await loadStyle()
      setTableWidth(this.output === 'wide' ? Number.POSITIVE_INFINITY : tableWidth(process.env, process.stdout))
      human()
    }
  }

  /** Progress on stderr for a long stream: a spinner on a terminal, plain lines with --progress elsewhere, never for JSON or TSV. */
  protected async showProgress(label: string, interrupted?: AbortSignal): Promise<Progress> {
    return startProgress(label, progressMode(this.output, this.progressAsked, process.stderr, process.env), interrupted)
  }

  /** Parses as oclif does, then opens --log-file so the whole run is logged. */
  protected override async parse<F extends Outputs, B extends Outputs, A extends Outputs>(options?: Interfaces.Input<F, B, A>, argv?: string[]): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    const input = (options ?? this.constructor) as {flags?: Record<string, {env?: string; default?: unknown}>; baseFlags?: Record<string, {env?: string; default?: unknown}>}
    this.sources = flagSources(this, parsed as unknown as ParsedTokens, {...input.baseFlags, ...input.flags}, process.env)
    const flags = parsed.flags as {'log-file'?: string; 'log-level'?: LogLevel; json?: boolean; output?: string; progress?: boolean}
    const hasDocument = 'json' in ((this.constructor as {flags?: Record<string, unknown>}).flags ?? {})
    this.output = resolveOutputMode(flags, hasDocument)
    // --output json is --json, for the commands that read flags.json.
    if (this.output === 'json') flags.json = true
    this.json = this.output === 'json'
    this.progressAsked = flags.progress === true
    if (flags['log-file'] !== undefined && this.closeLog === undefined) {
      this.closeLog = openLogFile(flags['log-file'], flags['log-level'] ?? 'info', this.id?.replaceAll(':', '-') ?? 'redrepl')
      log.info('start', {argv: this.argv.join(' ')})
    }
    return parsed
  }


  protected say(line = ''): void {
    process.stdout.write(`${line}\n`)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    if (error.code === 'EEXIT') throw error
    const code = exitCodeFor(error)
    const line = describeError(error, (this.constructor as {flags?: Record<string, unknown>}).flags)
    // Writes still in flight when the operation stopped (a parallel transfer) leave no temp file either.
    const finalLine = error instanceof InterruptedError ? `${line}${removedClause(removeUnfinishedWrites())}` : line
    log.error(error instanceof RedreplError ? error.kind : 'failed', {message: finalLine, exit: code})
    process.stderr.write(`redrepl: ${finalLine}${code === EXIT_CODES.usage ? ` (see: redrepl ${this.id?.replaceAll(':', ' ')} --help)` : ''}\n`)
    if (process.env.REDREPL_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`)
    if (error instanceof InterruptedError) {
      this.endLog()
      endBySignal(error.signal)
    }
    this.exit(code)
  }

  private endLog(): void {
    this.closeLog?.()
    this.closeLog = undefined
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    const interrupted = this.interrupts?.signal.reason
    this.interrupts?.dispose()
    if (error === undefined) log.info(interrupted instanceof InterruptedError ? 'done, then interrupted' : 'done', {exit: typeof process.exitCode === 'number' ? process.exitCode : 0})
    this.endLog()
    // The signal came after the operation's last point of return: its work is done and reported, and the run still ends as interrupted.
    if (error === undefined && interrupted instanceof InterruptedError) {
      process.stderr.write(`redrepl: interrupted after the work was complete; what was reported stands\n`)
      endBySignal(interrupted.signal)
    }
    await super.finally(error)
  }
}

/**
 * An error as the one line redrepl prints for it: the message, then the hint
 * (for a mistyped flag, the command's nearest flags).
 */
export function describeError(error: Error & {oclif?: {exit?: number}}, flags?: Record<string, unknown>): string {
  const message = error instanceof RedreplError || error.oclif ? error.message : `unexpected error: ${error.message}`
  const hint = error instanceof RedreplError && error.hint ? `; ${error.hint}` : flagSuggestion(message, flags)
  return `${firstLine(message)}${hint}`
}

/** "did you mean --segment-bytes" after oclif's "Nonexistent flag: --segmnt-bytes". */
function flagSuggestion(message: string, flags: Record<string, unknown> | undefined): string {
  const typed = /Nonexistent flags?: --([\w-]+)/.exec(message)?.[1]
  if (typed === undefined || flags === undefined) return ''
  const near = suggest(typed, Object.keys(flags))
  return near.length > 0 ? `; did you mean ${near.map((name) => `--${name}`).join(' or ')}?` : ''
}

export function exitCodeFor(error: Error & {oclif?: {exit?: number}}): number {
  if (error instanceof RedreplError) return error.exitCode
  // oclif's own parse failures (unknown flag, missing argument) carry exit 2.
  if (error.oclif?.exit === 2) return EXIT_CODES.usage
  return EXIT_CODES.failure
}

/** oclif's framing lines; the usage hint we add says the same. */
const NOISE = [/^The following error occurred:?$/, /^See more help with --help$/]

function firstLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !NOISE.some((noise) => noise.test(line)))
  return lines.length <= 1 ? (lines[0] ?? 'failed') : lines.join('; ')
}
