import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {crc32} from '../../src/core/codec/crc.js'
import {createDatabaseHead, encodeSuperblock, GEOMETRY, SUPERBLOCK_BYTES} from '../../src/core/format/embedded-rdb.js'
import {NOW_MS} from '../support/fixtures.js'
import {runCli, useScratch} from '../support/cli.js'
import {jsonOf} from '../support/node.js'

const scratch = useScratch()

test('create falls back to the older superblock when the newer one\'s snapshot fails its CRC, and backs up that snapshot whole', async () => {
  const dir = await scratch.dir('redrepl-fallback-')
  const data = path.join(dir, 'data.rdb')
  mkdirSync(path.join(dir, 'data.primary-replica'))
  const snapshot = Buffer.concat([Buffer.from('RDST'), randomBytes(3 * 1024 * 1024)])
  const file = Buffer.concat([createDatabaseHead(1, BigInt(snapshot.length), crc32(snapshot), NOW_MS), snapshot])
  // Generation 2 (tried first) claims the same bytes with another CRC, as a torn write would leave it; no manifest of its own.
  const {walRegionOffset, walRegionBytes, snapshotOffset} = GEOMETRY[1]
  const newer = encodeSuperblock({
    layout: 1,
    copy_index: 1,
    generation: 2n,
    format_version: 1,
    manifest_offset: 0n,
    manifest_len: 0n,
    manifest_checksum: 0,
    wal_region_offset: BigInt(walRegionOffset),
    wal_region_bytes: BigInt(walRegionBytes),
    wal_recovery_boundary: BigInt(walRegionOffset),
    wal_live_bytes: 0n,
    snapshot_offset: BigInt(snapshotOffset),
    snapshot_bytes: BigInt(snapshot.length),
    snapshot_checksum: (crc32(snapshot) ^ 1) >>> 0,
  })
  file.set(newer, SUPERBLOCK_BYTES)
  writeFileSync(data, file)

  const created = jsonOf(await runCli(['basebackup', 'create', '--data-path', data, '--from', data, '--checkpoint-lsn', '10', '--chunk-size', '1MiB', '--json']))
  assert.equal(created.snapshot_bytes, BigInt(snapshot.length))
  assert.equal((created.manifest as {snapshot_checksum: bigint}).snapshot_checksum, BigInt(crc32(snapshot)))
  assert.equal((created.manifest as {chunks: unknown[]}).chunks.length, 4)
  const verified = await runCli(['basebackup', 'verify', '--data-path', data])
  assert.equal(verified.exitCode, 0, verified.stderr)
})
