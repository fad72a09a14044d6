#!/usr/bin/env node
// Runs the CLI from the compiled tree after a fresh build, for development.
import {execSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

execSync('node scripts/build.mjs', {cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit'})
const {execute} = await import('@oclif/core')
await execute({development: false, dir: import.meta.url})
