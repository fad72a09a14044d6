import {Flags} from './oclif.js'

import {usageError} from '../core/errors.js'
import {DEFAULT_THRESHOLDS, type CheckOptions, type CheckThresholds, type Threshold} from '../core/ops/monitoring/check.js'
import {formatBytes, formatDuration} from '../core/units.js'
import {dataPathFlag} from './flags.js'
import {DEFAULT_TIMEOUT_MS, optionalRepoFlags, optionalRepository} from './repo-flags.js'
import {parseByteSize, parseCount, parseDuration} from './numbers.js'

/**
 * The flags `check` and `metrics` share: one --warning-X/--critical-X pair
 * per threshold (`off` turns one off) and --deep. The defaults live in
 * DEFAULT_THRESHOLDS, not in oclif, so "given" and "defaulted" stay apart.
 */

type Unit = 'lsn' | 'count' | 'bytes' | 'duration'

const PARSE: Record<Unit, (text: string, flag: string) => bigint> = {lsn: parseCount, count: parseCount, bytes: parseByteSize, duration: parseDuration}
const SHOW: Record<Unit, (value: bigint) => string> = {lsn: String, count: String, bytes: formatBytes, duration: formatDuration}
const HELP_VALUE: Record<Unit, string> = {lsn: 'LSNS|off', count: 'N|off', bytes: 'SIZE|off', duration: 'DURATION|off'}

const PAIRS = {
  'slot-lag': {key: 'slot_lag_lsn', unit: 'lsn', what: 'a slot lags the WAL head by more than this many LSNs (record numbers, not bytes; 64Mi = 67108864)'},
  'slot-inactive': {key: 'slot_inactive_ms', unit: 'duration', what: 'an inactive slot (not invalidated) was last seen longer ago than this'},
  'slot-silent': {key: 'slot_silent_ms', unit: 'duration', what: 'an active slot\'s replica was last seen longer ago than this'},
  'invalidated-slots': {key: 'invalidated_slots', unit: 'count', what: 'more slots than this are invalidated'},
  'wal-bytes': {key: 'wal_retained_bytes', unit: 'bytes', what: 'the current timeline\'s WAL holds more bytes than this'},
  'wal-segments': {key: 'wal_segments', unit: 'count', what: 'the current timeline\'s WAL holds more segments than this'},
  'basebackup-age': {key: 'basebackup_age_ms', unit: 'duration', what: 'the newest base backup usable for catch-up is older than this (none at all counts as the worst level set)'},
  'leftover-bytes': {key: 'leftover_bytes', unit: 'bytes', what: 'the leftovers of interrupted runs (staging and orphan chunk dirs, temp files: what layout clean removes) hold more than this'},
  'prune-skipped': {key: 'prune_skipped_runs', unit: 'count', what: 'more wal prune runs in a row than this found the layout lock held and removed nothing'},
  'archive-lag': {key: 'archive_lag_bytes', unit: 'bytes', what: 'sealed WAL segments of the current timeline not yet in the repository (--repo) add up to more than this'},
  'archive-age': {key: 'archive_age_ms', unit: 'duration', what: 'the oldest sealed WAL segment of the current timeline not yet in the repository (--repo) was written longer ago than this'},
  'repo-backup-age': {key: 'repo_backup_age_ms', unit: 'duration', what: 'the newest base backup in the repository (--repo) is older than this (none at all counts as the worst level set)'},
  'drill-age': {key: 'drill_age_ms', unit: 'duration', what: 'the last successful restore drill (repo drill) of the repository (--repo) was longer ago than this (none ever run is a note, a failed last drill a warning)'},
} as const satisfies Record<string, {key: keyof CheckThresholds; unit: Unit; what: string}>

type PairName = keyof typeof PAIRS
type Level = 'warning' | 'critical'

function thresholdFlag(name: PairName, level: Level) {
  const {key, unit, what} = PAIRS[name]
  const fallback = DEFAULT_THRESHOLDS[key][level]
  return Flags.custom<bigint | 'off'>({
    description: `${level === 'warning' ? 'WARNING' : 'CRITICAL'} when ${what} (default: ${fallback === null ? 'off' : SHOW[unit](fallback)}).`,
    helpValue: HELP_VALUE[unit],
    async parse(input, _context, options) {
      return input.trim().toLowerCase() === 'off' ? 'off' : PARSE[unit](input, options.name ?? `${level}-${name}`)
    },
  })()
}

export const checkFlags = {
  'data-path': dataPathFlag,
  reddb: Flags.string({
    description: 'The RedDB release the cluster runs (best set once in the config file: reddb = "1.23"). Under 1.23 a format-1 database, which RedDB 1.23.2 wrecks at its first checkpoint in place, or one only 1.12 opens, is CRITICAL instead of a note.',
    options: ['1.12', '1.23'],
  }),
  deep: Flags.boolean({description: 'Also read every base-backup chunk and the databases in full against their CRCs (default: quick, chunk files checked by size only).'}),
  ...(Object.fromEntries(
    (Object.keys(PAIRS) as PairName[]).flatMap((name) => [
      [`warning-${name}`, thresholdFlag(name, 'warning')],
      [`critical-${name}`, thresholdFlag(name, 'critical')],
    ]),
  ) as Record<`${Level}-${PairName}`, ReturnType<typeof thresholdFlag>>),
  ...optionalRepoFlags(
    'The repository this node pushes to (a directory or s3://bucket/prefix): also measure the archive lag and the age of the newest base backup there; a repository that cannot be read, or not within --timeout, is a warning (repo.unreachable).',
    DEFAULT_TIMEOUT_MS.monitor,
  ),
}

export type ThresholdFlagValues = Partial<Record<`${Level}-${PairName}`, bigint | 'off'>>

/** The thresholds: each flag given, else its default; a warning above its critical is refused. */
export function thresholdsFromFlags(flags: ThresholdFlagValues): CheckThresholds {
  const thresholds = {...DEFAULT_THRESHOLDS}
  for (const name of Object.keys(PAIRS) as PairName[]) {
    const {key, unit} = PAIRS[name]
    const pick = (level: Level): bigint | null => {
      const given = flags[`${level}-${name}`]
      return given === undefined ? DEFAULT_THRESHOLDS[key][level] : given === 'off' ? null : given
    }
    const threshold: Threshold = {warning: pick('warning'), critical: pick('critical')}
    if (threshold.warning !== null && threshold.critical !== null && threshold.warning > threshold.critical) {
      const source = (level: Level) => (flags[`${level}-${name}`] === undefined ? ' (default)' : '')
      throw usageError(
        `--warning-${name} ${SHOW[unit](threshold.warning)}${source('warning')} is above --critical-${name} ${SHOW[unit](threshold.critical)}${source('critical')}; set both, or turn one off`,
      )
    }
    thresholds[key] = threshold
  }
  return thresholds
}

/** What `check` and `metrics` pass to runCheck. */
export function checkOptionsFromFlags(flags: ThresholdFlagValues & {deep?: boolean; reddb?: string} & Parameters<typeof optionalRepository>[0], nowMs: bigint): CheckOptions {
  const repository = optionalRepository(flags)
  const reddb = flags.reddb === '1.12' || flags.reddb === '1.23' ? flags.reddb : undefined
  return {nowMs, thresholds: thresholdsFromFlags(flags), deep: flags.deep === true, ...(repository ? {repository} : {}), ...(reddb ? {reddb} : {})}
}
