import {Flags} from './oclif.js'

import {usageError} from '../core/errors.js'
import {parseDurationMs, type BackupRetentionPolicy} from '../core/plan/backup-retention.js'
import {DEFAULT_ORPHAN_GRACE_MS} from '../core/plan/repo-expire.js'
import {confirmFlag} from './planned-command.js'

/** The retention flags `basebackup expire` and `repo expire` share; dry run unless --confirm, as WAL-G's delete. */
export const retentionFlags = {
  'keep-last': Flags.integer({description: 'Keep the N newest base backups.', min: 1, helpValue: 'N', exclusive: ['keep-within']}),
  'keep-within': Flags.string({description: 'Keep the base backups taken within this duration (7d, 36h, 90m, 2w).', helpValue: 'DURATION'}),
  confirm: confirmFlag('Delete for real; without it the command only lists what it would delete and why.'),
}

export function retentionPolicy(flags: {'keep-last'?: number; 'keep-within'?: string}): BackupRetentionPolicy {
  if (flags['keep-last'] !== undefined) return {keepLast: flags['keep-last']}
  if (flags['keep-within'] !== undefined) return {keepWithinMs: parseDurationMs(flags['keep-within'], 'keep-within')}
  throw usageError('say what to keep: --keep-last N or --keep-within DURATION')
}

/** `repo expire`'s grace period for unreferenced objects; no oclif default, so a config file's value counts as given. */
export const orphanGraceFlag = Flags.string({
  description: 'Collect objects no manifest names only once written longer ago than this (default 24h); keep it above the longest push.',
  helpValue: 'DURATION',
})

export function orphanGraceMs(flags: {'orphan-grace'?: string}): bigint {
  return flags['orphan-grace'] === undefined ? DEFAULT_ORPHAN_GRACE_MS : parseDurationMs(flags['orphan-grace'], 'orphan-grace')
}
