
import {absentAsUndefined} from '../../fs/io-error.js'
import {stat} from '../../fs/metadata.js'
import {notFound} from '../../errors.js'
import {Layout} from '../../layout.js'

/**
 * The layout of an existing node. A data path whose layout root does not
 * exist is almost always a typo, so it is refused (exit 6) rather than read
 * as an empty node on timeline 1.
 */
export async function openLayout(dataPath: string): Promise<Layout> {
  const layout = Layout.fromDataPath(dataPath)
  // Only an absent root is a typo; a root that cannot be looked at (a loop of links, a permission) is said as it is.
  const info = await stat(layout.root).catch(absentAsUndefined('stat', layout.root))
  if (!info?.isDirectory()) throw notFound(`no RedDB layout at ${layout.root} (derived from the data path ${dataPath}); check --data-path`)
  return layout
}
