/**
 * In-memory models of every artifact. Field names follow the canonical JSON
 * model (fixtures README): u64/u128 are bigint, u32/u16 are number, byte
 * strings are Uint8Array (JSON: `<name>_hex`), absent optionals are null.
 */

export interface TimelineEntry {
  timeline: bigint
  parent_timeline: bigint | null
  fork_lsn: bigint
  created_at_unix_ms: bigint
  reason: string
}

export interface TimelineHistory {
  entries: TimelineEntry[]
}

export type InvalidationReason = 'wal-removed' | 'horizon' | 'idle-timeout'

/** @jsonDef slot */
export interface ReplicationSlot {
  replica_id: string
  restart_lsn: bigint
  confirmed_write_lsn: bigint
  confirmed_flush_lsn: bigint
  confirmed_apply_lsn: bigint
  active: boolean
  last_seen_at_unix_ms: bigint
  invalidation_reason: InvalidationReason | null
  invalidated_at_unix_ms: bigint | null
}

export interface SlotCatalog {
  timeline: bigint
  slots: ReplicationSlot[]
}

export interface WalRecord {
  sequence: bigint
  lsn: bigint
  payload: Uint8Array
}

export interface WalSegment {
  timeline: bigint
  segment_index: bigint
  start_lsn: bigint
  end_lsn: bigint
  records: WalRecord[]
}

export interface BasebackupChunk {
  ordinal: number
  snapshot_offset: bigint
  bytes: bigint
  checksum: number
  relative_path: string
}

export interface BasebackupManifest {
  timeline: bigint
  start_lsn: bigint
  checkpoint_lsn: bigint
  snapshot_relative_path: string
  snapshot_bytes: bigint
  snapshot_checksum: number
  chunks: BasebackupChunk[]
}

export interface RelayRecord {
  lsn: bigint
  payload: Uint8Array
}

export interface RelaySegment {
  timeline: bigint
  start_lsn: bigint
  end_lsn: bigint
  records: RelayRecord[]
}

export interface RelaySegmentRef {
  relative_path: string
  start_lsn: bigint
  end_lsn: bigint
  checksum: number
}

export interface RelayManifest {
  replica_id: string
  timeline: bigint
  received_lsn: bigint
  flushed_lsn: bigint
  applied_lsn: bigint
  segments: RelaySegmentRef[]
}

export interface RebootstrapMarker {
  pending_path: string
  checkpoint_lsn: bigint
  timeline: bigint
}

/** Whose rules an embedded database is opened and written by (format.md §9.1 for 1.12, §9.2 for 1.23). */
export type RedDBRelease = 'reddb-1.12' | 'reddb-1.23'

/** The embedded database format: 1 as RedDB 1.12 writes it, 2 as RedDB 1.23 does. */
export type RdbFormat = 1 | 2

export interface EmbeddedSuperblock {
  /** The superblock's own version field: which of the two layouts it is stored in (§9.2). */
  layout: 1 | 2
  copy_index: number
  generation: bigint
  format_version: number
  manifest_offset: bigint
  manifest_len: bigint
  manifest_checksum: number
  wal_region_offset: bigint
  wal_region_bytes: bigint
  wal_recovery_boundary: bigint
  /** Layout 2's own field; for layout 1, boundary − region offset (0 when negative). */
  wal_live_bytes: bigint
  snapshot_offset: bigint
  snapshot_bytes: bigint
  snapshot_checksum: number
  /** The superblock's own trailing CRC. */
  checksum: number
}

export interface EmbeddedManifest {
  version: number
  wal_region_offset: bigint
  wal_region_bytes: bigint
  wal_recovery_boundary: bigint
  wal_live_bytes: bigint
  snapshot_offset: bigint
  snapshot_bytes: bigint
  snapshot_checksum: number
  created_at_unix_ms: bigint
  checksum: number
}

export interface EmbeddedDatabase {
  /** The rules it was opened by; 1.12's JSON model has no `wal_live_bytes`. */
  rules: RedDBRelease
  selected_superblock: EmbeddedSuperblock
  manifest: EmbeddedManifest
  /** null when the snapshot is empty. */
  snapshot: Uint8Array | null
  wal_payloads: Uint8Array[]
}

/** A replica's acknowledged positions, as the primary sees them. */
export interface ReplicaAck {
  replica_id: string
  timeline: bigint
  received_lsn: bigint
  written_lsn: bigint
  flushed_lsn: bigint
  applied_lsn: bigint
}
