import {renderFields, renderTable, type Cell} from './table.js'

const MAX_HEX = 32
const MAX_ROWS = 50

function shortHex(hex: string): string {
  return hex.length <= MAX_HEX ? hex : `${hex.slice(0, MAX_HEX)}… (${hex.length / 2} bytes)`
}

function toCell(key: string, value: unknown): Cell {
  if (typeof value === 'string' && key.endsWith('_hex')) return shortHex(value)
  if (Array.isArray(value)) return `${value.length} item(s)`
  if (typeof value === 'object' && value !== null) return JSON.stringify(value)
  return value as Cell
}

/**
 * Renders any JSON model as tables: scalar fields in a field table, nested
 * objects as their own field tables, arrays of objects as row tables (long
 * ones cut at MAX_ROWS with a count of what was left out).
 */
export function renderDocument(document: Record<string, unknown>, title?: string): string {
  const out: string[] = []
  if (title) out.push(title)
  const scalars: Array<[string, Cell]> = []
  const nested: string[] = []
  for (const [key, value] of Object.entries(document)) {
    if (Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' && value[0] !== null) {
      const keys = Object.keys(value[0] as object)
      const rows = value.slice(0, MAX_ROWS).map((item) => keys.map((k) => toCell(k, (item as Record<string, unknown>)[k])))
      const more = value.length > MAX_ROWS ? `\n… ${value.length - MAX_ROWS} more ${key} (use --json for all)` : ''
      nested.push(`${key} (${value.length})\n${renderTable(keys, rows)}${more}`)
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      const items = (value as string[]).map((item, index) => [index, key.endsWith('_hex') ? shortHex(item) : item] as Cell[])
      nested.push(`${key} (${value.length})${items.length > 0 ? `\n${renderTable(['#', 'value'], items.slice(0, MAX_ROWS))}` : ''}`)
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      nested.push(`${key}\n${renderFields(Object.entries(value).map(([k, v]) => [k, toCell(k, v)]))}`)
    } else {
      scalars.push([key, toCell(key, value)])
    }
  }
  if (scalars.length > 0) out.push(renderFields(scalars))
  out.push(...nested)
  return out.join('\n')
}
