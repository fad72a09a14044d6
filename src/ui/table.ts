import Table from 'cli-table3'

import {paint} from './style.js'

/** No rule between body rows: long tables stay readable. */
const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

export type Cell = string | number | bigint | boolean | null | undefined

function cellText(value: Cell): string {
  if (value === null || value === undefined) return '-'
  return String(value)
}

/** A bordered table with a bold header row. */
export function renderTable(head: string[], rows: Cell[][]): string {
  const table = new Table({
    head: head.map((title) => paint.bold(title)),
    style: {head: [], border: []},
    chars: COMPACT,
  })
  for (const row of rows) table.push(row.map(cellText))
  return table.toString()
}

/** Two columns: field name and value. */
export function renderFields(fields: Array<[string, Cell]>): string {
  const table = new Table({style: {head: [], border: []}, chars: COMPACT})
  for (const [name, value] of fields) table.push([paint.dim(name), cellText(value)])
  return table.toString()
}
