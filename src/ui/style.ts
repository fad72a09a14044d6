import chalk, {Chalk, type ChalkInstance} from 'chalk'

/** Colour only on a terminal and never when NO_COLOR is set. */
export function colourEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  return Boolean(stream.isTTY)
}

export const paint: ChalkInstance = colourEnabled() ? chalk : new Chalk({level: 0})
