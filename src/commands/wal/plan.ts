import {openLayout} from '../../core/ops/open-layout.js'
import {planWalRetention} from '../../core/ops/wal-retention.js'
import {RedreplCommand} from '../../ui/base-command.js'
import {requireDataPath} from '../../ui/flags.js'
import {renderSegmentTable, renderWalSummary, walPlanFlags, walPlanOptions} from '../../ui/wal-flags.js'

export default class WalPlan extends RedreplCommand {
  static override summary = 'Show which WAL segments RedDB\'s retention would remove, and why each is kept.'
  static override description = `Computes RedDB's WAL retention plan for the current timeline without changing anything: the replica floor is the lowest min(flush, apply) over active slots of the slot catalog, fork LSNs pin the segments that reach past them, the newest --min-segments segments up to the current one are always kept, and --max-bytes trims further among released segments, never the current one.

Every segment is listed with its LSN range, size and the reason it is kept (minimum window, slot floor naming the slot, fork pin, current segment) or removed (released below the window, over max bytes).

No slot catalog means no plan: RedDB prunes nothing then. After a failover RedDB 1.12 writes its slot catalog with timeline 1 into the new timeline's directory and its own retention refuses to plan; so does this command (exit 4) unless --adopt-catalog-timeline is given.`

  static override examples = [
    '<%= config.bin %> wal plan --data-path /var/lib/reddb/data.rdb',
    '<%= config.bin %> wal plan --segment-bytes 1MiB --min-segments 1 --json',
    '<%= config.bin %> wal plan --fork-lsn 4194311 --no-keep-until-replicas-ack',
  ]

  static override flags = walPlanFlags

  async run(): Promise<void> {
    const {flags} = await this.parse(WalPlan)
    this.json = flags.json
    const report = await planWalRetention(await openLayout(requireDataPath(flags['data-path'])), walPlanOptions(flags))
    await this.emit(report, () => {
      this.say(renderWalSummary(report, 'would remove'))
      if (report.segments.length > 0) this.say(renderSegmentTable(report))
    })
  }
}
