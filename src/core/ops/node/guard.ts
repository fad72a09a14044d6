
import {refused} from '../../errors.js'
import {stat} from '../../fs/metadata.js'
import {mkdirDurable} from '../../fs/atomic.js'
import {assertNoLinkedLayoutDirs} from '../../fs/held-dir.js'
import {acquireLayoutLock} from '../../fs/lock.js'
import {assertNoLiveNode, layoutDataFiles} from '../../fs/live-node.js'
import {dataPathArtifacts, Layout} from '../../layout.js'
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
 * forced), no other redrepl writer works on the same layout meanwhile,
 * and no timeline or relay directory of the layout is a symbolic link (an
 * operator's link of the root, or of a whole wal/ or basebackup/, is kept).
 */
export async function withWriteGuard<T>(options: WriteGuardOptions, work: (layout: Layout) => Promise<T>): Promise<T> {
  await assertLiveNodeGuarded(options)
  const layout = options.createLayout ? Layout.fromDataPath(options.dataPath) : await openLayout(options.dataPath)
  await mkdirDurable(layout.root)
  const lock = await acquireLayoutLock(layout.lockPath, {command: options.command, wait: options.waitMs, signal: options.signal})
  try {
    // Under the lock and right before the work: no writer creates or
    // replaces a file through a timeline or relay directory someone linked.
    await assertNoLinkedLayoutDirs(layout.root)
    return await work(layout)
  } finally {
    await lock.release()
  }
}

/**
 * The live-node rule applied to the layout, not to one spelling of its data
 * path: a data path that names no file while the layout has a data file under
 * another name is refused (it is a typo the flock check would wave through),
 * and every data file of the layout is checked for a RedDB flock.
 */
async function assertLiveNodeGuarded(options: WriteGuardOptions): Promise<void> {
  const files = await layoutDataFiles(options.dataPath)
  const given = await stat(options.dataPath).then(
    (info) => info.isFile(),
    () => false,
  )
  if (!given && files.length > 0) {
    throw refused(`${options.dataPath}: no such data file, but its layout ${dataPathArtifacts(options.dataPath).root} belongs to ${files.join(', ')}`, {
      code: 'guard.data-path-mismatch',
      hint: `pass the data path the node runs with: --data-path ${files[0]}`,
    })
  }
  if (options.safeNextToLiveNode) return
  for (const file of given ? files : [options.dataPath]) await assertNoLiveNode(file, {force: options.force ?? false})
}
