import type {ChalkInstance} from 'chalk'

/** Colour only on a terminal and never when NO_COLOR is set. */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return Boolean(stream.isTTY)
}

/**
 * chalk, loaded by loadStyle() on the first human output only: a --json run
 * (scripts, cron) never pays for it. RedreplCommand.emit loads it before
 * rendering.
 */
export let paint: ChalkInstance

export async function loadStyle(): Promise<void> {
  if (paint !== undefined) return
  const {Chalk} = await import('chalk')
  paint = new Chalk({level: colourEnabled() ? 3 : 0})
}
