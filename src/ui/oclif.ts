import {fileURLToPath} from 'node:url'

import {loadBundle} from './bundle.js'

/**
 * @oclif/core as one pre-bundled file (built by scripts/build.mjs): the
 * package and its dependencies are some 160 CommonJS modules, and resolving
 * and compiling them was most of every command's start-up. Same code, same
 * API. The build also leaves V8's code cache of the bundle beside it, so
 * a run starts from compiled code rather than compiling it again.
 */
const bundle = fileURLToPath(new URL('../../vendor/oclif-core.cjs', import.meta.url))
const oclif = loadBundle(bundle, bundle.replace(/\.cjs$/, '.cache')).exports as typeof import('@oclif/core')

export const {Args, Command, execute, Flags, loadHelpClass, Parser} = oclif
