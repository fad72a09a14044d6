import {InterruptedError, STOP_SIGNALS, type StopSignal} from '../core/errors.js'
import {log} from '../core/log.js'
import {removeUnfinishedWrites} from '../core/ops/layout/unfinished-writes.js'

/**
 * SIGINT (Ctrl-C) and SIGTERM during a command. Installing a listener
 * replaces Node's default of dying on the spot, so a command listens only
 * when it asks to, in one of two modes:
 *
 * - 'clean-up' (writers): the first signal aborts `signal`; the operation
 *   stops at its next piece, removes its own staging and temp files and
 *   ends the run with an InterruptedError. A second signal ends the process
 *   at once: every multi-file write is ordered to survive a crash at any
 *   instant, so stopping mid-clean-up only leaves leftovers RedDB ignores.
 * - 'exit' (readers): the first signal ends the process at once; there is
 *   nothing to undo.
 * - 'abandon' (every other command, by default): the first signal removes
 *   the temp files of the writes in flight, says which, and ends the
 *   process at once. What was already renamed into place is whole, and
 *   every multi-file write is ordered to survive a crash at any instant,
 *   so this is a crash at that instant without its leftovers.
 *
 * However the run ends on a signal, the temp files of writes still in
 * flight (a transfer of a parallel job, say) are removed first.
 * Either way listeners of `signal` run first (the spinner stops, so the
 * cursor is back) and the process ends by the signal itself, as the shell
 * expects of an interrupted program (status 128 + signo, and `for` loops
 * in scripts stop too).
 */

export type InterruptMode = 'clean-up' | 'exit' | 'abandon'

export interface Interrupts {
  /** Aborted at the first SIGINT or SIGTERM, with an InterruptedError as its reason. */
  readonly signal: AbortSignal
  /** Stops listening: the signals kill the process again. */
  dispose(): void
}

export function listenForInterrupts(mode: InterruptMode): Interrupts {
  const controller = new AbortController()
  const listeners = Object.keys(STOP_SIGNALS).map((name) => {
    const signal = name as StopSignal
    const listener = () => {
      if (controller.signal.aborted) {
        const removed = removeUnfinishedWrites()
        process.stderr.write(`redrepl: interrupted again; stopping before the clean-up has finished${removedClause(removed)} (an unfinished staging directory or temp file may be left: RedDB ignores it)\n`)
        endBySignal(signal)
      }
      const reason = new InterruptedError(signal)
      controller.abort(reason)
      if (mode === 'exit') {
        process.stderr.write(`redrepl: ${reason.message}\n`)
        endBySignal(signal)
      }
      if (mode === 'abandon') {
        const removed = removeUnfinishedWrites()
        const line = `interrupted; ${removed.length > 0 ? `${removedClause(removed).slice(2)}; files already replaced stay whole` : 'no write was in flight'}`
        log.error('interrupted', {message: line, exit: 128 + STOP_SIGNALS[signal]})
        process.stderr.write(`redrepl: ${line}\n`)
        endBySignal(signal)
      }
    }
    process.on(signal, listener)
    return {signal, listener}
  })
  return {
    signal: controller.signal,
    dispose() {
      for (const {signal, listener} of listeners) process.off(signal, listener)
    },
  }
}

/**
 * Ends the process by `signal` with its default action. Every listener goes
 * first, or the signal would only be delivered to them (ora's cursor
 * restorer listens too; the spinner has already shown the cursor). Where
 * the default action does not kill (PID 1 in a container), exits with
 * 128 + signo instead.
 */
export function endBySignal(signal: StopSignal): never {
  process.removeAllListeners(signal)
  process.kill(process.pid, signal)
  process.exit(128 + STOP_SIGNALS[signal])
}

/** `; removed the unfinished temp file(s) …` when there were any, for the line an interrupted run ends with. */
export function removedClause(removed: string[]): string {
  return removed.length === 0 ? '' : `; removed the unfinished temp file${removed.length > 1 ? 's' : ''} ${removed.join(', ')}`
}
