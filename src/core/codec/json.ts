import {U64_MAX} from './limits.js'

/**
 * Lossless JSON. Integer literals (no fraction, no exponent) parse to
 * `bigint` so u64/u128 values survive; any other number parses to a JS
 * `number` (including `-0`, which is not an unsigned integer). A repeated
 * key keeps its last value.
 */
export type JsonValue = null | boolean | string | number | bigint | JsonValue[] | {[key: string]: JsonValue}
export type JsonObject = {[key: string]: JsonValue}

export class JsonSyntaxError extends Error {}

const MAX_DEPTH = 128

export function parseJson(text: string): JsonValue {
  let at = 0
  let depth = 0

  const fail = (what: string): never => {
    let line = 1
    let column = 1
    for (let i = 0; i < at && i < text.length; i++) {
      if (text[i] === '\n') {
        line++
        column = 1
      } else column++
    }
    throw new JsonSyntaxError(`${what} at line ${line} column ${column}`)
  }

  const skipSpace = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at)
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++
      else break
    }
  }

  const literal = (word: string, value: JsonValue): JsonValue => {
    if (text.startsWith(word, at)) {
      at += word.length
      return value
    }
    return fail('expected value')
  }

  const number = (): number | bigint => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 4096))
    if (!match) return fail('invalid number')
    at += match[0].length
    if (match[2] === undefined && match[3] === undefined) {
      const value = BigInt(match[0])
      return value === 0n && match[0].startsWith('-') ? -0 : value
    }
    return Number(match[0])
  }

  const string = (): string => {
    at++ // opening quote
    let out = ''
    let runStart = at
    for (;;) {
      if (at >= text.length) return fail('EOF while parsing a string')
      const c = text.charCodeAt(at)
      if (c === 0x22) {
        out += text.slice(runStart, at)
        at++
        return out
      }
      if (c < 0x20) return fail('control character in string')
      if (c !== 0x5c) {
        at++
        continue
      }
      out += text.slice(runStart, at)
      const escape = text[at + 1]
      at += 2
      switch (escape) {
        case '"': out += '"'; break
        case '\\': out += '\\'; break
        case '/': out += '/'; break
        case 'b': out += '\b'; break
        case 'f': out += '\f'; break
        case 'n': out += '\n'; break
        case 'r': out += '\r'; break
        case 't': out += '\t'; break
        case 'u': {
          const unit = hexUnit()
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[at] !== '\\' || text[at + 1] !== 'u') return fail('lone leading surrogate in hex escape')
            at += 2
            const low = hexUnit()
            if (low < 0xdc00 || low > 0xdfff) return fail('lone leading surrogate in hex escape')
            out += String.fromCharCode(unit, low)
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            return fail('lone trailing surrogate in hex escape')
          } else out += String.fromCharCode(unit)
          break
        }
        default:
          return fail('invalid escape')
      }
      runStart = at
    }
  }

  const hexUnit = (): number => {
    const digits = text.slice(at, at + 4)
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) return fail('invalid escape')
    at += 4
    return Number.parseInt(digits, 16)
  }

  const value = (): JsonValue => {
    skipSpace()
    const c = text[at]
    if (c === '{') return object()
    if (c === '[') return array()
    if (c === '"') return string()
    if (c === 't') return literal('true', true)
    if (c === 'f') return literal('false', false)
    if (c === 'n') return literal('null', null)
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    return fail(at >= text.length ? 'EOF while parsing a value' : 'expected value')
  }

  const nest = () => {
    if (++depth > MAX_DEPTH) fail('recursion limit exceeded')
  }

  const array = (): JsonValue[] => {
    nest()
    at++
    const out: JsonValue[] = []
    skipSpace()
    if (text[at] === ']') {
      at++
      depth--
      return out
    }
    for (;;) {
      out.push(value())
      skipSpace()
      if (text[at] === ',') at++
      else if (text[at] === ']') {
        at++
        depth--
        return out
      } else return fail('expected `,` or `]`')
    }
  }

  const object = (): JsonObject => {
    nest()
    at++
    const out: JsonObject = {}
    skipSpace()
    if (text[at] === '}') {
      at++
      depth--
      return out
    }
    for (;;) {
      skipSpace()
      if (text[at] !== '"') return fail('key must be a string')
      const key = string()
      skipSpace()
      if (text[at] !== ':') return fail('expected `:`')
      at++
      // defineProperty, so a "__proto__" key is data, never a prototype.
      Object.defineProperty(out, key, {value: value(), enumerable: true, writable: true, configurable: true})
      skipSpace()
      if (text[at] === ',') at++
      else if (text[at] === '}') {
        at++
        depth--
        return out
      } else return fail('expected `,` or `}`')
    }
  }

  const result = value()
  skipSpace()
  if (at < text.length) fail('trailing characters')
  return result
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value as an unsigned integer no larger than `max`, else undefined. */
export function asUnsigned(value: JsonValue | undefined, max = U64_MAX): bigint | undefined {
  return typeof value === 'bigint' && value >= 0n && value <= max ? value : undefined
}

