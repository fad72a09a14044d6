import {Flags} from './oclif.js'

import {RedreplError} from '../core/errors.js'
import type {ClusterOptions} from '../core/ops/cluster-status.js'
import type {ClusterNodeRow} from '../core/plan/cluster.js'
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

export const NODE_COLUMNS: Array<Column<ClusterNodeRow>> = [
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
