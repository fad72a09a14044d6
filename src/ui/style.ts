import type {ChalkInstance} from 'chalk'

/**
 * Whether output to `stream` is coloured, by the conventions chalk and Node
 * share: FORCE_COLOR=0 (or false) turns colour off and any other value forces
 * it on, even into a pipe, taking precedence over NO_COLOR as in Node;
 * otherwise colour needs a terminal that is not TERM=dumb and no NO_COLOR.
 */
export function colourEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined) return force !== '0' && force !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

/**
 * chalk, loaded by loadStyle() on the first human output only: a --json run
 * (scripts, cron) never pays for it. RedreplCommand.emit loads it before
 * rendering, without colour for --output tsv.
 */
export let paint: ChalkInstance

export async function loadStyle(colour = colourEnabled()): Promise<void> {
  if (paint !== undefined) return
  if (!colour) {
    paint = plain
    return
  }
  const {Chalk} = await import('chalk')
  paint = new Chalk({level: 3})
}

/**
 * What chalk at level 0 does, without loading chalk (output into a pipe,
 * a file, NO_COLOR: cron and scripts): every style, however chained, gives
 * back its text untouched, several arguments joined by a space.
 */
const unstyled = (text: unknown[]) => (text.length === 1 ? `${text[0]}` : text.join(' '))
const plain: ChalkInstance = new Proxy(function style() {}, {
  get: (_target, name) => (name === 'level' ? 0 : plain),
  apply: (_target, _this, text: unknown[]) => unstyled(text),
}) as unknown as ChalkInstance
