import os from 'node:os'
import path from 'node:path'

import {Flags} from './oclif.js'

import {RedreplError} from '../core/errors.js'
import type {ClusterOptions} from '../core/ops/cluster/status.js'
import type {ClusterStatusRow} from '../core/ops/cluster/status.js'
import {formatAge, formatTimestamp} from './time.js'
import type {Column} from './table.js'

/** The flags every cluster command shares: which cluster, and how long and how many nodes at once. */
export const clusterFlags = {
  cluster: Flags.string({description: 'The cluster (the `cluster` key of the config file\'s [node.NAME] sections); may be left out when the file lists one.', helpValue: 'NAME'}),
  'node-timeout': Flags.integer({description: 'Seconds each node has to answer through its transport before it counts as unreachable.', default: 10, min: 1, helpValue: 'SECONDS'}),
  concurrency: Flags.integer({description: 'How many nodes are asked at once.', default: 8, min: 1, helpValue: 'N'}),
}

export function clusterOptions(flags: {cluster?: string; 'node-timeout': number; concurrency: number; config?: string}): ClusterOptions {
  const script = process.argv[1]
  if (script === undefined) throw new RedreplError('failure', 'cannot tell how this redrepl was started, to run it for local nodes')
  return {configPath: flags.config, cluster: flags.cluster, timeoutMs: flags['node-timeout'] * 1000, concurrency: flags.concurrency, self: [process.execPath, script]}
}

export const stateDirFlag = Flags.string({
  description: 'The directory of the state file kept per cluster (when each node was last seen answering); created when missing. Default: $XDG_STATE_HOME/redrepl, else ~/.local/state/redrepl.',
  helpValue: 'DIR',
})

/** The XDG base directory rule: $XDG_STATE_HOME when it is an absolute path, else ~/.local/state. */
export function stateDirOf(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (given !== undefined && given !== '') return path.resolve(given)
  const xdg = env.XDG_STATE_HOME
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'redrepl')
  const home = env.HOME !== undefined && path.isAbsolute(env.HOME) ? env.HOME : os.homedir()
  return path.join(home, '.local', 'state', 'redrepl')
}

/** "2023-11-14T22:13:20.000Z" for a node seen by this run, the same with its age for one seen before, "never". */
function lastSeenCell(row: ClusterStatusRow, checkedAt: bigint): string {
  if (row.last_seen_unix_ms === null) return 'never'
  const when = formatTimestamp(row.last_seen_unix_ms)
  return row.reached ? when : `${when} (${formatAge(row.last_seen_unix_ms, checkedAt)})`
}

/** The node table of `cluster status`, with last seen after the lag. */
export function nodeColumns(checkedAt: bigint): Array<Column<ClusterStatusRow>> {
  const lastSeen: Column<ClusterStatusRow> = {header: 'last seen', value: (row) => lastSeenCell(row, checkedAt), raw: (row) => row.last_seen_unix_ms, key: 'last_seen_unix_ms', priority: 2}
  const at = NODE_COLUMNS.findIndex((column) => column.header === 'state')
  return [...NODE_COLUMNS.slice(0, at), lastSeen, ...NODE_COLUMNS.slice(at)]
}

export const NODE_COLUMNS: Array<Column<ClusterStatusRow>> = [
  {header: 'node', value: (row) => row.name, priority: 1},
  {header: 'role', value: (row) => (row.reached ? row.role : 'unreachable'), priority: 1},
  {header: 'timeline', value: (row) => row.timeline, key: 'timeline', priority: 1},
  {header: 'wal head', value: (row) => row.wal_head_lsn, key: 'wal_head_lsn', priority: 2},
  {header: 'flushed', value: (row) => row.relay_flushed_lsn, key: 'relay_flushed_lsn', priority: 2},
  {header: 'applied', value: (row) => row.relay_applied_lsn, key: 'relay_applied_lsn', priority: 2},
  {header: 'lag', value: (row) => row.lag_lsn, key: 'lag_lsn', priority: 1},
  {header: 'state', value: (row) => row.state, priority: 1},
  {header: 'problems', value: (row) => row.problems.join('; ') || null, priority: 3},
]
