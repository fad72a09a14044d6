import {formatBytes} from './numbers.js'

export interface Progress {
  update(done: bigint, total: bigint | null): void
  stop(): void
}

const SILENT: Progress = {update() {}, stop() {}}
const MIN_INTERVAL_MS = 100

/**
 * A spinner with bytes, rate and ETA on stderr — only on a terminal and
 * never with --json, so scripts and logs see nothing of it (nor pay for
 * loading the spinner). It stops when `interrupted` aborts, before any
 * clean-up runs, so the line is cleared and the cursor back at once.
 */
export async function startProgress(label: string, enabled: boolean, interrupted?: AbortSignal): Promise<Progress> {
  // A terminal that reports no width (a pty nobody sized) would make the spinner clear lines forever.
  if (!enabled || !process.stderr.isTTY || !(process.stderr.columns > 0)) return SILENT
  const {default: ora} = await import('ora')
  // discardStdin would put the terminal in raw mode, where Ctrl-C is a byte instead of SIGINT.
  const spinner = ora({text: label, stream: process.stderr, discardStdin: false}).start()
  interrupted?.addEventListener('abort', () => spinner.stop(), {once: true})
  const started = Date.now()
  let last = 0
  return {
    update(done, total) {
      const now = Date.now()
      if (now - last < MIN_INTERVAL_MS) return
      last = now
      const seconds = (now - started) / 1000
      const rate = seconds > 0 ? Number(done) / seconds : 0
      const eta = total !== null && rate > 0 ? ` ETA ${Math.ceil((Number(total) - Number(done)) / rate)}s` : ''
      const of = total === null ? '' : ` of ${formatBytes(total)}`
      spinner.text = `${label}: ${formatBytes(done)}${of} at ${formatBytes(Math.round(rate))}/s${eta}`
    },
    stop() {
      spinner.stop()
    },
  }
}
