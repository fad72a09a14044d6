import {nowMs} from '../core/clock.js'
import {runCheck, type CheckReport} from '../core/ops/monitoring/check.js'
import {NagiosCommand} from '../ui/nagios-command.js'
import {checkFlags, checkOptionsFromFlags} from '../ui/check-flags.js'
import {jsonFlag, requireDataPath} from '../ui/flags.js'
import {nagiosLines} from '../ui/nagios.js'
import {severalRepositories} from '../ui/repo-set.js'

export default class Check extends NagiosCommand<CheckReport> {
  static override summary = 'Check a node for monitoring (Nagios/Icinga plugin: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).'
  static override description = `Runs every check of "layout verify" and measures the node against thresholds: each slot's lag (LSNs between the WAL head and the slot's retention floor, min(flush, apply); LSNs are record numbers, not bytes), inactive slots (how long since last seen), active slots whose replica has gone silent (how long since last seen, --warning/--critical-slot-silent, default 5m/30m), invalidated slots (how many), the WAL held on the current timeline (bytes and segments), the age of the newest base backup usable for catch-up (its manifest's mtime; none at all is as bad as the worst level set), and the bytes held by leftovers of interrupted runs, what "layout clean" removes (--warning/--critical-leftover-bytes, default 64 MiB/1 GiB; each leftover finding carries its size). Each threshold is a --warning-X/--critical-X pair; a value greater than the threshold trips it, "off" turns it off. Sizes take KiB/MiB/GiB, counts 64Mi, durations 90s/30m/36h/7d/1h30m.

With a repository (--repo, REDREPL_REPO or "repo" in the config file; --node names this node's namespace) it also measures the archive lag: the sealed WAL segments of the current timeline the repository does not list with their size (--warning/--critical-archive-lag, default 256 MiB/1 GiB; perfdata archive_lag in B and archive_lag_segments), how long the oldest of them has waited since RedDB last wrote it, so that a quiet node whose push job stopped still pages (--warning/--critical-archive-age, default 1h/6h; perfdata archive_age in s), and the age of the newest base backup there, dated by the store (--warning/--critical-repo-backup-age, default 36h/7d; none at all is as bad as the worst level set). Only a complete backup counts there (its manifest reads and names only chunks listed with their size), read newest first. It also reads the outcomes the repository records: the last successful restore drill (repo drill) is dated (--warning/--critical-drill-age, default 8d/15d, for a weekly drill), a failed last drill is a WARNING naming its problem (repo.drill-failed), none ever run is a note (repo.drill-none); a last repo push that failed is a WARNING naming its reason and when (repo.push-failing). With no repository named (no --repo, --repo-name, REDREPL_REPO or repo setting) and [repo.NAME] sections in the config file, each of those repositories is measured with its own options, each finding says which (data.repository_name), --json lists them under "repositories", and a repository behind another (fewer of the node's sealed WAL segments, or an older newest complete base backup) is a WARNING naming both (repo.lagging). A repository that cannot be read, or not within --timeout (default 20s, well inside Nagios' 60 s; every S3 request also fails after 10 s without a connection or 30 s of silence), is a WARNING (repo.unreachable), not UNKNOWN: the node's own measurements still stand and are reported.

Loss is always CRITICAL, whatever else is fine: a slot, not invalidated, whose replica needs WAL that is gone (pruned, or below a gap) when no usable base backup can catch it up either (slot.lost; a warning when one can), and no usable base backup at all (basebackup.none; a backup counts as usable only when the unbroken WAL ending at the head reaches back to its checkpoint). It also counts the "wal prune" runs a held lock skipped (--warning/--critical-prune-skipped, default 3/12 in a row), and with --reddb 1.23 (or reddb = "1.23" in the config) a format-1 database is CRITICAL. docs/monitoring.md lists every finding that can page, its defaults and what to do.

Output follows the Nagios plugin convention: a first line "REDREPL <STATE> - <worst finding, or a summary> | <perfdata>", perfdata items 'label'=value[UOM];warn;crit;min;max (bytes in B, ages in s), then one line per finding (CRITICAL, WARNING, then NOTE). Every finding counts, whatever its code: an error is CRITICAL, a warning WARNING, a note (RedDB 1.12's timeline-1 slot catalog after a failover, leftovers of interrupted runs) is listed and leaves the state OK. --json prints the report instead: every finding with its stable code, severity, path, message and measured values (data), the thresholds used, the measurements and the state.

Quick by default, so that a per-minute cron stays cheap on a node with 100,000 WAL segments: artifacts are decoded and their CRCs checked, but of the WAL only each segment's type and size are read (one stat), and the headers of the segments the measurements stand on: the oldest, the first above segment 0 (it states the segment size) and the newest down to the first holding a record. Base-backup chunk files are only checked to exist at their manifest size and the databases (the data file, a pending rebootstrap) are not read. --deep reads all of them in full (every WAL header and record against its CRC), as "layout verify" does. REDREPL_NOW_MS pins "now" for the ages. Reads only.

Exit status: the state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); anything that stops the check itself (no layout at the data path, a bad flag, an unreadable directory) is UNKNOWN, printed as "REDREPL UNKNOWN - <message>" on stdout (with --json, {"schema":"redrepl.check/1","status":"UNKNOWN","message":...}). This command never uses redrepl's other exit codes.`

  static override examples = [
    '<%= config.bin %> check --data-path /var/lib/reddb/data.rdb',
    '<%= config.bin %> check --warning-basebackup-age 26h --critical-basebackup-age 3d --critical-wal-bytes 20GiB',
    '<%= config.bin %> check --deep --json',
  ]

  /** The Nagios plugin states replace redrepl's exit codes here; the man page lists these. */
  static exitStatus = [
    ['0', 'OK: no finding is an error or a warning (notes may be listed)'],
    ['1', 'WARNING: a warning threshold is passed, or a finding is a warning'],
    ['2', 'CRITICAL: a critical threshold is passed, or a finding is an error'],
    ['3', 'UNKNOWN: the check could not run (bad flag, no layout at the data path, an I/O error)'],
  ]

  static override flags = {...checkFlags, json: jsonFlag}

  async run(): Promise<CheckReport> {
    // As typed: parse() replaces this.argv with the config file's settings added.
    const typed = [...this.argv]
    const {flags} = await this.parse(Check)
    const repositories = await severalRepositories(flags, typed, async (argv) => (await this.parse(Check, argv)).flags)
    return runCheck(requireDataPath(flags['data-path']), {...checkOptionsFromFlags(flags, nowMs()), repositories})
  }

  protected override human(report: CheckReport): void {
    for (const line of nagiosLines(report)) this.say(line)
  }
}
