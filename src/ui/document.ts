import {renderFields, renderTable, type Cell} from './table.js'

const MAX_HEX = 32
const MAX_ROWS = 50

/** How much of a long value a human view shows; `--output wide` shows all of it. */
interface Limits {
  hex: number
  rows: number
}

const CUT: Limits = {hex: MAX_HEX, rows: MAX_ROWS}
const WHOLE: Limits = {hex: Number.POSITIVE_INFINITY, rows: Number.POSITIVE_INFINITY}

function shortHex(hex: string, limits: Limits): string {
  return hex.length <= limits.hex ? hex : `${hex.slice(0, limits.hex)}… (${hex.length / 2} bytes)`
}

function toCell(key: string, value: unknown, limits: Limits): Cell {
  if (typeof value === 'string' && key.endsWith('_hex')) return shortHex(value, limits)
  if (Array.isArray(value)) return `${value.length} item(s)`
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return value as Cell
}

/** The line after a list cut at `limits.rows`, naming what was left out. */
function moreLine(key: string, length: number, limits: Limits): string {
  return length > limits.rows ? `\n… ${length - limits.rows} more ${key} (use --output wide or --json for all)` : ''
}

/**
 * Renders any JSON model as tables: scalar fields in a field table, nested
 * objects as their own field tables, arrays as row tables. Long arrays are
 * cut at MAX_ROWS and hex at MAX_HEX characters, each with a count of what
 * was left out, unless `whole` (`--output wide`).
 */
export function renderDocument(document: Record<string, unknown>, title?: string, whole = false): string {
  const limits = whole ? WHOLE : CUT
  const out: string[] = []
  if (title) out.push(title)
  const scalars: Array<[string, Cell]> = []
  const nested: string[] = []
  for (const [key, value] of Object.entries(document)) {
    if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' && value[0] !== null) {
      const keys = Object.keys(value[0] as object)
      const rows = value.slice(0, limits.rows).map((item) => keys.map((k) => toCell(k, (item as Record<string, unknown>)[k], limits)))
      nested.push(`${key} (${value.length})\n${renderTable(keys, rows)}${moreLine(key, value.length, limits)}`)
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      const items = (value as string[]).slice(0, limits.rows).map((item, index) => [index, key.endsWith('_hex') ? shortHex(item, limits) : item] as Cell[])
      nested.push(`${key} (${value.length})${items.length > 0 ? `\n${renderTable(['#', 'value'], items)}${moreLine(key, value.length, limits)}` : ''}`)
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      nested.push(`${key}\n${renderFields(Object.entries(value).map(([k, v]) => [k, toCell(k, v, limits)]))}`)
    } else {
      scalars.push([key, toCell(key, value, limits)])
    }
  }
  if (scalars.length > 0) out.push(renderFields(scalars))
  out.push(...nested)
  return out.join('\n')
}