function quote(text: string): string {
  // JSON.stringify escapes exactly what serde_json escapes for well-formed strings.
  return JSON.stringify(text)
}

/** Pieces of at most about this many characters are handed to a JSON sink. */
const SINK_PIECE_CHARS = 1 << 16

/**
 * Serialises with bigint as exact integer literals, handing the text to
 * `sink` in pieces of about 64 KiB: a document of 100,000 segments is never
 * held whole, so its pieces die young instead of surviving garbage
 * collections. `indent` 0 is compact; otherwise the layout is serde_json's
 * pretty form (`"key": value`).
 */
export function writeJson(value: unknown, sink: (piece: string) => void, indent = 2, sortKeys = false): void {
  let out = ''
  const colon = indent > 0 ? ': ' : ':'
  const indents: string[] = []
  const indentOf = (depth: number) => (indents[depth] ??= indent > 0 ? `\n${' '.repeat(indent * depth)}` : '')
  const write = (item: unknown, depth: number): void => {
    if (item === null || item === undefined) {
      out += 'null'
      return
    }
    switch (typeof item) {
      case 'bigint':
        out += item.toString()
        return
      case 'number':
        if (!Number.isFinite(item)) throw new TypeError('non-finite number in JSON output')
        out += JSON.stringify(item)
        return
      case 'boolean':
        out += item ? 'true' : 'false'
        return
      case 'string':
        out += quote(item)
        return
      case 'object':
        break
      default:
        throw new TypeError(`cannot serialise ${typeof item} as JSON`)
    }
    if (out.length >= SINK_PIECE_CHARS) {
      sink(out)
      out = ''
    }
    const inner = indentOf(depth + 1)
    if (Array.isArray(item)) {
      if (item.length === 0) {
        out += '[]'
        return
      }
      out += '['
      for (let i = 0; i < item.length; i++) {
        out += i === 0 ? inner : `,${inner}`
        write(item[i], depth + 1)
      }
      out += `${indentOf(depth)}]`
      return
    }
    const record = item as Record<string, unknown>
    let keys = Object.keys(record)
    if (sortKeys) keys = keys.sort(compareUtf8)
    let first = true
    for (const key of keys) {
      if (record[key] === undefined) continue
      out += (first ? `{${inner}` : `,${inner}`) + quote(key) + colon
      first = false
      write(record[key], depth + 1)
    }
    out += first ? '{}' : `${indentOf(depth)}}`
  }
  write(value, 0)
  if (out.length > 0) sink(out)
}

/** writeJson into one string. */
export function stringifyJson(value: unknown, indent = 2, sortKeys = false): string {
  const pieces: string[] = []
  writeJson(value, (piece) => pieces.push(piece), indent, sortKeys)
  return pieces.join('')
}

/** Orders strings by their UTF-8 bytes (as Rust's String ordering does). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
