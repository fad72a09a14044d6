import {usageError} from '../errors.js'
import {basebackupManifestName, pad20, storedPathProblem, parseBasebackupName, parseTimelineDirName, parseWalSegmentName, TIMELINE_HISTORY_FILE} from '../layout.js'

/**
 * Object names in a repository. Each node has its own namespace, and under
 * it the names mirror the node's layout root, so a restore is a copy back:
 *
 *   <node>/replica-set.facts               (format/repo-facts.ts: written after the objects it describes)
 *   <node>/push-status.facts               (format/repo-status.ts: the last push's outcome)
 *   <node>/timeline-history.redtimeline
 *   <node>/timeline-<T:020>/basebackup/base-<start:020>-<checkpoint:020>.redbase
 *   <node>/timeline-<T:020>/basebackup/<chunk relative_path from the manifest>
 *   <node>/timeline-<T:020>/basebackup/base-….redbase.pieces  (a backup stored as pieces: its piece index)
 *   <node>/packs/<ab>/<sha256>.redpack    (a pack of pieces, by its content, shared by every backup that names one of them)
 *   <node>/pieces/<ab>/<sha256>.redpiece  (a piece stored alone, as the release before packs did)
 *   <node>/timeline-<T:020>/wal/<i:020>.redwal
 *
 * A manifest is written after every chunk it names and deleted before them,
 * so a listing that shows a manifest shows a whole backup.
 */

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export function checkNodeName(name: string): string {
  if (!NODE_NAME.test(name)) throw usageError(`node name ${JSON.stringify(name)} must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit`)
  return name
}

/** A key is a relative `/`-path with no empty, `.` or `..` component. */
export function checkKey(key: string): string {
  if (key === '' || storedPathProblem(key) !== undefined || key.split('/').some((part) => part === '' || part === '.' || part.includes('\0'))) {
    throw usageError(`repository key ${JSON.stringify(key)} is not a plain relative name`)
  }
  return key
}

export class RepoKeys {
  constructor(readonly node: string) {
    checkNodeName(node)
  }

  get prefix(): string {
    return `${this.node}/`
  }

  /** The namespace's facts object: redrepl's own name, never compressed, never taken for RedDB's. */
  get facts(): string {
    return `${this.node}/replica-set.facts`
  }

  /** When `repo push` last succeeded and last failed (format/repo-status.ts). */
  get status(): string {
    return `${this.node}/push-status.facts`
  }

  get history(): string {
    return `${this.node}/${TIMELINE_HISTORY_FILE}`
  }

  timelinePrefix(timeline: bigint): string {
    return `${this.node}/timeline-${pad20(timeline)}/`
  }

  basebackupPrefix(timeline: bigint): string {
    return `${this.timelinePrefix(timeline)}basebackup/`
  }

  manifest(timeline: bigint, startLsn: bigint, checkpointLsn: bigint): string {
    return `${this.basebackupPrefix(timeline)}${basebackupManifestName(startLsn, checkpointLsn)}`
  }

  /** A chunk's key from its manifest path, which §6 keeps relative and free of `..`. */
  chunk(timeline: bigint, relativePath: string): string {
    return checkKey(`${this.basebackupPrefix(timeline)}${relativePath}`)
  }

  /** Where the namespace's content-addressed pieces live, shared by every backup of it (repo/pieces.ts). */
  get piecesPrefix(): string {
    return `${this.node}/pieces/`
  }

  /** A piece by the SHA-256 of its bytes, fanned out by its first two hex digits. */
  piece(sha256: string): string {
    return `${this.piecesPrefix}${sha256.slice(0, 2)}/${sha256}.redpiece`
  }

  /** Whether a key has a piece's name: under the pieces area, fanned out by its own first two hex digits. */
  isPiece(key: string): boolean {
    if (!key.startsWith(this.piecesPrefix)) return false
    const match = /^([0-9a-f]{2})\/([0-9a-f]{64})\.redpiece$/.exec(key.slice(this.piecesPrefix.length))
    return match !== null && match[2].startsWith(match[1])
  }

  /** Where the namespace's packs of pieces live (format/pack.ts). */
  get packsPrefix(): string {
    return `${this.node}/packs/`
  }

  /** A pack by the SHA-256 of all its bytes, fanned out by its first two hex digits. */
  pack(sha256: string): string {
    return `${this.packsPrefix}${sha256.slice(0, 2)}/${sha256}.redpack`
  }

  /** The pack's SHA-256 when a key has a pack's name, else undefined. */
  packOf(key: string): string | undefined {
    if (!key.startsWith(this.packsPrefix)) return undefined
    const match = /^([0-9a-f]{2})\/([0-9a-f]{64})\.redpack$/.exec(key.slice(this.packsPrefix.length))
    return match !== null && match[2].startsWith(match[1]) ? match[2] : undefined
  }

  /** A backup's piece index, beside its manifest (format/piece-index.ts). */
  pieceIndex(manifestKey: string): string {
    return `${manifestKey}.pieces`
  }

  walPrefix(timeline: bigint): string {
    return `${this.timelinePrefix(timeline)}wal/`
  }

  wal(timeline: bigint, index: bigint): string {
    return `${this.walPrefix(timeline)}${pad20(index)}.redwal`
  }

  /** What a listed key names in this node's namespace; chunks and unknown names are 'other'. */
  classify(key: string):
    | {kind: 'history'}
    | {kind: 'manifest'; timeline: bigint; start_lsn: bigint; checkpoint_lsn: bigint}
    | {kind: 'wal'; timeline: bigint; index: bigint}
    | {kind: 'other'} {
    if (key === this.history) return {kind: 'history'}
    const parts = key.slice(this.prefix.length).split('/')
    if (!key.startsWith(this.prefix) || parts.length !== 3) return {kind: 'other'}
    const timeline = parseTimelineDirName(parts[0])
    if (timeline === undefined) return {kind: 'other'}
    if (parts[1] === 'basebackup') {
      const backup = parseBasebackupName(parts[2])
      if (backup) return {kind: 'manifest', timeline, start_lsn: backup.startLsn, checkpoint_lsn: backup.checkpointLsn}
    }
    if (parts[1] === 'wal') {
      const index = parseWalSegmentName(parts[2])
      if (index !== undefined) return {kind: 'wal', timeline, index}
    }
    return {kind: 'other'}
  }
}
