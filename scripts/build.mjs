// Build: compile TypeScript, bundle @oclif/core into one file, then write the
// oclif manifest (fast start: oclif loads a command's module only when it
// runs) and the man pages.
import {execFileSync} from 'node:child_process'
import {buildSync} from 'esbuild'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const run = (file, args) => execFileSync(file, args, {cwd: root, stdio: 'inherit'})

run(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', root])
// One file instead of ~160 modules: loading oclif is most of a command's start-up.
// oclif loads TypeScript compilers only for plugins shipped as .ts; ours are compiled.
buildSync({
  entryPoints: [`${root}node_modules/@oclif/core/lib/index.js`],
  outfile: `${root}dist/vendor/oclif-core.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['typescript', 'ts-node', 'tsx'],
  logLevel: 'warning',
})
// Node 20 loses a script's dynamic-import callback when V8 starts it from a
// code cache: the bundle's `import()` calls go through a parameter instead
// (src/ui/bundle.ts), and no other may be left.
const bundle = `${root}dist/vendor/oclif-core.cjs`
const rewritten = readFileSync(bundle, 'utf8').replaceAll('await import(', 'await __redreplImport(')
if (/[^\w$."]import\(/.test(rewritten)) throw new Error(`${bundle}: an import() the build does not rewrite`)
writeFileSync(bundle, rewritten)
rmSync(`${root}oclif.manifest.json`, {force: true})
run(process.execPath, [`${root}scripts/manifest.mjs`])
// V8's code cache of the bundle, taken by this Node after a --help run.
run(process.execPath, [`${root}scripts/code-cache.mjs`])
run(process.execPath, [`${root}scripts/man.mjs`])
