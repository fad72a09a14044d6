import {describeError, RedreplCommand} from './base-command.js'
import {NAGIOS_EXIT, unknownLine, type NagiosState, type UnknownDocument} from './nagios.js'
import {askedOutputMode} from './output.js'

/**
 * A command that is a Nagios/Icinga plugin: whatever stops it from
 * measuring is UNKNOWN (exit 3), printed on stdout where the monitoring
 * system reads, in the output mode the caller asked for.
 * @jsonAlso UnknownDocument
 */
export abstract class NagiosCommand<R extends {status: NagiosState}> extends RedreplCommand<R> {
  /** The report is out; the exit code is its state. */
  protected override exitCodeOf(report: R): number {
    return NAGIOS_EXIT[report.status]
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    if (error.code === 'EEXIT') throw error
    const message = describeError(error)
    // A flag that fails to parse leaves the output mode unset, but the caller still asked for one.
    if (!this.json && this.output === 'human') {
      const declared = this.constructor as unknown as {flags?: {json?: unknown}; baseFlags: {output: unknown}}
      this.output = await askedOutputMode(this.argv, {json: declared.flags?.json, output: declared.baseFlags.output})
    }
    const unknown: UnknownDocument = {status: 'UNKNOWN', message}
    await this.emit(unknown, () => this.say(unknownLine(message)))
    if (process.env.REDREPL_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`)
    this.exit(NAGIOS_EXIT.UNKNOWN)
  }
}
