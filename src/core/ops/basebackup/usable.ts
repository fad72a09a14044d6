/**
 * What "usable" means for a base backup, in one place: a manifest sane for
 * its size, every chunk there with its size (a `stat` each), and — when
 * looked at deeply — every byte against its CRC and the snapshot by
 * RedDB's open rules. Every command that picks, keeps, lists or counts
 * "the newest usable backup" asks here, so none of them can call a
 * half-gone backup usable while another refuses to restore it.
 */
import path from 'node:path'

import {FormatError, RedreplError} from '../../errors.js'
import {implausibleManifest, isUsableForCatchup} from '../../format/basebackup-manifest.js'
import {snapshotOpenProblem} from '../../format/embedded-rdb.js'
import {lstatSync, realpathSync, type Stats} from '../../fs/metadata.js'
import {freePace, type Pace} from '../../fs/pace.js'
import {ioError, isMissing} from '../../fs/io-error.js'
import {Layout, storedPathProblem} from '../../layout.js'
import type {BasebackupManifest} from '../../model.js'
import {checkChunkFiles, FileChunkSource, streamVerifiedChunks} from './chunks.js'
import {listBasebackups, type BasebackupFile} from '../node/state.js'

export interface BackupScrutiny {
  /** Read every chunk (CRCs, the snapshot's CRC, RedDB's open rules) instead of a `stat` each. */
  deep?: boolean
  /** The pace of a deep read (`--max-rate`). */
  pace?: Pace
  /** Called with the bytes of each piece a deep read reads. */
  onRead?: (bytes: number) => void
}

export interface AssessedBackup extends BasebackupFile {
  /** What makes the backup unrestorable, naming the file concerned; null when it is complete. */
  damage: FormatError | null
}

/**
 * Why a backup cannot be restored, or null: the manifest's claims (size,
 * chunk cut), then its chunks by `stat`, or with `deep` every byte and the
 * snapshot RedDB would open. A chunk that cannot be read counts as damage
 * of that backup, never the end of the caller's run.
 */
export async function backupDamage(manifestPath: string, manifest: BasebackupManifest, scrutiny: BackupScrutiny = {}): Promise<FormatError | null> {
  const implausible = implausibleManifest(manifest)
  if (implausible !== null) return new FormatError(implausible, manifestPath)
  try {
    if (!scrutiny.deep) return await statChunks(manifestPath, manifest)
    const head = await streamVerifiedChunks(manifestPath, manifest, (piece) => scrutiny.onRead?.(piece.length), new FileChunkSource(manifestPath, scrutiny.pace ?? freePace()))
    const refusal = snapshotOpenProblem(head, manifest.snapshot_bytes)
    return refusal === null ? null : new FormatError(refusal, manifestPath)
  } catch (error) {
    if (error instanceof FormatError) return error
    // An I/O error on a chunk (permissions, EIO): that backup cannot be restored either.
    if (error instanceof RedreplError && error.kind === 'failure' && error.name === 'RedreplError') return new FormatError(`a chunk cannot be read (${error.message})`, manifestPath)
    throw error
  }
}

/**
 * The quick check: every chunk a regular file of its size, inside
 * basebackup/. Synchronous, one `lstat` per chunk and one `realpath` per
 * directory holding chunks (all of them sit in the one parts dir), since
 * this runs for every backup on every `basebackup list` and `check`, and a
 * backup can have 1,000,000 chunks. A chunk that is a symlink takes the
 * full containment check (fs/contained.ts).
 */
async function statChunks(manifestPath: string, manifest: BasebackupManifest): Promise<FormatError | null> {
  const base = path.dirname(manifestPath)
  const realBase = realpathOrNull(base) ?? path.resolve(base)
  const realDirs = new Map<string, string | null>()
  for (const chunk of manifest.chunks) {
    const problem = storedPathProblem(chunk.relative_path)
    if (problem !== undefined) return new FormatError(`path ${JSON.stringify(chunk.relative_path)} ${problem}`, manifestPath)
    const file = path.join(base, chunk.relative_path)
    const dir = path.dirname(file)
    if (!realDirs.has(dir)) realDirs.set(dir, realpathOrNull(dir))
    const realDir = realDirs.get(dir)!
    const info = realDir === null ? undefined : lstatOf(file)
    if (info === undefined) return new FormatError(`chunk ${chunk.ordinal} (${chunk.relative_path}) is missing`, manifestPath)
    if (realDir !== realBase && !realDir!.startsWith(realBase + path.sep)) return new FormatError(`path ${JSON.stringify(chunk.relative_path)} leads outside ${base} (to ${realDir})`, manifestPath)
    if (info.isSymbolicLink()) {
      // Rare: the full rule decides where it leads, and what it leads to is what counts.
      const single = {...manifest, chunks: [chunk]}
      await checkChunkFiles(manifestPath, single)
      continue
    }
    if (!info.isFile()) return new FormatError(`chunk ${chunk.ordinal} is not a regular file`, file)
    if (BigInt(info.size) !== chunk.bytes) return new FormatError(`chunk ${chunk.ordinal} holds ${info.size} bytes, the manifest says ${chunk.bytes}`, file)
  }
  return null
}

function lstatOf(file: string): Stats | undefined {
  try {
    return lstatSync(file, {throwIfNoEntry: false})
  } catch (error) {
    throw ioError('open', file, error)
  }
}

function realpathOrNull(dir: string): string | null {
  try {
    return realpathSync(dir)
  } catch (error) {
    if (isMissing(error)) return null
    throw ioError('open', dir, error)
  }
}

/** The timeline's backups as listBasebackups gives them, each with its damage. */
export async function assessBackups(layout: Layout, timeline: bigint, scrutiny: BackupScrutiny = {}): Promise<AssessedBackup[]> {
  const assessed: AssessedBackup[] = []
  for (const backup of await listBasebackups(layout, timeline)) assessed.push({...backup, damage: await backupDamage(backup.path, backup.manifest, scrutiny)})
  return assessed
}

/**
 * Usable: complete (no damage) and able to serve a catch-up from
 * `availableFromLsn` (on the current timeline, checkpoint at or after the
 * oldest WAL that can be streamed, §6).
 */
export function isUsableBackup(backup: {manifest: BasebackupManifest; damage: FormatError | null}, currentTimeline: bigint, availableFromLsn: bigint): boolean {
  return backup.damage === null && isUsableForCatchup(backup.manifest, currentTimeline, availableFromLsn)
}

/** "path: problem" as one line, for a listing's damage field. */
export const damageText = (damage: FormatError | null): string | null => (damage === null ? null : damage.message)
