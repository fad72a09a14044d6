import {openLayout} from '../../core/ops/node/open-layout.js'
import {saveWalPlan, type WalPlanDocument} from '../../core/ops/wal/plan-file.js'
import {planWalRetention} from '../../core/ops/wal/retention.js'
import {findingLine} from '../../ui/findings.js'
import {requireDataPath} from '../../ui/flags.js'
import {severalRepositories} from '../../ui/repo-set.js'
import {renderSegmentTable, renderWalSummary, segmentTable, walPlanFlags, walPlanOptions} from '../../ui/wal-flags.js'
import {outFlag, PlannedCommand, savedPlanLine} from '../../ui/planned-command.js'

export default class WalPlan extends PlannedCommand<WalPlanDocument> {
  static override summary = 'Show which WAL segments RedDB\'s retention would remove, and why each is kept.'
  static override description = `Computes RedDB's WAL retention plan for the current timeline without changing anything: the replica floor is the lowest min(flush, apply) over active slots of the slot catalog, fork LSNs pin the segments that reach past them, the newest --min-segments segments up to the current one are always kept, and --max-bytes trims further among released segments, never the current one.

Every segment is listed with its LSN range, size and the reason it is kept (minimum window, slot floor naming the slot, fork pin, current segment) or removed (released below the window, over max bytes).

The segment size is read from the segment headers (segment i starts at LSN i × S; --json: segment_bytes_source "headers"); a --segment-bytes they contradict is refused (exit 4), and so is a --current-lsn past the WAL head, which would make the segment being written look released. Headers that disagree with their file names or with each other stop the command (exit 3), as they stop RedDB's own retention. When no header can state the size (only segment 0 on disk, or none), the flag or RedDB's default of 64 MiB is used and said so (source "flag" or "default"); it must still hold every LSN of segment 0.

No slot catalog means no plan: RedDB prunes nothing then. After a failover RedDB 1.12 writes its slot catalog with timeline 1 into the new timeline's directory and its own retention refuses to plan; so does this command (exit 4) unless --adopt-catalog-timeline is given.

Findings (--json: findings[]): slot.no-catalog (note) when there is no slot catalog and no segment is held yet, and slot.catalog-timeline (note) when --adopt-catalog-timeline adopted one; wal.retention-stalled when segments below the head's are held and retention can release none of them, however far the WAL grows (no slot catalog; a catalog of another timeline; or keep-until-replicas-ack with no active slot); wal.gap for each run of missing segments; slot.prune-strands (warning) for each inactive slot, not invalidated, whose retention floor lies in WAL the plan removes (RedDB's retention holds WAL for active slots only, so after the prune that replica cannot catch up from WAL).

--out FILE saves the plan for "wal prune --plan FILE", as terraform plan -out: a JSON document (schema "redrepl-plan/1", kind "wal-prune") with the layout root and data path, the timeline, the policy, the segment size, each released segment's file name, size and header CRC, and a fingerprint (inputs_fingerprint) of everything the plan was computed from: the timeline history, the slots' floors, every segment's size and header CRC, the policy and the segment size. The file is written atomically (a link at FILE is replaced, never written through); FILE inside the layout, or an existing file that is not a plan, is refused (exit 4). --json then adds plan_path and inputs_fingerprint.

With a repository (--repo, REDREPL_REPO or "repo" in the config file; --node names this node's namespace there) a sealed segment of the current timeline is kept, reason "not archived", until the repository lists it under this node with the segment's size (as PostgreSQL keeps WAL until archive_command succeeds): the listing is the evidence, as in "repo verify --quick"; its CRC was checked on upload by "repo push" and is checked again by "repo verify". A repository that cannot be read (unreachable, credentials refused) makes the command refuse (exit 4) rather than plan without it. --keep-wal-for-backups also keeps every segment from the checkpoint of the oldest base backup on disk that is usable for catch-up, so every such backup stays usable (reason "base backup (checkpoint LSN …)"); removing old backups is "basebackup expire"'s job. Both only keep more than RedDB would, never less.

Several repositories: with no repository named (no --repo, --repo-name, REDREPL_REPO or repo setting) and [repo.NAME] sections in the config file, a sealed segment is kept until every one of them holds it, reason "not archived in NAME, …" naming those that lack it (--json: each one's counts under "repositories"); one that cannot be read refuses the plan (exit 4), naming it.`

  static override examples = [
    '<%= config.bin %> wal plan --data-path /var/lib/reddb/data.rdb',
    '<%= config.bin %> wal plan --min-segments 1 --json',
    '<%= config.bin %> wal plan --fork-lsn 4194311 --no-keep-until-replicas-ack',
    '<%= config.bin %> wal plan --min-segments 4 --out /tmp/prune.plan',
  ]

  static override flags = {
    ...walPlanFlags,
    out: outFlag('Save the plan to this file, for "wal prune --plan FILE" to apply exactly.'),
  }

  /** The data path as given, for the command that applies a saved plan. */
  private dataPath = ''

  async run(): Promise<WalPlanDocument> {
    // As typed: parse() puts the config file's settings in this.argv, and each repository is parsed again from this.
    const typed = [...this.argv]
    const {flags} = await this.parse(WalPlan)
    const repositories = await severalRepositories(flags, typed, async (argv) => (await this.parse(WalPlan, argv)).flags)
    const dataPath = requireDataPath(flags['data-path'])
    this.dataPath = dataPath
    const layout = await openLayout(dataPath)
    const out = flags.out
    const options = {...walPlanOptions(flags), repositories}
    return out === undefined ? planWalRetention(layout, options) : saveWalPlan(layout, dataPath, options, out)
  }

  protected override human(report: WalPlanDocument): void {
    this.say(renderWalSummary(report, 'would remove'))
    if (report.plan_path !== undefined) this.say(savedPlanLine(report.plan_path, report.inputs_fingerprint!, ['wal', 'prune', '--data-path', this.dataPath, '--plan', report.plan_path]))
    for (const f of report.findings) this.say(findingLine(f))
    if (report.segments.length > 0) this.say(renderSegmentTable(report))
  }

  protected override mainTable(report: WalPlanDocument) {
    return segmentTable(report)
  }
}
