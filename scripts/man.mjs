// Generates man pages (roff) from the oclif manifest: man/redrepl.1 and one
// man/redrepl-<topic>-<verb>.1 per command.
import {mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'))
const manifest = JSON.parse(readFileSync(`${root}oclif.manifest.json`, 'utf8'))
const commands = Object.values(manifest.commands).filter((command) => !command.hidden).sort((a, b) => a.id.localeCompare(b.id))
const date = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date('2026-01-01T00:00:00Z')
const stamp = date.toISOString().slice(0, 10)

// Exit codes as src/core/errors.ts defines them; kept in one table here and in the README.
const EXIT_CODES = [
  ['0', 'success (for layout verify: no problem found)'],
  ['1', 'failure: an I/O error or an unexpected condition'],
  ['2', 'usage error: unknown flag, bad value, missing argument'],
  ['3', 'an artifact is corrupt or breaks a rule of the format'],
  ['4', 'refused by a safety check (live RedDB node, timeline mismatch, would overwrite)'],
  ['5', 'another redrepl run holds the layout lock'],
  ['6', 'nothing found: no such file, no layout at the data path, no such backup, manifest or replica'],
]

const esc = (text) =>
  String(text ?? '')
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (line.startsWith('.') || line.startsWith("'") ? `\\&${line}` : line))
    .join('\n')
const pageName = (id) => `${pkg.oclif.bin}-${id.replaceAll(':', '-')}`
const spaced = (id) => id.replaceAll(':', ' ')
const expand = (text) => String(text).replaceAll('<%= config.bin %>', pkg.oclif.bin)

function flagLine(name, flag) {
  const short = flag.char ? `\\-${flag.char}, ` : ''
  const value = flag.type === 'option' ? ` \\fI${esc(flag.helpValue ?? name.toUpperCase())}\\fR` : ''
  return `.TP\n.B ${short}\\-\\-${esc(name)}${value}\n`
}

function commandPage(command) {
  const out = [`.TH ${pageName(command.id).toUpperCase()} 1 "${stamp}" "${pkg.oclif.bin} ${pkg.version}" "redrepl manual"`]
  out.push('.SH NAME', `${esc(pageName(command.id))} \\- ${esc(command.summary ?? '')}`)
  const args = Object.values(command.args ?? {}).map((arg) => (arg.required ? arg.name.toUpperCase() : `[${arg.name.toUpperCase()}]`))
  out.push('.SH SYNOPSIS', `.B ${pkg.oclif.bin} ${esc(spaced(command.id))}`, `${esc([...args, '[FLAGS]'].join(' '))}`)
  if (command.description) out.push('.SH DESCRIPTION', ...command.description.split('\n\n').map((para) => `.PP\n${esc(para)}`))
  const argEntries = Object.values(command.args ?? {})
  if (argEntries.length > 0) {
    out.push('.SH ARGUMENTS')
    for (const arg of argEntries) out.push(`.TP\n.B ${esc(arg.name.toUpperCase())}\n${esc(arg.description ?? '')}`)
  }
  const flags = Object.entries(command.flags ?? {}).filter(([, flag]) => !flag.hidden)
  if (flags.length > 0) {
    out.push('.SH OPTIONS')
    for (const [name, flag] of flags) {
      const extras = []
      if (flag.options) extras.push(`One of: ${flag.options.join(', ')}.`)
      if (flag.default !== undefined && flag.default !== false) extras.push(`Default: ${flag.default}.`)
      if (flag.env) extras.push(`Environment: ${flag.env}.`)
      if (flag.allowNo) extras.push(`Negate with --no-${name}.`)
      if (flag.multiple) extras.push('May be repeated.')
      out.push(`${flagLine(name, flag)}${esc([flag.description ?? flag.summary ?? '', ...extras].join(' ').trim())}`)
    }
  }
  if (command.examples?.length) {
    out.push('.SH EXAMPLES')
    for (const example of command.examples) {
      const text = typeof example === 'string' ? example : `${example.description}\n${example.command}`
      out.push('.PP', '.nf', esc(expand(text)), '.fi')
    }
  }
  out.push(...environmentSection(), ...exitSection(command.exitStatus), '.SH SEE ALSO', `.BR ${pkg.oclif.bin} (1)`)
  return out.join('\n') + '\n'
}

function environmentSection() {
  return [
    '.SH ENVIRONMENT',
    '.TP\n.B REDDB_DATA_PATH\nThe data path when \\-\\-data\\-path is not given.',
    '.TP\n.B REDREPL_NOW_MS\nPins the current time (ms since the epoch) for reproducible output: new history entries, legacy slot defaults, created_at of new databases, the ages shown by basebackup list and check.',
    '.TP\n.B NO_COLOR\nDisables colour (colour is also off when stdout is not a terminal).',
  ]
}

/** A command whose codes differ from redrepl's own (check's Nagios states) declares them as `static exitStatus`. */
function exitSection(codes = EXIT_CODES) {
  return ['.SH EXIT STATUS', ...codes.map(([code, text]) => `.TP\n.B ${code}\n${esc(text)}`)]
}

function indexPage() {
  const out = [`.TH ${pkg.oclif.bin.toUpperCase()} 1 "${stamp}" "${pkg.oclif.bin} ${pkg.version}" "redrepl manual"`]
  out.push('.SH NAME', `${pkg.oclif.bin} \\- ${esc(pkg.description)}`)
  out.push('.SH SYNOPSIS', `.B ${pkg.oclif.bin}`, '\\fITOPIC VERB\\fR [FLAGS]')
  out.push(
    '.SH DESCRIPTION',
    `.PP\n${esc('redrepl reads and writes the on-disk replication state of a RedDB 1.12 node directly, byte-compatible with RedDB, so that a node started afterwards carries on as if it had done the work itself. Every path derives from the node\'s data path (--data-path or REDDB_DATA_PATH). Every command takes --json to print one JSON document with exact integers.')}`,
  )
  out.push('.SH COMMANDS')
  for (const command of commands) out.push(`.TP\n.BR ${esc(pageName(command.id))} (1)\n${esc(command.summary ?? '')}`)
  out.push(...environmentSection(), ...exitSection())
  return out.join('\n') + '\n'
}

mkdirSync(`${root}man`, {recursive: true})
for (const name of readdirSync(`${root}man`)) if (name.endsWith('.1')) rmSync(`${root}man/${name}`)
writeFileSync(`${root}man/${pkg.oclif.bin}.1`, indexPage())
for (const command of commands) writeFileSync(`${root}man/${pageName(command.id)}.1`, commandPage(command))
