import {formatBytes} from './numbers.js'
import {isMachineMode, type OutputMode} from './output.js'

/**
 * Progress of a long byte stream, on stderr only: a spinner on an
 * interactive terminal, plain periodic lines for unattended runs that ask
 * for them (--progress: cron mail, journald), nothing otherwise.
 */

export interface Progress {
  update(done: bigint, total: bigint | null): void
  stop(): void
}

export type ProgressMode = 'spinner' | 'lines' | 'off'

const SILENT: Progress = {update() {}, stop() {}}
const MIN_INTERVAL_MS = 100
/** A plain line at least this often… */
export const LINE_INTERVAL_MS = 10_000
/** …and at every this many percent done. */
export const LINE_STEP_PERCENT = 10

/** Whether a spinner may animate on stderr: a sized terminal, not TERM=dumb, not CI (as ora itself judges). */
export function spinnerAnimates(stderr: {isTTY?: boolean; columns?: number}, env: NodeJS.ProcessEnv): boolean {
  // A terminal that reports no width (a pty nobody sized) would make the spinner clear lines forever.
  return Boolean(stderr.isTTY) && (stderr.columns ?? 0) > 0 && env.TERM !== 'dumb' && !('CI' in env)
}

/**
 * Never for a program reading JSON or TSV. --progress gives plain lines
 * wherever a spinner cannot animate; otherwise a sized terminal gets the
 * spinner (one still line where it cannot animate), anything else nothing.
 */
export function progressMode(output: OutputMode, asked: boolean, stderr: {isTTY?: boolean; columns?: number}, env: NodeJS.ProcessEnv): ProgressMode {
  if (isMachineMode(output)) return 'off'
  if (asked && !spinnerAnimates(stderr, env)) return 'lines'
  return Boolean(stderr.isTTY) && (stderr.columns ?? 0) > 0 ? 'spinner' : 'off'
}

function formatEta(seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`
}

/** `basebackup create: 512.0 MiB of 2.0 GiB (25 %) at 180.0 MiB/s, ETA 8 s` */
export function progressLine(label: string, done: bigint, total: bigint | null, elapsedMs: number): string {
  const percent = total !== null && total > 0n ? ` (${(done * 100n) / total} %)` : ''
  const of = total === null ? '' : ` of ${formatBytes(total)}`
  const rate = elapsedMs > 0 ? (Number(done) * 1000) / elapsedMs : 0
  const speed = rate > 0 ? ` at ${formatBytes(Math.round(rate))}/s` : ''
  const eta = total !== null && rate > 0 && done < total ? `, ETA ${formatEta(Math.ceil((Number(total) - Number(done)) / rate))}` : ''
  return `${label}: ${formatBytes(done)}${of}${percent}${speed}${eta}`
}

/**
 * Plain lines for a log: one each LINE_STEP_PERCENT done or LINE_INTERVAL_MS
 * since the last line, whichever comes first, with no carriage return or
 * escape code. `now` is injected so the pacing can be tested.
 */
export function progressLines(label: string, write: (line: string) => void, now: () => number): Progress {
  const started = now()
  let lastLineAt = started
  let nextPercent = LINE_STEP_PERCENT
  return {
    update(done, total) {
      const at = now()
      const percent = total !== null && total > 0n ? Number((done * 100n) / total) : null
      if (at - lastLineAt < LINE_INTERVAL_MS && (percent === null || percent < nextPercent)) return
      write(`${progressLine(label, done, total, at - started)}\n`)
      lastLineAt = at
      if (percent !== null) nextPercent = (Math.floor(percent / LINE_STEP_PERCENT) + 1) * LINE_STEP_PERCENT
    },
    stop() {},
  }
}

/**
 * Starts progress on stderr in the given mode. The spinner stops when
 * `interrupted` aborts, before any clean-up runs, so the line is cleared and
 * the cursor back at once.
 */
export async function startProgress(label: string, mode: ProgressMode, interrupted?: AbortSignal): Promise<Progress> {
  if (mode === 'off') return SILENT
  if (mode === 'lines') return progressLines(label, (line) => process.stderr.write(line), Date.now)
  const {default: ora} = await import('ora')
  // discardStdin would put the terminal in raw mode, where Ctrl-C is a byte instead of SIGINT.
  const spinner = ora({text: label, stream: process.stderr, discardStdin: false, isEnabled: spinnerAnimates(process.stderr, process.env)}).start()
  interrupted?.addEventListener('abort', () => spinner.stop(), {once: true})
  const started = Date.now()
  let last = 0
  return {
    update(done, total) {
      const now = Date.now()
      if (now - last < MIN_INTERVAL_MS) return
      last = now
      spinner.text = progressLine(label, done, total, now - started)
    },
    stop() {
      spinner.stop()
    },
  }
}
