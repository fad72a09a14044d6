import path from 'node:path'

import {notFound, refused, usageError} from '../../errors.js'
import {absentAsUndefined} from '../../fs/io-error.js'
import {lstat, stat} from '../../fs/metadata.js'
import {writeFileAtomic} from '../../fs/atomic.js'

/**
 * Writes a metrics file for node_exporter's textfile collector. The
 * collector reads every `*.prom` in its directory on each scrape, so the
 * file is replaced whole (temp, fsync, rename): a scrape sees the old file
 * or the new one, never half of either. The temp ends in `.tmp`, which the
 * collector ignores; one a killed run left is removed by the next run.
 */
export async function writeMetricsTextfile(target: string, text: string): Promise<void> {
  if (!target.endsWith('.prom')) {
    throw usageError(`${target}: node_exporter's textfile collector reads only *.prom files`, {hint: 'name the file like /var/lib/node_exporter/textfile/redrepl.prom'})
  }
  const dir = path.dirname(target)
  const dirInfo = await stat(dir).catch(absentAsUndefined('stat', dir))
  if (!dirInfo?.isDirectory()) throw notFound(`${dir}: no such directory`, {hint: 'create the collector\'s directory first (node_exporter --collector.textfile.directory)'})
  const existing = await lstat(target).catch(absentAsUndefined('stat', target))
  // Replacing a link or a directory would silently change what the collector reads, or fail halfway.
  if (existing && !existing.isFile()) throw refused(`${target}: exists and is not a regular file; refusing to replace it`)
  await writeFileAtomic(target, text, {label: 'metrics-textfile', clearLeftovers: 'dead-writers'})
}
