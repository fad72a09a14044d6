import {usageError} from '../errors.js'
import {walSegmentCodec} from '../format/wal-segment.js'
import {readArtifact} from '../fs/read.js'
import {Layout} from '../layout.js'
import type {WalRecord} from '../model.js'
import {listWalSegments, readCurrentTimeline} from './node-state.js'

export interface DumpedRecord extends WalRecord {
  segment_path: string
  timeline: bigint
  segment_index: bigint
}

/** Every record of one segment file. */
export async function dumpSegmentFile(file: string): Promise<DumpedRecord[]> {
  const segment = await readArtifact(file, walSegmentCodec, {nowMs: 0n})
  return segment.records.map((record) => ({...record, segment_path: file, timeline: segment.timeline, segment_index: segment.segment_index}))
}

/** The records with fromLsn ≤ LSN ≤ toLsn across the current timeline's segments, in order. */
export async function dumpLsnRange(layout: Layout, fromLsn: bigint, toLsn: bigint): Promise<DumpedRecord[]> {
  if (toLsn < fromLsn) throw usageError(`--to-lsn ${toLsn} is below --from-lsn ${fromLsn}`)
  const timeline = await readCurrentTimeline(layout)
  const out: DumpedRecord[] = []
  for (const file of await listWalSegments(layout, timeline)) {
    for (const record of await dumpSegmentFile(file.path)) if (record.lsn >= fromLsn && record.lsn <= toLsn) out.push(record)
  }
  return out
}
