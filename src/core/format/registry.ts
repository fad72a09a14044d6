import {FormatError} from '../errors.js'
import type {ArtifactCodec, ArtifactKind} from './artifact.js'
import {basebackupManifestCodec} from './basebackup-manifest.js'
import {embeddedRdbCodec} from './embedded-rdb.js'
import {rebootstrapMarkerCodec} from './rebootstrap-marker.js'
import {relayManifestCodec} from './relay-manifest.js'
import {relaySegmentCodec} from './relay-segment.js'
import {legacySlotStoreCodec} from './slot-catalog-legacy.js'
import {slotCatalogCodec} from './slot-catalog.js'
import {timelineHistoryCodec} from './timeline-history.js'
import {walSegmentCodec} from './wal-segment.js'

export const CODECS: Readonly<Record<ArtifactKind, ArtifactCodec<any>>> = {
  'timeline-history': timelineHistoryCodec,
  'slot-catalog': slotCatalogCodec,
  'slot-catalog-legacy': legacySlotStoreCodec,
  'wal-segment': walSegmentCodec,
  'basebackup-manifest': basebackupManifestCodec,
  'relay-segment': relaySegmentCodec,
  'relay-manifest': relayManifestCodec,
  'rebootstrap-marker': rebootstrapMarkerCodec,
  'embedded-rdb': embeddedRdbCodec,
}

export const ARTIFACT_KINDS = Object.keys(CODECS) as ArtifactKind[]

export function isArtifactKind(name: string): name is ArtifactKind {
  return Object.hasOwn(CODECS, name)
}

const MAGICS: ReadonlyArray<[string, ArtifactKind]> = [
  ['RDTLINE1', 'timeline-history'],
  ['RDSLOT01', 'slot-catalog'],
  ['RDPWAL01', 'wal-segment'],
  ['RDBASE01', 'basebackup-manifest'],
  ['RDRSEG01', 'relay-segment'],
  ['RDRELAY1', 'relay-manifest'],
  ['RDBSBLK1', 'embedded-rdb'],
]

/** File name endings that settle the kind when the magic cannot. */
const SUFFIXES: ReadonlyArray<[string, ArtifactKind]> = [
  ['.rebootstrap.ready', 'rebootstrap-marker'],
  ['.logical.slots.json', 'slot-catalog-legacy'],
  ['.redtimeline', 'timeline-history'],
  ['.redslots', 'slot-catalog'],
  ['.redbase', 'basebackup-manifest'],
  ['.redmanifest', 'relay-manifest'],
  ['.rdb', 'embedded-rdb'],
]

function startsWithMagic(bytes: Uint8Array, offset: number, magic: string): boolean {
  if (bytes.length < offset + magic.length) return false
  for (let i = 0; i < magic.length; i++) if (bytes[offset + i] !== magic.charCodeAt(i)) return false
  return true
}

/**
 * The artifact kind of a file: JSON artifacts by name (they have no magic),
 * binary ones by magic (an `.rdb` also by its second superblock copy), then
 * by extension so a damaged file still reaches the decoder that can say what
 * is wrong with it. `.redwal` is shared by two kinds and needs a magic.
 */
export function detectKind(bytes: Uint8Array, fileName: string): ArtifactKind {
  for (const [suffix, kind] of SUFFIXES.slice(0, 2)) if (fileName.endsWith(suffix)) return kind
  for (const [magic, kind] of MAGICS) if (startsWithMagic(bytes, 0, magic)) return kind
  if (startsWithMagic(bytes, 4096, 'RDBSBLK1')) return 'embedded-rdb'
  for (const [suffix, kind] of SUFFIXES) if (fileName.endsWith(suffix)) return kind
  throw new FormatError('unrecognised artifact: no known magic or file name (pass --kind)')
}
