/**
 * Every condition redrepl reports without stopping (in `layout verify`, in
 * the command concerned, later in monitoring) has a stable code here, with a
 * default severity and a one-line summary. Scripts key on the code; the
 * message beside it is for people and may change.
 */

export type Severity = 'error' | 'warning' | 'note'

export interface FindingSpec {
  severity: Severity
  summary: string
  /** Set where the finding means loss: a replica or a backup that can no longer be caught up. `check` names these first. */
  loss?: true
}

export const FINDINGS = {
  'artifact.corrupt': {severity: 'error', summary: 'an artifact does not decode or breaks a rule of its format'},
  'artifact.not-regular': {severity: 'error', summary: 'a path where an artifact belongs holds a directory, FIFO, device or socket instead of a regular file'},
  'artifact.too-large': {severity: 'error', summary: 'a file is larger than any valid artifact of its kind can be, so it is not read'},
  'artifact.unreadable': {severity: 'error', summary: 'a file or directory of the layout cannot be read (permissions, I/O error)'},
  'artifact.timeline-mismatch': {severity: 'warning', summary: 'an artifact names another timeline than the directory it lies in'},
  'layout.unknown-timeline': {severity: 'error', summary: 'a timeline directory that the timeline history does not list'},
  'layout.linked-dir': {severity: 'note', summary: 'the layout root, a wal/ or a basebackup/ directory is an operator\'s symbolic link to another place, which deleters enter and do not leave'},
  'layout.symlink': {severity: 'warning', summary: 'a symbolic link where the layout holds a real directory (a timeline or relay directory): commands that remove files refuse it'},
  'leftover.temp-file': {severity: 'note', summary: 'a temporary file left by an interrupted write'},
  'leftover.staging': {severity: 'note', summary: 'a staging directory left by an interrupted base backup or rebootstrap'},
  'leftover.orphan-parts': {severity: 'note', summary: 'a chunk directory without the manifest that completes it'},
  'leftover.bytes': {severity: 'warning', summary: 'the leftovers of interrupted runs that layout clean removes hold more bytes than the threshold'},
  'basebackup.chunk': {severity: 'error', summary: 'a base backup chunk is missing or does not match its manifest', loss: true},
  'basebackup.unrestorable': {severity: 'error', summary: 'a base backup RedDB would not restore from: a snapshot no database file can hold, chunks not cut as every writer cuts them, or a snapshot that does not start with RDST', loss: true},
  'relay.replica-mismatch': {severity: 'error', summary: 'a relay manifest names another replica than its directory'},
  'relay.inconsistent': {severity: 'error', summary: 'a relay manifest disagrees with the segments it names'},
  'relay.overlap': {severity: 'warning', summary: 'relay segments overlap or run backwards'},
  'relay.catalog-timeline': {severity: 'note', summary: 'a relay log on timeline 1 under a later timeline, as RedDB 1.12 writes it after a failover'},
  'slot.catalog-timeline': {severity: 'note', summary: 'a slot catalog on timeline 1 under a later timeline, as RedDB 1.12 writes it after a failover (its retention then never prunes)'},
  'rebootstrap.pending-path': {severity: 'error', summary: 'the ready marker names another pending database than the data path derives'},
  'rebootstrap.pending-missing': {severity: 'error', summary: 'the ready marker names a pending database that does not exist'},
  'rdb.version-1-under-1-23': {severity: 'note', summary: 'a format-1 embedded database: RedDB 1.23.2 reads it but wrecks it if it checkpoints it in place'},
  'rdb.refused-by-1-23': {severity: 'warning', summary: 'an embedded database only RedDB 1.12 opens (its manifest fallback or WAL bounds): RedDB 1.23 refuses it'},
  'rdb.versions-differ': {severity: 'note', summary: 'the data file and the rebootstrap pending database are of different formats'},
  'wal.name-mismatch': {severity: 'error', summary: 'a WAL segment header disagrees with its file name or directory'},
  // Threshold findings of `check`: the severity given is the warning level; past the critical threshold it is an error.
  'slot.lag': {severity: 'warning', summary: 'a slot lags the WAL head by more LSNs than the threshold'},
  'slot.inactive': {severity: 'warning', summary: 'a slot has been inactive for longer than the threshold'},
  'slot.silent': {severity: 'warning', summary: 'an active slot\'s replica has not been seen for longer than the threshold (hung, or its connection lost while the slot still counts as active)'},
  'slot.invalidated': {severity: 'warning', summary: 'more slots are invalidated than the threshold allows (their replicas need a new base backup)'},
  'wal.retained-bytes': {severity: 'warning', summary: 'the WAL on the current timeline holds more bytes than the threshold'},
  'wal.segments': {severity: 'warning', summary: 'the WAL on the current timeline holds more segments than the threshold'},
  'basebackup.age': {severity: 'warning', summary: 'the newest base backup usable for catch-up is older than the threshold'},
  'basebackup.none': {severity: 'warning', summary: 'no base backup on the current timeline is usable for catch-up', loss: true},
  'wal.segment-size': {severity: 'error', summary: 'WAL segment headers do not agree on one segment size (a segment starts at index × size and holds no LSN past its end)'},
  // A note: RedDB's own files can skip LSNs (its golden layouts do), and the files cannot tell skipped from lost;
  // catch-up and rejoin plans never offer WAL across a gap, and slot.behind-wal flags a slot that needs what is gone.
  'wal.gap': {severity: 'note', summary: 'WAL segments are missing between the oldest and the newest: the LSNs they cover cannot be served from WAL'},
  'wal.prune-skipped': {severity: 'warning', summary: 'more wal prune runs in a row than the threshold found the layout lock held (a long base backup) and removed nothing'},
  'wal.retention-stalled': {severity: 'warning', summary: 'RedDB\'s retention can release no WAL segment of the current timeline until something outside the WAL changes'},
  'slot.behind-wal': {severity: 'error', summary: 'an active slot needs WAL (from its retention floor) below the oldest WAL left: its replica cannot resume from WAL', loss: true},
  'slot.lost': {severity: 'warning', summary: 'a slot, not invalidated, needs WAL that is gone (pruned while the slot was inactive, or missing in a gap): its replica cannot catch up from WAL; in `check` an error when no usable base backup can catch it up either (reclone)', loss: true},
  'slot.prune-strands': {severity: 'warning', summary: 'the WAL retention plan removes WAL an inactive slot (not invalidated) still needs: after the prune its replica cannot catch up from WAL (slot.lost)'},
  // The repository in `check` (with a repository configured); threshold findings, as above.
  'repo.unreachable': {severity: 'warning', summary: 'the repository cannot be read (unreachable, credentials refused): archive lag and its backups are not measured'},
  'repo.archive-lag': {severity: 'warning', summary: 'sealed WAL segments of the current timeline not yet in the repository add up to more bytes than the threshold'},
  'repo.archive-age': {severity: 'warning', summary: 'the oldest sealed WAL segment of the current timeline not yet in the repository has waited longer than the threshold (a push job that stopped, on a node too quiet for the byte threshold)'},
  'repo.backup-age': {severity: 'warning', summary: 'the newest base backup in the repository is older than the threshold'},
  'repo.backup-none': {severity: 'warning', summary: 'the repository holds no complete base backup of this node', loss: true},
  'repo.drill-age': {severity: 'warning', summary: 'the last successful restore drill (repo drill) is older than the threshold'},
  'repo.drill-failed': {severity: 'warning', summary: 'the last restore drill failed (or its record cannot be read): a backup of the repository did not restore, catch up and verify'},
  'repo.drill-none': {severity: 'note', summary: 'no restore drill (repo drill) was ever recorded for this node in the repository'},
  'repo.lagging': {severity: 'warning', summary: 'of the repositories the config file names, this one is behind another: it lacks sealed WAL segments the other holds, or its newest complete base backup is older'},
  'repo.push-failing': {severity: 'warning', summary: 'the last repo push recorded in the repository failed, and none succeeded since'},
  // Diagnostics that commands report beside their result (--json findings[]).
  'slot.no-catalog': {severity: 'note', summary: 'the current timeline has no slot catalog, so RedDB\'s retention prunes no WAL (wal.retention-stalled instead once segments are held)'},
  'wal.retention-unplanned': {severity: 'note', summary: 'what WAL retention would release after a slot change cannot be planned (legacy store, or the WAL or catalog does not allow a plan)'},
  'rejoin.wal-gone': {severity: 'warning', summary: 'rejoin plan decides rewind, but the primary no longer serves WAL from the fork: after the rewind the node cannot follow from WAL, so it must be rebuilt from a base backup or recloned'},
  'rejoin.ahead-of-primary': {severity: 'warning', summary: 'a node on the primary\'s current timeline has flushed past the primary\'s WAL head: it holds writes the primary never had (it diverged)'},
  'force.overridden': {severity: 'warning', summary: 'a refusal that --force overrode: the files contradicted the request and the command went ahead anyway'},
  'repo.object-damaged': {severity: 'error', summary: 'a repository object is missing, has the wrong size, or does not match its checksum or seal', loss: true},
  'repo.backup-unusable': {severity: 'error', summary: 'a base backup in the repository whose objects check out but that would not restore (a manifest no writer makes, a snapshot RedDB would not open) or not catch up (WAL missing from its checkpoint on)', loss: true},
} as const satisfies Record<string, FindingSpec>

