import type {CandidateRow} from '../core/plan/promotion.js'
import {renderTable} from './table.js'

/** The candidate table `timeline candidates` and `timeline promote --dry-run` show: one row per replica and --auto's pick. */
export function candidateLines(report: {candidates: Array<CandidateRow & {lag_lsn?: bigint | null}>; auto_choice: string | null; catalog_timeline_adopted: boolean}, timeline: bigint): string[] {
  if (report.candidates.length === 0) return [`no replica acknowledged anything on timeline ${timeline}`]
  const withLag = report.candidates.some((row) => row.lag_lsn !== undefined)
  const table = renderTable(
    ['replica', 'applied', 'flushed', 'received', ...(withLag ? ['lag'] : []), 'from', 'also in', 'eligible', 'auto'],
    report.candidates.map((row) => [
      row.replica_id,
      row.applied_lsn,
      row.flushed_lsn,
      row.received_lsn,
      ...(withLag ? [row.lag_lsn ?? null] : []),
      row.position_source,
      row.sources.filter((ack) => ack.source !== row.position_source).map((ack) => `${ack.source} (applied ${ack.applied_lsn})`).join(', ') || null,
      row.eligible ? 'yes' : `no: ${row.ineligible_reason}`,
      row.chosen ? '*' : null,
    ]),
  )
  const lines = [table, report.auto_choice === null ? '--auto finds no eligible replica' : `--auto picks ${report.auto_choice}`]
  if (report.catalog_timeline_adopted) lines.push(`acks stamped with another timeline were adopted as timeline ${timeline}'s`)
  return lines
}
