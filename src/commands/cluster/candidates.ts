import {Flags} from '../../ui/oclif.js'

import {readClusterCandidates, type ClusterCandidatesReport} from '../../core/ops/cluster/status.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {candidateLines} from '../../ui/candidates.js'
import {impactTable} from '../../ui/failover.js'
import {clusterFlags, clusterOptions} from '../../ui/cluster-flags.js'
import {jsonFlag} from '../../ui/flags.js'

export default class ClusterCandidates extends RedreplCommand<ClusterCandidatesReport> {
  static override summary = 'Show which replica of a replica set a failover should promote, from the replicas\' own relay logs.'
  static override description = `Reads every node of the cluster through its transport, as cluster status does, and ranks the replicas by the positions their own relay logs record (flushed = the last batch's highest LSN, applied = what they applied), so it answers with the primary's host gone. The choice is RedDB's, the same as timeline promote --auto: among the acks on the newest timeline any reached node is on, the highest (applied, flushed, received), ties to the smaller replica id; acks of another timeline are not eligible unless --adopt-catalog-timeline counts them (RedDB 1.12 stamps relay manifests with timeline 1 after a failover). Where a primary is reached, each replica's relay log is cross-checked against the primary's slot for it (cross_check says whether they agree, and whether the slot is invalidated). Unreachable nodes are listed with why.

For each candidate it also shows what a failover to it costs (lost_lsn: the highest applied LSN any replica acknowledged, from the relay logs and a reached primary's valid slots, minus the candidate's) and what every other node must then do (failover_steps: follow / rewind / reclone by RedDB's rejoin rule against the history the promotion writes, with the first LSN the node then needs from the new primary, the backup a reclone is rebuilt from, and why; manual for a node that was not reached). Reads only.

Then: failover plan --cluster C --out FILE, and failover apply --plan FILE.`

  static override examples = ['<%= config.bin %> cluster candidates', '<%= config.bin %> cluster candidates --cluster main --json | jq -r \'.candidates[] | select(.chosen) | .node\'']

  static override flags = {
    ...clusterFlags,
    json: jsonFlag,
    'adopt-catalog-timeline': Flags.boolean({description: 'Count acks stamped with another timeline as the newest timeline\'s (after a failover RedDB 1.12 stamps relay manifests with timeline 1).'}),
  }

  async run(): Promise<ClusterCandidatesReport> {
    const {flags} = await this.parse(ClusterCandidates)
    return readClusterCandidates({...clusterOptions(flags), adoptCatalogTimeline: flags['adopt-catalog-timeline']})
  }

  protected override human(report: ClusterCandidatesReport): void {
    this.say(`cluster ${report.cluster}, newest timeline ${report.timeline ?? 'unknown'}; ${report.primary_reached ? 'cross-checked against the primary\'s slots' : 'no primary reached: the replicas\' own relay logs only'}`)
    for (const line of candidateLines(report, report.timeline ?? 0n)) this.say(line)
    if (report.candidates.length > 0) this.say(impactTable(report.candidates))
    for (const row of report.candidates) if (row.cross_check !== null) this.say(`${row.replica_id} (node ${row.node}): ${row.cross_check}`)
    for (const node of report.unreachable) this.say(`unreachable: ${node.name}: ${node.reason}`)
  }
}
