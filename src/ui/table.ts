import {createRequire} from 'node:module'

import {paint} from './style.js'

/**
 * Tables for people and for programs. A command declares its columns once
 * (header, value, priority); the human table fits the width it is given by
 * dropping the least important columns, then wrapping long cells, and says
 * what it hid; --output tsv prints every column of the same rows, exact and
 * uncoloured.
 */

// cli-table3 is loaded on the first table only: --json runs never need it.
const require = createRequire(import.meta.url)
let Table: typeof import('cli-table3') | undefined
const table = (options: ConstructorParameters<typeof import('cli-table3')>[0]) => new (Table ??= require('cli-table3') as typeof import('cli-table3'))(options)

/** No rule between body rows: long tables stay readable. */
const COMPACT = {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''}

export type Cell = string | number | bigint | boolean | null | undefined

export interface Column<Row> {
  header: string
  /** What a person reads: rounded sizes, ages, marks, colour. */
  value: (row: Row) => Cell
  /** The exact value --output tsv prints when `value` rounds or decorates it. */
  raw?: (row: Row) => Cell
  /** The TSV header when the raw value has a unit the header does not say (size_bytes); default: the header in snake_case. */
  key?: string
  /** 1: always shown. When the table is too wide the highest number goes first (ties: the rightmost). */
  priority: number
  /** A fact the human table marks inside another cell (`replica-b *`), which TSV needs as a column of its own. */
  onlyInTsv?: boolean
}

export interface TableView<Row = any> {
  columns: ReadonlyArray<Column<Row>>
  rows: readonly Row[]
}

/** Pairs columns with rows, with the row type checked against the columns. */
export const tableOf = <Row>(columns: ReadonlyArray<Column<Row>>, rows: readonly Row[]): TableView<Row> => ({columns, rows})

/** Width of one border plus the padding on both sides of a cell (cli-table3's defaults). */
const CELL_FRAME = 3
/** A column wrapped narrower than this is no longer readable; past it the table overflows instead. */
const MIN_WRAP = 8

let targetWidth = Number.POSITIVE_INFINITY

/** The width human tables fit from now on (Infinity: never narrowed); set once per run by RedreplCommand.emit. */
export function setTableWidth(width: number): void {
  targetWidth = width
}

