import assert from 'node:assert/strict'
import {execa} from 'execa'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {fixturePath, repoRoot} from '../support/fixtures.js'
import {useScratch} from '../support/cli.js'

const scratch = useScratch()
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {name: string; version: string; man: string[]; dependencies: Record<string, string>}

/**
 * The tarball `npm pack` makes carries its dependencies (bundleDependencies),
 * so it installs on a host that reaches no registry: an air-gapped database
 * host. Installed globally into an empty prefix, without the network, the
 * command and its man pages work.
 */
test('npm pack makes a tarball that installs offline with its dependencies, command and man pages', {timeout: 240_000}, async () => {
  const dir = await scratch.dir('redrepl-pack-')
  // The build has run (npm test builds first); packing again would only rebuild the same files.
  await execa('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], {cwd: repoRoot})
  const tarball = path.join(dir, `${pkg.name}-${pkg.version}.tgz`)
  assert.ok(existsSync(tarball))
  const prefix = path.join(dir, 'prefix')
  const env = {npm_config_offline: 'true', npm_config_registry: 'http://127.0.0.1:9/', npm_config_audit: 'false', npm_config_fund: 'false'}
  await execa('npm', ['install', '--global', '--prefix', prefix, tarball], {cwd: dir, env})
  const bin = path.join(prefix, 'bin', 'redrepl')
  const version = await execa(bin, ['--version'], {cwd: dir})
  assert.match(version.stdout, new RegExp(`^redrepl/${pkg.version.replaceAll('.', '\\.')} `))
  const history = readdirSync(fixturePath('valid', 'timeline-history')).find((name) => name.endsWith('.redtimeline'))!
  const inspected = await execa(bin, ['inspect', fixturePath('valid', 'timeline-history', history), '--json'], {cwd: dir})
  assert.ok(JSON.parse(inspected.stdout).entries.length > 0)
  for (const dependency of Object.keys(pkg.dependencies)) {
    assert.ok(existsSync(path.join(prefix, 'lib', 'node_modules', pkg.name, 'node_modules', dependency, 'package.json')), `${dependency} is bundled`)
  }
  const shipped = readdirSync(path.join(prefix, 'lib', 'node_modules', pkg.name, 'schemas')).sort()
  assert.deepEqual(shipped, readdirSync(path.join(repoRoot, 'schemas')).sort(), 'the JSON schemas ship with the package')
  const pages = readdirSync(path.join(prefix, 'share', 'man', 'man1')).sort()
  assert.deepEqual(pages, pkg.man.map((page) => path.basename(page)).sort())
})
