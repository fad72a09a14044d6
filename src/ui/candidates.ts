import type {CandidateRow} from '../core/plan/promotion.js'
import {renderColumns, tableOf, type Column, type TableView} from './table.js'

type Candidate = CandidateRow & {lag_lsn?: bigint | null}
interface CandidateReport {
  candidates: Candidate[]
  auto_choice: string | null
  catalog_timeline_adopted: boolean
}

const LAG: Column<Candidate> = {header: 'lag', value: (row) => row.lag_lsn ?? null, key: 'lag_lsn', priority: 1}

const CANDIDATE_COLUMNS: Array<Column<Candidate>> = [
  {header: 'replica', value: (row) => row.replica_id, priority: 1},
  {header: 'applied', value: (row) => row.applied_lsn, key: 'applied_lsn', priority: 1},
  {header: 'flushed', value: (row) => row.flushed_lsn, key: 'flushed_lsn', priority: 2},
  {header: 'received', value: (row) => row.received_lsn, key: 'received_lsn', priority: 3},
  {header: 'from', value: (row) => row.position_source, key: 'position_source', priority: 3},
  {
    header: 'also in',
    value: (row) => row.sources.filter((ack) => ack.source !== row.position_source).map((ack) => `${ack.source} (applied ${ack.applied_lsn})`).join(', ') || null,
    priority: 4,
  },
  {header: 'eligible', value: (row) => (row.eligible ? 'yes' : `no: ${row.ineligible_reason}`), raw: (row) => row.eligible, priority: 1},
  {header: 'ineligible reason', value: (row) => row.ineligible_reason ?? null, key: 'ineligible_reason', onlyInTsv: true, priority: 4},
  {header: 'auto', value: (row) => (row.chosen ? '*' : null), raw: (row) => row.chosen, key: 'chosen', priority: 1},
]

/** The candidate table, with the lag column when the rows carry one (timeline candidates, not promote). */
export function candidateTable(report: Pick<CandidateReport, 'candidates'>): TableView<Candidate> {
  const withLag = report.candidates.some((row) => row.lag_lsn !== undefined)
  return tableOf(withLag ? [...CANDIDATE_COLUMNS.slice(0, 4), LAG, ...CANDIDATE_COLUMNS.slice(4)] : CANDIDATE_COLUMNS, report.candidates)
}

/** The candidate table `timeline candidates` and `timeline promote --dry-run` show: one row per replica and --auto's pick. */
export function candidateLines(report: CandidateReport, timeline: bigint): string[] {
  if (report.candidates.length === 0) return [`no replica acknowledged anything on timeline ${timeline}`]
  const lines = [renderColumns(candidateTable(report)), report.auto_choice === null ? '--auto finds no eligible replica' : `--auto picks ${report.auto_choice}`]
  if (report.catalog_timeline_adopted) lines.push(`acks stamped with another timeline were adopted as timeline ${timeline}'s`)
  return lines
}
