import {currentTimeline} from '../../format/timeline-history.js'
import {Layout} from '../../layout.js'
import type {TimelineEntry} from '../../model.js'
import {readHistory} from '../node/state.js'

export interface TimelineReport {
  history_path: string
  /** False when the history file does not exist: the node is then on timeline 1. */
  history_exists: boolean
  timeline: bigint
  entries: Array<TimelineEntry & {current: boolean}>
}

/** The node's timeline history, with the current timeline marked. */
export async function showTimeline(layout: Layout): Promise<TimelineReport> {
  const history = await readHistory(layout)
  const current = currentTimeline(history)
  return {
    history_path: layout.historyPath,
    history_exists: history !== null,
    timeline: current,
    entries: (history?.entries ?? []).map((entry) => ({...entry, current: entry.timeline === current})),
  }
}
