import type {JsonValue} from '../codec/json.js'
import type {RedDBRelease} from '../model.js'

export type ArtifactKind =
  | 'timeline-history'
  | 'slot-catalog'
  | 'slot-catalog-legacy'
  | 'wal-segment'
  | 'basebackup-manifest'
  | 'relay-segment'
  | 'relay-manifest'
  | 'rebootstrap-marker'
  | 'embedded-rdb'

/** Inputs some artifacts need besides their bytes (legacy slot defaults, `.rdb` created_at). */
export interface CodecContext {
  nowMs: bigint
  /** Whose rules an embedded database is opened and written by; absent: what the file shows (a layout-2 superblock is 1.23's). */
  reddb?: RedDBRelease
}

/**
 * What every format module offers the rest of the toolkit: bytes ⇄ model,
 * and model ⇄ the canonical JSON model of the fixtures' README (integers as
 * bigint, byte strings as lowercase hex in `*_hex` fields, absent as null).
 * `decode` rejects with a FormatError naming the rule broken.
 */
export interface ArtifactCodec<Model> {
  readonly kind: ArtifactKind
  /** A human name used in messages, e.g. "timeline history". */
  readonly label: string
  decode(bytes: Uint8Array, context: CodecContext): Model
  encode(model: Model, context: CodecContext): Uint8Array
  toJson(model: Model): JsonValue
  fromJson(json: JsonValue): Model
}
