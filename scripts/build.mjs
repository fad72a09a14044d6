// Build: compile TypeScript, bundle @oclif/core into one file, then write the
// oclif manifest (fast start: oclif loads a command's module only when it
// runs) and the man pages.
import {execFileSync} from 'node:child_process'
import {buildSync} from 'esbuild'
import {rmSync} from 'node:fs'
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
rmSync(`${root}oclif.manifest.json`, {force: true})
run(process.execPath, [`${root}scripts/manifest.mjs`])
run(process.execPath, [`${root}scripts/man.mjs`])
