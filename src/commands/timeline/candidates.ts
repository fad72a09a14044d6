import {Flags} from '../../ui/oclif.js'

import {nowMs} from '../../core/clock.js'
import {listCandidates, type CandidatesReport} from '../../core/ops/timeline/candidates.js'
import {openLayout} from '../../core/ops/node/open-layout.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {candidateLines, candidateTable} from '../../ui/candidates.js'
import {dataPathFlag, jsonFlag, requireDataPath} from '../../ui/flags.js'

export default class TimelineCandidates extends RedreplCommand<CandidatesReport> {
  static override summary = 'Show the replicas a failover could promote, and which one --auto would choose.'
  static override description = `One row per replica the current timeline knows of (its slot, its relay manifest, the legacy slot store), with the positions it acknowledged (applied, flushed, received), its lag behind the WAL head, where the positions come from, whether timeline promote --auto may pick it (an invalidated slot or acks of another timeline may not) and which one it would pick and why — RedDB's own choice: the highest (applied, flushed, received), ties to the smaller id. Reads only; safe at any time, like patronictl list before a failover.

--adopt-catalog-timeline counts acks RedDB 1.12 stamped with timeline 1 under a later timeline's directory as the current timeline's, as timeline promote does with the same flag.`

  static override examples = ['<%= config.bin %> timeline candidates --data-path /var/lib/reddb/data.rdb', '<%= config.bin %> timeline candidates --json | jq -r \'.candidates[] | select(.chosen) | .replica_id\'']

  static override flags = {
    'data-path': dataPathFlag,
    json: jsonFlag,
    'adopt-catalog-timeline': Flags.boolean({description: 'Count acks stamped with another timeline under the current timeline\'s directory as its own (after a failover RedDB 1.12 stamps them with timeline 1).'}),
  }

  async run(): Promise<CandidatesReport> {
    const {flags} = await this.parse(TimelineCandidates)
    const dataPath = requireDataPath(flags['data-path'])
    return listCandidates(await openLayout(dataPath), {dataPath, adoptCatalogTimeline: flags['adopt-catalog-timeline'], nowMs: nowMs()})
  }

  protected override human(report: CandidatesReport): void {
    this.say(`timeline ${report.timeline}, WAL head ${report.wal_head_lsn ?? 'none'}`)
    for (const line of candidateLines(report, report.timeline)) this.say(line)
  }

  protected override mainTable(report: CandidatesReport) {
    return candidateTable(report)
  }
}
