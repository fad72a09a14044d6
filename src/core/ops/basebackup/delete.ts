import path from 'node:path'

import {notFound, refused} from '../../errors.js'
import {basebackupManifestCodec} from '../../format/basebackup-manifest.js'
import {lstat} from '../../fs/metadata.js'
import {linkRefusal, openInLayout, removeDirOf} from '../../fs/held-dir.js'
import {crashPoint} from '../../fs/crash.js'
import {ioError} from '../../fs/io-error.js'
import {readArtifact} from '../node/artifact-file.js'
import {Layout} from '../../layout.js'
import type {BasebackupManifest} from '../../model.js'
import {assessBackups, damageText, isUsableBackup} from './usable.js'
import {readCurrentTimeline, readOldestAvailableLsn, type BasebackupFile} from '../node/state.js'

export type DeleteChoice = {manifestPath: string} | {checkpointLsn: bigint}

export interface LocalBackup extends BasebackupFile {
  taken_unix_ms: bigint
  usable_for_catchup: boolean
  newest_usable: boolean
  /** What makes it unrestorable; null when complete (see basebackup-usable.ts). */
  damage: string | null
}

export interface BasebackupDeleteReport {
  manifest_path: string
  parts_dir_path: string
  timeline: bigint
  checkpoint_lsn: bigint
  snapshot_bytes: bigint
  newest_usable: boolean
  dry_run: boolean
  removed_files: number
  /** Files in the parts dir that no manifest chunk names, left in place (the dir then stays too). */
  left_in_parts_dir: string[]
}

/** The current timeline's backups with their time (manifest mtime), their damage and whether each can serve a catch-up. */
export async function listLocalBackups(layout: Layout): Promise<{timeline: bigint; available_from_lsn: bigint; backups: LocalBackup[]}> {
  const timeline = await readCurrentTimeline(layout)
  const available = await readOldestAvailableLsn(layout, timeline)
  const backups: LocalBackup[] = []
  for (const {damage, ...file} of await assessBackups(layout, timeline)) {
    const info = await lstat(file.path)
    backups.push({...file, taken_unix_ms: BigInt(Math.trunc(info.mtimeMs)), usable_for_catchup: isUsableBackup({...file, damage}, timeline, available), newest_usable: false, damage: damageText(damage)})
  }
  const newest = backups.filter((backup) => backup.usable_for_catchup).at(-1)
  if (newest) newest.newest_usable = true
  return {timeline, available_from_lsn: available, backups}
}

/**
 * Removes one backup in the order that keeps every crash state one RedDB
 * accepts: the manifest first, durably (from then on the backup no longer
 * exists for any reader), then the chunk files it names, then their dir. A
 * crash in between leaves an orphan parts dir, which RedDB ignores and
 * `layout clean` removes. The basebackup directory is reached from the
 * layout root without following a link but an operator's link of
 * basebackup/ itself, the parts dir must be a directory (a link there is
 * refused before anything is removed), and every unlink goes through the
 * directory it removes from. A chunk another manifest names (`namedElsewhere`,
 * relative paths) stays, and with it the parts dir.
 */
export async function removeBasebackup(manifestPath: string, manifest: BasebackupManifest, namedElsewhere: ReadonlySet<string> = new Set()): Promise<{removed_files: number; left_in_parts_dir: string[]}> {
  const partsName = `${path.basename(manifestPath)}.parts`
  const basebackupDir = path.dirname(manifestPath)
  const timelineDir = path.dirname(basebackupDir)
  const base = await openInLayout(path.dirname(timelineDir), [path.basename(timelineDir), path.basename(basebackupDir)], {linkableLast: true})
  if (base === undefined) throw notFound(`${basebackupDir}: no such directory`)
  try {
    // Refuses a link where the parts dir belongs now, before the manifest goes.
    const info = await base.entry(partsName)
    if (info?.isSymbolicLink()) throw linkRefusal(base.shown(partsName), 'the layout')
    const manifestName = path.basename(manifestPath)
    if (!(await base.entry(manifestName))) throw notFound(`${manifestPath}: no such file`)
    await base.unlink(manifestName)
    await base.sync()
    crashPoint('basebackup-delete:after-manifest')
    const named = new Set(manifest.chunks.map((chunk) => chunk.relative_path).filter((relative) => !namedElsewhere.has(relative)))
    // Only what the manifest names as a chunk, and only a regular file: never a link's target.
    const {removed, left} = await removeDirOf(base, partsName, (entry) => named.has(`${partsName}/${entry}`))
    return {removed_files: removed + 1, left_in_parts_dir: left}
  } catch (error) {
    throw ioError('delete', manifestPath, error)
  } finally {
    await base.close()
  }
}

/** The chunk paths the backups' manifests name, but `except`'s: what removing `except` must leave. */
export function chunksNamedByOthers(backups: ReadonlyArray<{path: string; manifest: BasebackupManifest}>, except: string): Set<string> {
  return new Set(backups.filter((backup) => backup.path !== except).flatMap((backup) => backup.manifest.chunks.map((chunk) => chunk.relative_path)))
}

/**
 * `basebackup delete`: one backup, named by checkpoint on the current
 * timeline or by manifest path (which must lie in this layout). The newest
 * usable backup is refused unless `force`: it is what a lost replica needs.
 */
export async function deleteBasebackup(layout: Layout, choice: DeleteChoice, options: {force: boolean; dryRun: boolean}): Promise<BasebackupDeleteReport> {
  const {timeline, backups} = await listLocalBackups(layout)
  let chosen: LocalBackup | undefined
  if ('manifestPath' in choice) {
    const wanted = path.resolve(choice.manifestPath)
    chosen = backups.find((backup) => path.resolve(backup.path) === wanted)
    if (chosen === undefined) {
      // A manifest elsewhere is not one of this node's backups: say which it is not.
      const manifest = await readArtifact(choice.manifestPath, basebackupManifestCodec, {nowMs: 0n})
      throw refused(`${choice.manifestPath}: not a base backup of timeline ${timeline} in ${layout.basebackupDir(timeline)} (manifest timeline ${manifest.timeline})`)
    }
  } else {
    chosen = backups.filter((backup) => backup.manifest.checkpoint_lsn === choice.checkpointLsn).at(-1)
    if (chosen === undefined) throw notFound(`no base backup with checkpoint LSN ${choice.checkpointLsn} on timeline ${timeline} in ${layout.basebackupDir(timeline)}`)
  }
  if (chosen.newest_usable && !options.force) {
    throw refused(`${chosen.path}: the newest base backup usable for catch-up; a replica that falls behind the WAL needs it`, {
      hint: 'take a newer one first, or pass --force to delete it anyway',
    })
  }
  const report: BasebackupDeleteReport = {
    manifest_path: chosen.path,
    parts_dir_path: `${chosen.path}.parts`,
    timeline: chosen.manifest.timeline,
    checkpoint_lsn: chosen.manifest.checkpoint_lsn,
    snapshot_bytes: chosen.manifest.snapshot_bytes,
    newest_usable: chosen.newest_usable,
    dry_run: options.dryRun,
    removed_files: 0,
    left_in_parts_dir: [],
  }
  if (options.dryRun) return report
  return {...report, ...(await removeBasebackup(chosen.path, chosen.manifest, chunksNamedByOthers(backups, chosen.path)))}
}
