import {createInterface} from 'node:readline/promises'

import {Flags} from './oclif.js'
import {refused} from '../core/errors.js'

/**
 * Destructive commands ask before acting when a person is at a terminal, as
 * `patronictl failover` does; scripts and cron (no terminal on stdin or
 * stderr) are never asked and behave as before. `--yes` skips the question.
 */

export const yesFlag = Flags.boolean({char: 'y', description: 'Do not ask for confirmation on a terminal.'})

export const isInteractive = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY) && !process.env.CI

/**
 * Shows `plan` (lines for a person) and asks `question`; resolves when the
 * answer is yes, refuses (exit 4, nothing changed) otherwise. Returns at once
 * when --yes was given or nobody is at a terminal.
 */
export async function confirmOnTerminal(question: string, plan: string[], yes: boolean): Promise<void> {
  if (yes || !isInteractive()) return
  for (const line of plan) process.stderr.write(`${line}\n`)
  const prompt = createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = (await prompt.question(`${question} [y/N] `)).trim().toLowerCase()
    if (answer === 'y' || answer === 'yes') return
  } finally {
    prompt.close()
  }
  throw refused('not confirmed; nothing was changed')
}
