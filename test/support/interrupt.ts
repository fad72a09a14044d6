/**
 * Interrupting the built CLI: start it as a user would, wait until it is in
 * the middle of its work (a file, a line, a descriptor it holds), send
 * signals, and collect how and when it ended. Every wait is bounded, and a
 * child left running by a failed wait is killed.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'

import {cliBinary} from './cli.js'

export interface Stopped {
  signal: NodeJS.Signals | null
  exitCode: number | null
  stderr: string
  /** From the (first) signal to the process's end. */
  ms: number
  pid: number
}

export interface InterruptOptions {
  /** Holds once the run is at the point to interrupt; asked again every `pollMs` until then. */
  when: (pid: number) => boolean | Promise<boolean>
  /** Sent in order, 5 ms apart. */
  signals: NodeJS.Signals[]
  /** Added to the environment (colour off and the clock pinned, as runCli has them). */
  env?: Record<string, string>
  /** Written to stdin and the pipe left open, so the run waits for more; without it stdin is closed. */
  input?: Uint8Array
  /** How long `when` may take to hold before the test fails (the child is then killed). */
  timeoutMs?: number
  pollMs?: number
  /** A run that ends before `when` holds: a failure (the default), or taken as it ended (a kill at a random moment may come too late). */
  finishedFirst?: 'fail' | 'allow'
  /** What `when` waits for, for the failure message. */
  point?: string
}

/** Runs the CLI with `args`, sends `signals` once `when` holds, and waits for its end. */
export async function interruptCli(args: string[], options: InterruptOptions): Promise<Stopped> {
  const what = args.slice(0, 2).join(' ')
  const child = spawn(process.execPath, [cliBinary, ...args], {stdio: ['pipe', 'ignore', 'pipe'], env: {...process.env, NO_COLOR: '1', REDREPL_NOW_MS: '1700000000000', ...options.env}})
  let stderr = ''
  child.stderr.on('data', (piece) => (stderr += piece))
  // The run stops reading at the signal: the rest of the input no longer has a reader.
  child.stdin.on('error', () => {})
  if (options.input) child.stdin.write(options.input)
  else child.stdin.end()
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.once('exit', (code, signal) => resolve({code, signal})))
  let ended = false
  void exited.then(() => (ended = true))
  const giveUp = performance.now() + (options.timeoutMs ?? 60_000)
  while (!(await options.when(child.pid!))) {
    if (ended) {
      if (options.finishedFirst === 'allow') break
      assert.fail(`${what} finished before it could be interrupted: ${stderr}`)
    }
    if (performance.now() > giveUp) {
      child.kill('SIGKILL')
      await exited
      assert.fail(`${what} never got to ${options.point ?? 'the point to interrupt'}: ${stderr}`)
    }
    await sleep(options.pollMs ?? 2)
  }
  const sent = performance.now()
  for (const signal of options.signals) {
    child.kill(signal)
    await sleep(5)
  }
  const {code, signal} = await exited
  child.stdin.destroy()
  return {signal, exitCode: code, stderr, ms: performance.now() - sent, pid: child.pid!}
}

/** Ended by `signal` within `promptMs` of it, its stderr matching `line`; logs how long it took. */
export function assertStopped(stopped: Stopped, signal: NodeJS.Signals, line: RegExp, what: string, promptMs = 3000): void {
  assert.equal(stopped.signal, signal, `${what}: ended with exit ${stopped.exitCode}, signal ${stopped.signal}: ${stopped.stderr}`)
  assert.ok(stopped.ms < promptMs, `${what}: took ${Math.round(stopped.ms)} ms to stop`)
  assert.match(stopped.stderr, line, what)
  console.log(`${what}: stopped ${Math.round(stopped.ms)} ms after the signal`)
}
