import {nowMs} from '../../core/clock.js'
import {readClusterNode, type ClusterNodeDocument} from '../../core/ops/cluster/node.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'
import {renderDocument} from '../../ui/document.js'

export default class ClusterNode extends RedreplCommand<ClusterNodeDocument> {
  static override summary = 'Show this node\'s replication state as the cluster commands read it.'
  static override description = `What cluster status and cluster candidates run on each node through its transport (redrepl cluster node --data-path P --json): the node's role (primary: a slot catalog on its current timeline; replica: a relay log and no slot catalog), its current timeline and history, its WAL head, the acks its layout holds (its own relay manifests, the slot catalog, the legacy slot store), the replica ids of the relay logs it holds on any timeline of its history (relay_replica_ids: who it has been as a replica, which names a replica just promoted), the findings of a quick layout verify, and reddb_pids: the pids of RedDB processes holding a flock on the node's data file (empty when RedDB is not running; null when the kernel's lock table cannot be read), which failover apply checks on the old primary. Reads only; safe next to a running node.`

  static override examples = ['<%= config.bin %> cluster node --data-path /var/lib/reddb/data.rdb --json']

  static override flags = {'data-path': dataPathFlag, json: jsonFlag}

  async run(): Promise<ClusterNodeDocument> {
    const {flags} = await this.parse(ClusterNode)
    const dataPath = requireDataPath(flags['data-path'])
    return readClusterNode(await openLayout(dataPath), {dataPath, nowMs: nowMs()})
  }

  protected override human(report: ClusterNodeDocument): void {
    this.say(renderDocument(report as unknown as Record<string, unknown>))
  }
}
