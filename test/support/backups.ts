import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {crc32} from '../../src/core/codec/crc.js'
import {basebackupManifestCodec} from '../../src/core/format/basebackup-manifest.js'
import {basebackupChunkRelativePath, basebackupManifestName, basebackupSnapshotName} from '../../src/core/layout.js'
import type {BasebackupManifest} from '../../src/core/model.js'
import {T1} from './layout-node.js'

/** The timeline-1 basebackup/ directory of the layout beside a data file in `dir`. */
export const backupDir = (dir: string) => path.join(dir, T1, 'basebackup')

/**
 * Writes a backup the way a writer lays it out (chunks, then a manifest
 * with their CRCs), whatever its bytes: what `basebackup create` refuses to
 * make, as damage or an older writer would leave it. Returns the manifest.
 */
export function plantBackup(dir: string, checkpoint: bigint, chunks: Buffer[], override: Partial<BasebackupManifest> = {}): string {
  const backups = backupDir(dir)
  const name = basebackupManifestName(0n, checkpoint)
  mkdirSync(path.join(backups, `${name}.parts`), {recursive: true})
  let offset = 0n
  let snapshotCrc = 0
  const entries = chunks.map((bytes, ordinal) => {
    const relative = basebackupChunkRelativePath(0n, checkpoint, ordinal)
    writeFileSync(path.join(backups, relative), bytes)
    snapshotCrc = crc32(bytes, snapshotCrc)
    const entry = {ordinal, snapshot_offset: offset, bytes: BigInt(bytes.length), checksum: crc32(bytes), relative_path: relative}
    offset += BigInt(bytes.length)
    return entry
  })
  const manifest: BasebackupManifest = {timeline: 1n, start_lsn: 0n, checkpoint_lsn: checkpoint, snapshot_relative_path: basebackupSnapshotName(0n, checkpoint), snapshot_bytes: offset, snapshot_checksum: snapshotCrc, chunks: entries, ...override}
  const file = path.join(backups, name)
  writeFileSync(file, basebackupManifestCodec.encode(manifest, {nowMs: 0n}))
  return file
}
