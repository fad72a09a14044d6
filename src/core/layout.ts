import path from 'node:path'

/** Decimal, zero-padded to 20 digits, as every RedDB file name spells numbers. */
export function pad20(value: bigint | number): string {
  return BigInt(value).toString().padStart(20, '0')
}

/**
 * "Replace the extension": drop everything after the last `.` of the file
 * name when the name has a stem before it, then append `.suffix`.
 */
export function replaceExtension(filePath: string, suffix: string): string {
  // String surgery rather than path.join: the directory part is kept exactly
  // as given, because RedDB compares derived paths (the rebootstrap marker's
  // pending_path) as strings.
  const slash = filePath.lastIndexOf('/')
  const dir = filePath.slice(0, slash + 1)
  const base = filePath.slice(slash + 1)
  const dot = base.lastIndexOf('.')
  const stem = dot > 0 ? base.slice(0, dot) : base
  return `${dir}${stem}.${suffix}`
}

/**
 * Whether RedDB takes two paths for the same one: it compares them component
 * by component, where repeated separators and `.` components do not count,
 * symlinks are not resolved and a relative path never equals an absolute one
 * (format §8, the marker's pending_path).
 */
export function sameRedDbPath(a: string, b: string): boolean {
  const parts = (p: string) => [p.startsWith('/') ? '/' : '.', ...p.split('/').filter((part) => part !== '' && part !== '.')]
  const [x, y] = [parts(a), parts(b)]
  return x.length === y.length && x.every((part, i) => part === y[i])
}

export const TIMELINE_HISTORY_FILE = 'timeline-history.redtimeline'
export const SLOT_CATALOG_FILE = 'replication-slots.redslots'
export const RELAY_MANIFEST_FILE = 'relay.redmanifest'

const WAL_SEGMENT_NAME = /^(\d+)\.redwal$/
const TIMELINE_DIR_NAME = /^timeline-(\d{20})$/
const BASEBACKUP_NAME = /^base-(\d{20})-(\d{20})\.redbase$/
const RELAY_SEGMENT_NAME = /^relay-(\d{20})-(\d{20})\.redwal$/

/** Paths that hang off the data path itself rather than the layout root. */
export function dataPathArtifacts(dataPath: string) {
  return {
    dataPath,
    root: replaceExtension(dataPath, 'primary-replica'),
    legacySlotStore: `${dataPath}.logical.slots.json`,
    rebootstrapPending: replaceExtension(dataPath, 'rebootstrap.pending.rdb'),
    rebootstrapReady: replaceExtension(dataPath, 'rebootstrap.ready'),
    rebootstrapStaging: replaceExtension(dataPath, 'rebootstrap.redbase'),
    rebootstrapPrevious: replaceExtension(dataPath, 'rebootstrap.previous.rdb'),
  }
}

/** Every path under a layout root `R`. */
export class Layout {
  constructor(readonly root: string) {}

  static fromDataPath(dataPath: string): Layout {
    return new Layout(dataPathArtifacts(dataPath).root)
  }

  get historyPath(): string {
    return path.join(this.root, TIMELINE_HISTORY_FILE)
  }

  /** Where toolkit writers serialise themselves (see fs/lock). */
  get lockPath(): string {
    return path.join(this.root, '.redrepl.lock')
  }

  timelineDir(timeline: bigint): string {
    return path.join(this.root, `timeline-${pad20(timeline)}`)
  }

  walDir(timeline: bigint): string {
    return path.join(this.timelineDir(timeline), 'wal')
  }

  walSegmentPath(timeline: bigint, index: bigint): string {
    return path.join(this.walDir(timeline), `${pad20(index)}.redwal`)
  }

  slotCatalogPath(timeline: bigint): string {
    return path.join(this.timelineDir(timeline), SLOT_CATALOG_FILE)
  }

  basebackupDir(timeline: bigint): string {
    return path.join(this.timelineDir(timeline), 'basebackup')
  }

  basebackupManifestPath(timeline: bigint, startLsn: bigint, checkpointLsn: bigint): string {
    return path.join(this.basebackupDir(timeline), basebackupManifestName(startLsn, checkpointLsn))
  }

  relayRoot(timeline: bigint): string {
    return path.join(this.timelineDir(timeline), 'relay')
  }

  relayDir(timeline: bigint, replicaId: string): string {
    return path.join(this.relayRoot(timeline), replicaId)
  }

  relayManifestPath(timeline: bigint, replicaId: string): string {
    return path.join(this.relayDir(timeline, replicaId), RELAY_MANIFEST_FILE)
  }
}

export function basebackupManifestName(startLsn: bigint, checkpointLsn: bigint): string {
  return `base-${pad20(startLsn)}-${pad20(checkpointLsn)}.redbase`
}

/** Chunk paths, relative to the `basebackup/` dir as manifests store them. */
export function basebackupChunkRelativePath(startLsn: bigint, checkpointLsn: bigint, ordinal: number): string {
  return `${basebackupManifestName(startLsn, checkpointLsn)}.parts/${pad20(ordinal)}.redchunk`
}

export function basebackupSnapshotName(startLsn: bigint, checkpointLsn: bigint): string {
  return `base-${pad20(startLsn)}-${pad20(checkpointLsn)}.snapshot`
}

export function relaySegmentName(startLsn: bigint, endLsn: bigint): string {
  return `relay-${pad20(startLsn)}-${pad20(endLsn)}.redwal`
}

/** `{decimal}.redwal` → index; anything else is not a WAL segment. */
const U64_LIMIT = 1n << 64n

export function parseWalSegmentName(name: string): bigint | undefined {
  const match = WAL_SEGMENT_NAME.exec(name)
  if (!match) return undefined
  const index = BigInt(match[1])
  return index < U64_LIMIT ? index : undefined
}

export function parseTimelineDirName(name: string): bigint | undefined {
  const match = TIMELINE_DIR_NAME.exec(name)
  return match ? BigInt(match[1]) : undefined
}

export function parseBasebackupName(name: string): {startLsn: bigint; checkpointLsn: bigint} | undefined {
  const match = BASEBACKUP_NAME.exec(name)
  return match ? {startLsn: BigInt(match[1]), checkpointLsn: BigInt(match[2])} : undefined
}

export function parseRelaySegmentName(name: string): {startLsn: bigint; endLsn: bigint} | undefined {
  const match = RELAY_SEGMENT_NAME.exec(name)
  return match ? {startLsn: BigInt(match[1]), endLsn: BigInt(match[2])} : undefined
}

/**
 * What is wrong with a path stored in a manifest, or undefined when it is
 * fine: the one rule for every manifest path, applied while decoding. RedDB's
 * rule (§6, §7) is relative and no `..` component. On top of it a stored
 * path must name a file: not empty and no NUL byte (no POSIX path holds
 * one), and no control character (RedDB never writes one, and a newline or
 * escape sequence would reach the operator's terminal). RedDB accepts `.` and
 * empty components (the `odd-but-legal-paths` fixture), and a backslash is an
 * ordinary character on POSIX, so those stay allowed.
 * Whether the path also stays inside its directory on disk (symlinks) is
 * checked at use, by fs/contained.ts.
 */
export function storedPathProblem(relative: string): string | undefined {
  if (relative === '') return 'is empty'
  if (relative.includes('\0')) return 'holds a NUL byte'
  if (/[\u0001-\u001f\u007f]/.test(relative)) return 'holds a control character'
  if (relative.startsWith('/')) return 'must be relative'
  return relative.split('/').includes('..') ? 'must not leave its directory (a ".." component)' : undefined
}
