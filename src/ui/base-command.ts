import {Command} from './oclif.js'

import {writeJson} from '../core/codec/json.js'
import {EXIT_CODES, InterruptedError, RedreplError} from '../core/errors.js'
import {endBySignal, listenForInterrupts, type InterruptMode, type Interrupts} from './interrupt.js'
import {loadStyle} from './style.js'

/**
 * What every redrepl command shares: `--json` output with exact integers,
 * and failures reported as one line on stderr with a documented exit code.
 */
export abstract class RedreplCommand extends Command {
  /** Set by subclasses once flags are parsed, so errors know the output mode. */
  protected json = false
  private interrupts: Interrupts | undefined

  /**
   * Makes SIGINT and SIGTERM stop this run (see ui/interrupt.ts) instead of
   * killing it mid-write: pass the returned signal to the operation ('clean-up')
   * and to the progress spinner.
   */
  protected stopOnInterrupt(mode: InterruptMode): AbortSignal {
    this.interrupts ??= listenForInterrupts(mode)
    return this.interrupts.signal
  }

  /** Prints the JSON document when --json was given, else runs the human renderer. */
  protected async emit(document: unknown, human: () => void): Promise<void> {
    if (this.json) {
      writeJson(document, (piece) => process.stdout.write(piece))
      process.stdout.write('\n')
    } else {
      await loadStyle()
      human()
    }
  }

  protected say(line = ''): void {
    process.stdout.write(`${line}\n`)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    if (error.code === 'EEXIT') throw error
    const code = exitCodeFor(error)
    const message = error instanceof RedreplError || error.oclif ? error.message : `unexpected error: ${error.message}`
    const hint = error instanceof RedreplError && error.hint ? `; ${error.hint}` : ''
    process.stderr.write(`redrepl: ${firstLine(message)}${hint}${code === EXIT_CODES.usage ? ` (see: redrepl ${this.id?.replaceAll(':', ' ')} --help)` : ''}\n`)
    if (process.env.REDREPL_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`)
    if (error instanceof InterruptedError) endBySignal(error.signal)
    this.exit(code)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    const interrupted = this.interrupts?.signal.reason
    this.interrupts?.dispose()
    // The signal came after the operation's last point of return: its work is done and reported, and the run still ends as interrupted.
    if (error === undefined && interrupted instanceof InterruptedError) {
      process.stderr.write(`redrepl: interrupted after the work was complete; what was reported stands\n`)
      endBySignal(interrupted.signal)
    }
    await super.finally(error)
  }
}

function exitCodeFor(error: Error & {oclif?: {exit?: number}}): number {
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
