import {execa} from 'execa'
import {after} from 'node:test'
import {cp, mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import type {Readable} from 'node:stream'
import path from 'node:path'

import {fixturePath, repoRoot} from './fixtures.js'

export interface CliResult {
  exitCode: number
  stdout: string
  stderr: string
}

/** The built CLI's entry point: run it with `process.execPath`. */
export const cliBinary = path.join(repoRoot, 'bin', 'run.js')

/**
 * Runs the built CLI as a user would (node bin/run.js …), never throwing on
 * a non-zero exit so tests can assert on codes. Colour is off and the clock
 * pinned unless the caller overrides them.
 */
export async function runCli(
  args: string[],
  options: {env?: Record<string, string | undefined>; input?: string | Uint8Array | Readable; cwd?: string; timeoutMs?: number} = {},
): Promise<CliResult> {
  const result = await execa(process.execPath, [cliBinary, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: {NO_COLOR: '1', REDREPL_NOW_MS: '1700000000000', ...options.env},
    input: options.input ?? '',
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    stripFinalNewline: false,
  })
  return {exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr)}
}

/** A fresh temp dir, removed by the returned cleanup. */
export async function tempDir(prefix = 'redrepl-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

/** Copies a fixture layout (layouts/NAME) into a temp dir; returns the dir. */
export async function copyLayout(name: string): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const temp = await tempDir(`redrepl-${name}-`)
  await cp(fixturePath('layouts', name), temp.dir, {recursive: true})
  return temp
}

/**
 * Scratch space for one test file: fresh temp dirs and copies of fixture
 * layouts, all removed once the file's tests are done.
 */
export function useScratch(): {layout(name: string): Promise<string>; dir(prefix?: string): Promise<string>} {
  const cleanups: Array<() => Promise<void>> = []
  after(() => Promise.all(cleanups.map((cleanup) => cleanup())))
  const keep = (made: {dir: string; cleanup: () => Promise<void>}) => {
    cleanups.push(made.cleanup)
    return made.dir
  }
  return {
    layout: async (name) => keep(await copyLayout(name)),
    dir: async (prefix) => keep(await tempDir(prefix)),
  }
}
