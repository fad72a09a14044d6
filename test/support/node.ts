import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {parseJson, type JsonObject} from '../../src/core/codec/json.js'
import type {CliResult} from './cli.js'
import {assertContract} from './contract.js'

/** The --json document a command printed, integers exact, checked against the schema its `schema` field names. */
export function jsonOf(result: CliResult): JsonObject {
  const document = modelOf(result)
  assertContract(document)
  return document
}

/**
 * The --json document of a run that may exit non-zero with a report (layout
 * verify finding problems, check's states), checked against its schema.
 */
export function documentOf(stdout: string): JsonObject {
  const document = parseJson(stdout) as JsonObject
  assertContract(document)
  return document
}

/** What `inspect --json` printed: the artifact's canonical model, which is RedDB's format and carries no schema tag. */
export function modelOf(result: CliResult): JsonObject {
  if (result.exitCode !== 0) throw new Error(`command failed (${result.exitCode}): ${result.stderr}`)
  return parseJson(result.stdout) as JsonObject
}

/** Holds an exclusive flock on `file` in a child process, as a running RedDB node does. */
export async function holdFlock(file: string): Promise<ChildProcess> {
  const child = spawn('flock', ['-x', file, 'sleep', '60'], {stdio: 'ignore'})
  for (let i = 0; i < 250; i++) {
    await sleep(20)
    const held = readFileSync('/proc/locks', 'utf8')
      .split('\n')
      .some((line) => line.includes('FLOCK') && line.split(/\s+/).includes(String(child.pid)))
    if (held) break
  }
  return child
}

/** Kills a helper child and waits for it to be gone. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await gone
}
