// Build: compile TypeScript, then write the oclif manifest (fast start: oclif
// loads a command's module only when it runs) and the man pages.
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const run = (file, args) => execFileSync(file, args, {cwd: root, stdio: 'inherit'})

run(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', root])
rmSync(`${root}oclif.manifest.json`, {force: true})
run(process.execPath, [`${root}scripts/manifest.mjs`])
run(process.execPath, [`${root}scripts/man.mjs`])
