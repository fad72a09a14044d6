import {refused, usageError} from '../../errors.js'
import {RELEASES} from '../../format/embedded-rdb.js'
import type {RdbFormat} from '../../model.js'
import {releaseOfDatabaseFile} from './embedded-file.js'

/** Where the format written came from; 'repository': the replica set's facts (repo restore). */
export type RdbFormatSource = 'flag' | 'data-file' | 'repository'

export interface WriteFormat {
  format: RdbFormat
  source: RdbFormatSource
}

const ASK = {hint: 'pass --rdb-version 1 (RedDB 1.12) or --rdb-version 2 (RedDB 1.23)'}

/**
 * The embedded database format to write for a node (format.md §9): the one
 * its RedDB writes. The data file shows it — a superblock in layout 2 is
 * RedDB 1.23's, so the node runs 1.23 and gets format 2; a file with only
 * layout-1 superblocks gets format 1, which both releases open. A file can
 * prove 1.23 but never 1.12, so asking for format 1 for a 1.23 node's
 * rebootstrap is refused, while asking for format 2 over a format-1 data
 * file (a node just upgraded) is taken at its word. With no database at the
 * data path there is nothing to go by and the caller must say.
 */
export async function chooseWriteFormat(dataPath: string, requested: RdbFormat | undefined, forNode: boolean): Promise<WriteFormat> {
  const shown = await releaseOfDatabaseFile(dataPath)
  if (forNode && requested === 1 && shown === 'reddb-1.23') {
    throw refused(`${dataPath}: the node runs RedDB 1.23 (its data file has a superblock in layout 2), and RedDB 1.23.2 wrecks a format-1 database at its first checkpoint`, {
      hint: 'leave out --rdb-version to write format 2',
    })
  }
  if (requested !== undefined) return {format: requested, source: 'flag'}
  if (shown === undefined) throw usageError(dataPath === '' ? 'no data file to take the database format from; say which format to write' : `${dataPath}: no database there to take the format from; say which format to write`, ASK)
  return {format: RELEASES[shown].writes, source: 'data-file'}
}
