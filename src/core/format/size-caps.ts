import type {ArtifactKind} from './artifact.js'
import {MAX_CHUNKS} from './basebackup-manifest.js'

/**
 * The largest file redrepl reads whole for each artifact kind, checked on the
 * open file's size before a byte is read: a sparse multi-GB file or a link to
 * /dev/zero is refused at once instead of filling memory. Each cap is far
 * above what RedDB writes, and finite. Names inside RedDB's files are file
 * name components (≤ 255 bytes, NAME_MAX) or RedDB's own fixed-width names.
 */

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

/** One history entry (§3): 8+1+8+8+8 bytes of fields and a reason `promote <replica id>` ≤ 4+8+255 bytes: ≤ 304 bytes; 16 MiB holds over 50,000 failovers. */
export const MAX_TIMELINE_HISTORY_BYTES = 16 * MiB

/** One v2 slot (§4): 4+255 id, 4×8 positions, 1 flag, 16 last seen, 1+4+12 reason, 1+16 invalidated-at ≤ 342 bytes; 64 MiB holds over 190,000 replicas. The legacy JSON store spells the same slots in text, under the same cap. */
export const MAX_SLOT_CATALOG_BYTES = 64 * MiB

/**
 * WAL and relay segments are decoded whole, and RedDB itself rewrites a whole
 * WAL segment on every append (§5), so a real one stays far below this. The
 * cap keeps a lying size from taking the machine's memory.
 */
export const MAX_SEGMENT_BYTES = 1 * GiB

/** One segment reference (§7): 4+54 for RedDB's `relay-{start:020}-{end:020}.redwal` + 8+8+4 = 78 bytes; 64 MiB holds over 800,000 segments. */
export const MAX_RELAY_MANIFEST_BYTES = 64 * MiB

/** MAX_CHUNKS (§6) × (28 bytes of fields + a 90-byte RedDB chunk path) ≈ 118 MB; twice that leaves room for longer paths. */
export const MAX_BASEBACKUP_MANIFEST_BYTES = Math.ceil((MAX_CHUNKS * 2 * (28 + 90)) / MiB) * MiB

/** A pending path of PATH_MAX (4096) bytes, every byte JSON-escaped (×6), and two 20-digit numbers: under 25 KiB. */
export const MAX_REBOOTSTRAP_MARKER_BYTES = 64 * KiB

/**
 * Databases up to this are read whole by `inspect` (to print the snapshot as
 * hex, which past it could not be a JavaScript string anyway: 2^29
 * characters); larger ones are streamed, never read whole.
 */
export const MAX_WHOLE_DATABASE_BYTES = 256 * MiB

export const MAX_ARTIFACT_BYTES: Readonly<Record<ArtifactKind, number>> = {
  'timeline-history': MAX_TIMELINE_HISTORY_BYTES,
  'slot-catalog': MAX_SLOT_CATALOG_BYTES,
  'slot-catalog-legacy': MAX_SLOT_CATALOG_BYTES,
  'wal-segment': MAX_SEGMENT_BYTES,
  'relay-segment': MAX_SEGMENT_BYTES,
  'relay-manifest': MAX_RELAY_MANIFEST_BYTES,
  'basebackup-manifest': MAX_BASEBACKUP_MANIFEST_BYTES,
  'rebootstrap-marker': MAX_REBOOTSTRAP_MARKER_BYTES,
  'embedded-rdb': MAX_WHOLE_DATABASE_BYTES,
}
