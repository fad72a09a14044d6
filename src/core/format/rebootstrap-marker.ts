import {asUnsigned, isJsonObject, stringifyJson, type JsonValue} from '../codec/json.js'
import {FormatError} from '../errors.js'
import type {RebootstrapMarker} from '../model.js'
import type {ArtifactCodec} from './artifact.js'
import {jsonString, jsonU64} from './json-fields.js'
import {parseJsonArtifact} from './slot-catalog-legacy.js'

const NAME = 'rebootstrap marker'

/** RedDB reads the marker leniently: a field of the wrong type is as good as missing; extra fields are ignored. */
function decode(bytes: Uint8Array): RebootstrapMarker {
  const root = parseJsonArtifact(bytes, NAME)
  const fields = isJsonObject(root) ? root : {}
  const pending = fields.pending_path
  if (typeof pending !== 'string') throw new FormatError(`${NAME} is missing pending_path`)
  const checkpoint = asUnsigned(fields.checkpoint_lsn)
  if (checkpoint === undefined) throw new FormatError(`${NAME} is missing checkpoint_lsn (an unsigned integer)`)
  const timeline = asUnsigned(fields.timeline)
  if (timeline === undefined) throw new FormatError(`${NAME} is missing timeline (an unsigned integer)`)
  return {pending_path: pending, checkpoint_lsn: checkpoint, timeline}
}

/** Compact JSON with sorted keys, as RedDB writes it. */
function encode(marker: RebootstrapMarker): Uint8Array {
  return new TextEncoder().encode(stringifyJson({...marker}, 0, true))
}

function fromJson(json: JsonValue): RebootstrapMarker {
  if (!isJsonObject(json)) throw new FormatError(`${NAME} JSON must be an object`)
  return {
    pending_path: jsonString(json.pending_path, 'pending_path'),
    checkpoint_lsn: jsonU64(json.checkpoint_lsn, 'checkpoint_lsn'),
    timeline: jsonU64(json.timeline, 'timeline'),
  }
}

export const rebootstrapMarkerCodec: ArtifactCodec<RebootstrapMarker> = {
  kind: 'rebootstrap-marker',
  label: NAME,
  decode,
  encode,
  toJson: (marker) => ({...marker}),
  fromJson,
}
