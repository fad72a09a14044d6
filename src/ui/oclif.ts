import {createRequire} from 'node:module'

/**
 * @oclif/core as one pre-bundled file (built by scripts/build.mjs): the
 * package and its dependencies are some 160 CommonJS modules, and resolving
 * and compiling them was most of every command's start-up. Same code, same
 * API.
 */
const oclif = createRequire(import.meta.url)('../../vendor/oclif-core.cjs') as typeof import('@oclif/core')

export const {Args, Command, execute, Flags, loadHelpClass, Parser} = oclif
