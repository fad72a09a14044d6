/**
 * Reads the import arrows of a source tree and checks them against a table
 * of allowed arrows between areas (style.md §1 and §2). Kept apart from the
 * test that applies it to src/ so that the checker itself can be tried on a
 * small synthetic tree with planted violations.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

/** One import or re-export found in a source file. */
export interface ImportEdge {
  /** The importing file, relative to the tree's root, with `/` separators. */
  file: string
  line: number
  specifier: string
  /** The imported module, relative to the root without extension (`core/fs/read`), or a Node module name (`node:fs`). */
  target: string
}

/** A forbidden word in pure code, found where it is used. */
export interface WordUse {
  file: string
  line: number
  word: string
}

export interface LayerRules {
  /** Each area and the areas it may import (an area imports itself freely). */
  allowed: Readonly<Record<string, readonly string[]>>
  /** Node modules only these areas may import. */
  restrictedModules: Readonly<Record<string, readonly string[]>>
  /** Words the code of these areas must not use, e.g. `process.env` in pure code. */
  forbiddenWords: Readonly<Record<string, readonly string[]>>
  /** Arrows that break a rule for a stated reason: `file` (relative to the root) may import `target` (a module or an area). */
  exceptions: readonly {file: string; target: string; reason: string}[]
}

export interface Violation {
  file: string
  line: number
  /** The module imported (`core/fs/atomic`, `node:fs`) or the word used. */
  target: string
  rule: string
}

/** Every `.ts` file under `dir`, relative to it, sorted. */
export function sourceFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), {withFileTypes: true})
    .flatMap((entry) => {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`
      if (entry.isDirectory()) return sourceFiles(dir, rel)
      return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [rel] : []
    })
    .sort()
}

/** Blanks comments (not the inside of string literals), keeping every offset and newline where it was. */
export function stripComments(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]
    const next = text[i + 1]
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i)
      const stop = end < 0 ? text.length : end
      out += ' '.repeat(stop - i)
      i = stop
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else if (c === "'" || c === '"' || c === '`') {
      // Skip the literal whole so that `//` inside 'file://' is not read as a comment.
      let j = i + 1
      // A quote or double quote never spans lines; stopping there bounds a quote inside a regular expression.
      while (j < text.length && text[j] !== c && (c === '`' || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else {
      out += c
      i += 1
    }
  }
  return out
}

const STATIC = /(?:^|[;}\n])\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g
const BARE = /(?:^|[;}\n])\s*import\s*(['"])([^'"\n]+)\1/g
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g

const NODE_ALIASES: Readonly<Record<string, string>> = {
  fs: 'node:fs',
  'fs/promises': 'node:fs',
  'node:fs/promises': 'node:fs',
  child_process: 'node:child_process',
}

function lineAt(text: string, index: number): number {
  let line = 1
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

/** The imports (static, re-exports, side-effect and dynamic `import('…')`) of one file. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const code = stripComments(text)
  const edges: ImportEdge[] = []
  for (const pattern of [STATIC, BARE, DYNAMIC]) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[2]
      const at = match.index + match[0].lastIndexOf(specifier)
      let target: string
      if (specifier.startsWith('.')) {
        target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)).replace(/\.(js|ts)$/, '')
      } else {
        target = NODE_ALIASES[specifier] ?? specifier
      }
      edges.push({file, line: lineAt(code, at), specifier, target})
    }
  }
  return edges.sort((a, b) => a.line - b.line)
}

/** Uses of the given words in code (comments blanked). */
export function wordsIn(file: string, text: string, words: readonly string[]): WordUse[] {
  const code = stripComments(text)
  const uses: WordUse[] = []
  for (const word of words) {
    let at = code.indexOf(word)
    while (at >= 0) {
      uses.push({file, line: lineAt(code, at), word})
      at = code.indexOf(word, at + word.length)
    }
  }
  return uses
}

/**
 * The area a module belongs to: its folder under core/ (`core/fs`), a file
 * directly in core/ by its name (`core/errors`), or the top folder
 * (`commands`, `ui`, `hooks`); a file at the root is its own area.
 */
export function areaOf(module: string): string {
  const parts = module.split('/')
  if (parts[0] === 'core') return parts.length > 2 ? `core/${parts[1]}` : `core/${parts[1].replace(/\.ts$/, '')}`
  return parts.length > 1 ? parts[0] : module.replace(/\.ts$/, '')
}

function excepted(rules: LayerRules, file: string, target: string): boolean {
  return rules.exceptions.some((e) => e.file === file && (e.target === target || e.target === areaOf(target)))
}

/** Every arrow of the tree under `root` that the rules do not allow, named by file:line and rule. */
export function checkLayering(root: string, rules: LayerRules): Violation[] {
  const violations: Violation[] = []
  for (const file of sourceFiles(root)) {
    const text = readFileSync(path.join(root, file), 'utf8')
    const from = areaOf(file)
    for (const edge of importsOf(file, text)) {
      if (edge.specifier.startsWith('.')) {
        const to = areaOf(edge.target)
        if (to === from || excepted(rules, file, edge.target)) continue
        const allowed = rules.allowed[from]
        if (allowed === undefined) violations.push({file, line: edge.line, target: edge.target, rule: `${from} is in no row of the layering table`})
        else if (!allowed.includes(to)) violations.push({file, line: edge.line, target: edge.target, rule: `${from} must not import ${to} (${edge.specifier}); it may import ${allowed.join(', ') || 'nothing'}`})
      } else {
        const owners = rules.restrictedModules[edge.target]
        if (owners !== undefined && !owners.includes(from) && !excepted(rules, file, edge.target)) {
          violations.push({file, line: edge.line, target: edge.target, rule: `only ${owners.join(', ')} may import ${edge.target} (${edge.specifier})`})
        }
      }
    }
    const words = rules.forbiddenWords[from]
    if (words !== undefined) {
      for (const use of wordsIn(file, text, words)) {
        if (!excepted(rules, file, use.word)) violations.push({file, line: use.line, target: use.word, rule: `${from} is pure: it must not use ${use.word}`})
      }
    }
  }
  return violations
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `src/${v.file}:${v.line}: ${v.rule}`).join('\n')
}
