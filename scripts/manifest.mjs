// Writes oclif.manifest.json from the compiled commands' metadata.
import {Config} from '@oclif/core'
import {writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const config = await Config.load({root})
const plugin = config.plugins.get(config.pjson.name)
writeFileSync(`${root}oclif.manifest.json`, JSON.stringify(plugin.manifest, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2) + '\n')
