#!/usr/bin/env node
// `redrepl --version` is answered before oclif loads: it is what scripts
// and health checks call most, and it needs nothing but package.json.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`redrepl/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  const {execute} = await import('../dist/src/ui/oclif.js')
  await execute({dir: import.meta.url})
}
