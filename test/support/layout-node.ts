/**
 * Scratch copies of the fixture layouts, with their paths named through
 * src/core/layout.ts rather than spelled out in each test.
 */
import path from 'node:path'

import {Layout, pad20} from '../../src/core/layout.js'

/** A timeline directory's name as RedDB spells it: `timeline-` and 20 digits. */
export const timelineName = (timeline: bigint | number): string => `timeline-${pad20(timeline)}`

/** Timeline 1's directory, relative to the directory of a layout's data file. */
export const T1 = path.join('data.primary-replica', timelineName(1n))

/** The layout of the node whose data file is `dir/data.rdb`, as the fixture layouts and the node builders place it. */
export const layoutIn = (dir: string): Layout => Layout.fromDataPath(path.join(dir, 'data.rdb'))

export interface PrimaryCopy {
  /** The directory the layout was copied into. */
  dir: string
  /** Its data file, `data.rdb`. */
  data: string
  /** The layout root beside it, `data.primary-replica`. */
  root: string
  /** The layout lock writers take. */
  lock: string
  layout: Layout
  /** Timeline 1's basebackup/ directory. */
  backups: string
}

/** A fresh scratch copy of a fixture layout (`primary-basic` unless named). */
export async function primaryCopy(scratch: {layout(name: string): Promise<string>}, fixture = 'primary-basic'): Promise<PrimaryCopy> {
  const dir = await scratch.layout(fixture)
  const data = path.join(dir, 'data.rdb')
  const layout = Layout.fromDataPath(data)
  return {dir, data, root: layout.root, lock: layout.lockPath, layout, backups: layout.basebackupDir(1n)}
}