export type FindingCode = keyof typeof FINDINGS

/**
 * One finding as --json prints it (schemas/defs.json, generated from this type).
 * @jsonDef finding
 * @jsonList findings
 */
export interface Finding {
  /** @description A stable code of src/core/findings.ts: scripts key on it. */
  code: FindingCode
  severity: Severity
  /**
   * The file concerned, relative to the layout's parent where it lies inside it.
   * @description The file or object concerned, relative to the layout's parent when it lies inside it.
   */
  path: string
  /** @description For people; the wording may change in a minor version. */
  message: string
  /**
   * Measured values behind the finding (LSNs, byte counts), for scripts; {} when there are none.
   * @description Measured values behind the finding; which keys depends on the code.
   */
  data: Record<string, bigint | number | string | boolean | null>
}

export function finding(code: FindingCode, path: string, message: string, data: Finding['data'] = {}, severity: Severity = FINDINGS[code].severity): Finding {
  return {code, severity, path, message, data: data ?? {}}
}

/** True for a finding whose code means loss (see FindingSpec.loss). */
export const isLoss = (f: Finding) => (FINDINGS[f.code] as FindingSpec).loss === true

/** A finding that should make a check fail: errors and warnings, not notes. */
export const isProblem = (f: Finding) => f.severity !== 'note'
