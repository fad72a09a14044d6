import {mkdir} from 'node:fs/promises'

import {writeFailure} from '../fs/atomic.js'
import {acquireLayoutLock} from '../fs/lock.js'
import {assertNoLiveNode} from '../fs/live-node.js'
import {Layout} from '../layout.js'
import {openLayout} from './open-layout.js'

export interface WriteGuardOptions {
  /** The node's data path D, whose flock tells whether RedDB is running. */
  dataPath: string
  /** The command name, recorded in the lock so a blocked run can say who holds it. */
  command: string
  /** Documented as safe next to a live node (wal prune, relay append, basebackup create). */
  safeNextToLiveNode?: boolean
  /** --force: act even though a RedDB process holds D. */
  force?: boolean
  /** How long to wait for another redrepl run's lock, in ms (default: fail at once). */
  waitMs?: number
  /** Create the layout root when it does not exist yet (a new replica's relay log); otherwise refuse (exit 6). */
  createLayout?: boolean
  /** Ends a wait for the lock early (an interrupted run). */
  signal?: AbortSignal
}

/**
 * Runs a writing operation under the two safety rules every writer obeys:
 * no RedDB process holds D (unless the command is safe next to one, or
 * forced), and no other redrepl writer works on the same layout meanwhile.
 */
export async function withWriteGuard<T>(options: WriteGuardOptions, work: (layout: Layout) => Promise<T>): Promise<T> {
  if (!options.safeNextToLiveNode) await assertNoLiveNode(options.dataPath, {force: options.force ?? false})
  const layout = options.createLayout ? Layout.fromDataPath(options.dataPath) : await openLayout(options.dataPath)
  await mkdir(layout.root, {recursive: true}).catch((error) => {
    throw writeFailure(layout.root, error)
  })
  const lock = await acquireLayoutLock(layout.lockPath, {command: options.command, wait: options.waitMs, signal: options.signal})
  try {
    return await work(layout)
  } finally {
    await lock.release()
  }
}
