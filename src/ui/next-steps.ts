import type {NextStep} from '../core/plan/next-steps.js'
import {shellCommand} from './shell-quote.js'

/** Numbered steps; a command on its own line, quoted for a POSIX shell so it can be pasted. */
export function renderNextSteps(steps: NextStep[]): string[] {
  if (steps.length === 0) return []
  return ['next:', ...steps.flatMap((step, i) => [`  ${i + 1}. ${step.description}`, ...(step.argv === null ? [] : [`     $ ${shellCommand(step.argv)}`])])]
}
