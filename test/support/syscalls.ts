/**
 * Tests that watch the system calls a command makes (strace), and the rule
 * for tools such a test needs: where one is missing the test skips, except
 * in CI (CI=true), whose runner installs them (.ci/run), so a missing tool
 * there fails instead of hiding the test.
 */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import type {TestContext} from 'node:test'

import {repoRoot} from './fixtures.js'

export const inCi = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === 'true' || env.CI === '1'

/**
 * True when the test must stop here: `missing` names what it lacks (or is
 * null when all is there). Outside CI the test is skipped with that reason;
 * in CI it fails with it.
 */
export function lacks(t: TestContext, missing: string | null, env: NodeJS.ProcessEnv = process.env): boolean {
  if (missing === null) return false
  if (inCi(env)) assert.fail(`${missing}, but CI must run this test`)
  t.skip(missing)
  return true
}

let straceChecked: boolean | undefined

/** Null when strace runs here, else why not. */
export function straceMissing(): string | null {
  straceChecked ??= spawnSync('strace', ['-V']).status === 0
  return straceChecked ? null : 'strace is not installed'
}

export interface TracedRun {
  status: number | null
  stdout: string
  stderr: string
  /** The trace, one line per call (strace -o), read and removed after the run. */
  lines: string[]
}

/**
 * Runs the built CLI under `strace -f -qq`, tracing `calls`, writing the
 * trace to `traceFile`. `paths` adds -y (each descriptor shown with its
 * path); `env` is laid over this process's environment.
 */
export function traceCli(args: string[], options: {calls: string[]; traceFile: string; paths?: boolean; env?: Record<string, string>; input?: string}): TracedRun {
  const flags = ['-f', ...(options.paths ? ['-y'] : []), '-qq', '-e', `trace=${options.calls.join(',')}`, '-o', options.traceFile]
  const run = spawnSync('strace', [...flags, process.execPath, path.join(repoRoot, 'bin', 'run.js'), ...args], {
    encoding: 'utf8',
    input: options.input,
    env: {...process.env, ...options.env},
  })
  const lines = readFileSync(options.traceFile, 'utf8').split('\n')
  rmSync(options.traceFile)
  return {status: run.status, stdout: run.stdout, stderr: run.stderr, lines}
}
