import {createRequire} from 'node:module'

import {paint} from './style.js'

// cli-table3 is loaded on the first table only: --json runs never need it.
const require = createRequire(import.meta.url)
let Table: typeof import('cli-table3') | undefined
const table = (options: ConstructorParameters<typeof import('cli-table3')>[0]) => new (Table ??= require('cli-table3') as typeof import('cli-table3'))(options)

/** No rule between body rows: long tables stay readable. */
const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

export type Cell = string | number | bigint | boolean | null | undefined

function cellText(value: Cell): string {
  if (value === null || value === undefined) return '-'
  return String(value)
}

/** A bordered table with a bold header row. */
export function renderTable(head: string[], rows: Cell[][]): string {
  const out = table({
    head: head.map((title) => paint.bold(title)),
    style: {head: [], border: []},
    chars: COMPACT,
  })
  for (const row of rows) out.push(row.map(cellText))
  return out.toString()
}

/** Two columns: field name and value. */
export function renderFields(fields: Array<[string, Cell]>): string {
  const out = table({style: {head: [], border: []}, chars: COMPACT})
  for (const [name, value] of fields) out.push([paint.dim(name), cellText(value)])
  return out.toString()
}