const ANSI = /\u001B\[[0-9;]*m/g

/** Columns a string takes on a terminal: colour codes take none; the widest line of a multi-line cell. */
export function displayWidth(text: string): number {
  return Math.max(0, ...text.replace(ANSI, '').split('\n').map((line) => [...line].length))
}

function cellText(value: Cell): string {
  if (value === null || value === undefined) return '-'
  return String(value)
}

/** The table's total width with these content widths. */
const framedWidth = (widths: readonly number[]) => 1 + widths.reduce((sum, w) => sum + w + CELL_FRAME, 0)

export interface Fit {
  /** Indices of the columns shown, in their order. */
  shown: number[]
  /** Content width of each shown column (below its natural width: wrapped). */
  widths: number[]
}

/**
 * Which columns fit `width` and how wide each may be: drop the
 * highest-priority-number columns (ties: the rightmost) while the table is
 * too wide, never a priority 1 column; then narrow the widest columns
 * together, none below MIN_WRAP (or its natural width if smaller). A table
 * that still does not fit is left wider than asked: the values stay whole.
 */
export function fitColumns(natural: readonly number[], priorities: readonly number[], width: number): Fit {
  const shown = natural.map((_, index) => index)
  const widthOf = () => framedWidth(shown.map((index) => natural[index]))
  while (widthOf() > width) {
    let drop = -1
    for (const index of shown) if (priorities[index] > 1 && (drop === -1 || priorities[index] >= priorities[drop])) drop = index
    if (drop === -1) break
    shown.splice(shown.indexOf(drop), 1)
  }
  const wanted = shown.map((index) => natural[index])
  if (framedWidth(wanted) <= width) return {shown, widths: wanted}
  const floor = wanted.map((w) => Math.min(w, MIN_WRAP))
  let cap = Math.max(...wanted)
  const capped = () => wanted.map((w, i) => Math.max(floor[i], Math.min(w, cap)))
  while (cap > MIN_WRAP && framedWidth(capped()) > width) cap--
  return {shown, widths: capped()}
}

/** Breaks text into lines of at most `width` columns, at spaces where it can, inside a word where it must. */
export function wrapText(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  const lines: string[] = []
  for (const paragraph of text.replace(ANSI, '').split('\n')) {
    let line = ''
    for (const word of paragraph.split(' ')) {
      const candidate = line === '' ? word : `${line} ${word}`
      if ([...candidate].length <= width) {
        line = candidate
        continue
      }
      if (line !== '') lines.push(line)
      let rest = [...word]
      while (rest.length > width) {
        lines.push(rest.slice(0, width).join(''))
        rest = rest.slice(width)
      }
      line = rest.join('')
    }
    lines.push(line)
  }
  return lines.join('\n')
}

/**
 * The human table, fitted to the width set by setTableWidth (or `width`),
 * with a footer naming the columns it hid.
 */
export function renderColumns<Row>(full: TableView<Row>, width = targetWidth): string {
  const view = {columns: full.columns.filter((column) => !column.onlyInTsv), rows: full.rows}
  const body = view.rows.map((row) => view.columns.map((column) => cellText(column.value(row))))
  const natural = view.columns.map((column, index) => Math.max(displayWidth(column.header), ...body.map((cells) => displayWidth(cells[index]))))
  const fit = fitColumns(
    natural,
    view.columns.map((column) => column.priority),
    width,
  )
  const out = table({
    head: fit.shown.map((index, at) => paint.bold(wrapText(view.columns[index].header, fit.widths[at]))),
    style: {head: [], border: []},
    chars: COMPACT,
  })
  for (const cells of body) out.push(fit.shown.map((index, at) => wrapText(cells[index], fit.widths[at])))
  const hidden = view.columns.filter((_, index) => !fit.shown.includes(index)).map((column) => column.header)
  if (hidden.length === 0) return out.toString()
  return `${out.toString()}\n${paint.dim(`${hidden.length} column${hidden.length === 1 ? '' : 's'} hidden (${hidden.join(', ')}); --output wide shows all`)}`
}

/** A table of positional cells whose first column always stays and whose later ones go from the right when it is too wide. */
export function renderTable(head: string[], rows: Cell[][]): string {
  return renderColumns(tableOf(head.map((header, index) => ({header, value: (row: Cell[]) => row[index], priority: index === 0 ? 1 : index + 1})), rows))
}

/** Two columns, field name and value; a long value wraps. */
export function renderFields(fields: Array<[string, Cell]>): string {
  const names = fields.map(([name]) => name)
  const values = fields.map(([, value]) => cellText(value))
  const natural = [Math.max(0, ...names.map(displayWidth)), Math.max(0, ...values.map(displayWidth))]
  const {widths} = fitColumns(natural, [1, 1], targetWidth)
  const out = table({style: {head: [], border: []}, chars: COMPACT})
  fields.forEach((_, index) => out.push([paint.dim(wrapText(names[index], widths[0])), wrapText(values[index], widths[1])]))
  return out.toString()
}

/**
 * One TSV field: a backslash, tab, newline or carriage return inside a value
 * is written as \\, \t, \n or \r (PostgreSQL's COPY text format), so every
 * row is one line and every tab separates fields. An absent value is empty.
 */
export function tsvField(value: Cell): string {
  if (value === null || value === undefined) return ''
  return String(value).replace(/[\\\t\n\r]/g, (char) => ({'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'})[char] as string)
}

const snakeCase = (header: string) =>
  header
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')

/** Every column, a header line of snake_case names, then one line per row. */
export function renderTsv<Row>(view: TableView<Row>): string {
  const lines = [view.columns.map((column) => tsvField(column.key ?? snakeCase(column.header))).join('\t')]
  for (const row of view.rows) lines.push(view.columns.map((column) => tsvField((column.raw ?? column.value)(row))).join('\t'))
  return `${lines.join('\n')}\n`
}

/**
 * A report that is not a table as `field<TAB>value` lines, one per leaf of
 * the JSON document: nested names joined with dots, array items by index
 * (slots.0.replica_id), exact integers; an empty array or object is one line
 * with an empty value, so every field of the document is named.
 */
export function renderFieldTsv(document: unknown): string {
  const lines = ['field\tvalue']
  const visit = (name: string, value: unknown): void => {
    if (value !== null && typeof value === 'object') {
      const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value)
      if (entries.length === 0 && name !== '') lines.push(`${tsvField(name)}\t`)
      for (const [key, item] of entries) visit(name === '' ? key : `${name}.${key}`, item)
      return
    }
    lines.push(`${tsvField(name)}\t${tsvField(value as Cell)}`)
  }
  visit('', document)
  return `${lines.join('\n')}\n`
}
