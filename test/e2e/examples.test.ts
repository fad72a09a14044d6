import assert from 'node:assert/strict'
import {execa} from 'execa'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'
import {parseAllDocuments} from 'yaml'

import {parseConfig} from '../../src/core/config/config-file.js'
import {clusterNodes} from '../../src/core/config/inventory.js'
import {useScratch} from '../support/cli.js'
import {repoRoot} from '../support/fixtures.js'
import {activeSlot, MiB, writeWalNode} from '../support/wal-node.js'

/**
 * The unattended-run examples in examples/ stay true: the systemd units pass
 * systemd-analyze without a warning, the Kubernetes manifests parse, and
 * every redrepl command line in them names a real command with real flags.
 */

const EXAMPLES = path.join(repoRoot, 'examples')
const scratch = useScratch()
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, {char?: string}>}>}

/** Checks one redrepl argv (without the program name) against the command manifest. */
function assertRealCommand(argv: string[], where: string): void {
  const words = argv.filter((word) => !word.startsWith('-'))
  const id = [words.slice(0, 2).join(':'), words[0]].find((candidate) => candidate in manifest.commands)
  assert.ok(id, `${where}: "${argv.join(' ')}" names no redrepl command`)
  for (const word of argv.filter((w) => w.startsWith('--'))) {
    const name = word.slice(2).split('=')[0]
    assert.ok(name in manifest.commands[id].flags, `${where}: ${id.replace(':', ' ')} has no flag --${name}`)
  }
}

test('the systemd units verify cleanly and run real redrepl commands', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'redrepl-units-'))
  const units = readdirSync(path.join(EXAMPLES, 'systemd'))
  assert.ok(units.some((unit) => unit.endsWith('.timer')) && units.some((unit) => unit.endsWith('.service')))
  for (const unit of units) {
    const text = readFileSync(path.join(EXAMPLES, 'systemd', unit), 'utf8')
    for (const line of text.split('\n').filter((l) => l.startsWith('ExecStart='))) {
      const [program, ...argv] = line.slice('ExecStart='.length).split(/\s+/)
      assert.equal(path.basename(program), 'redrepl', unit)
      assertRealCommand(argv, unit)
    }
    // systemd-analyze checks that ExecStart's program exists: point it at this build.
    writeFileSync(path.join(dir, unit), text.replaceAll('/usr/local/bin/redrepl', path.join(repoRoot, 'bin', 'run.js')))
  }
  const verified = await execa('systemd-analyze', ['verify', '--man=no', ...units.map((unit) => path.join(dir, unit))], {reject: false})
  assert.equal(verified.exitCode, 0, verified.stderr)
  assert.equal(verified.stderr.trim(), '', 'no warning (an unknown key is only a warning to systemd)')
})

const K8S = path.join(EXAMPLES, 'kubernetes')

function kubernetesObjects(): any[] {
  const file = path.join(K8S, 'reddb-statefulset.yaml')
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => {
    assert.deepEqual(document.errors, [], file)
    return document.toJS()
  })
}

/** The ConfigMap, the StatefulSet and its redrepl container, and the files the container reads from the ConfigMap. */
function sidecar() {
  const objects = kubernetesObjects()
  const set = objects.find((object) => object.kind === 'StatefulSet')
  const pod = set.spec.template.spec
  const redrepl = pod.containers.find((container: any) => container.name === 'redrepl')
  const configMount = redrepl.volumeMounts.find((mount: any) => pod.volumes.some((volume: any) => volume.name === mount.name && volume.configMap))
  const volume = pod.volumes.find((each: any) => each.name === configMount.name)
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === volume.configMap.name)
  const fileIn = (file: string) => {
    assert.equal(path.dirname(file), configMount.mountPath, `${file} is in the ConfigMap's mount`)
    const text = configMap.data[path.basename(file)]
    assert.equal(typeof text, 'string', `the ConfigMap holds ${path.basename(file)}`)
    return text as string
  }
  const env = Object.fromEntries(redrepl.env.filter((each: any) => 'value' in each).map((each: any) => [each.name, each.value]))
  return {objects, set, pod, redrepl, env, configMap, script: fileIn(redrepl.command.at(-1)), config: fileIn(env.REDREPL_CONFIG)}
}

/** The redrepl command lines of a shell script, as argv (up to the end of the simple command). */
function redreplLines(script: string): string[][] {
  return script.split('\n').flatMap((line) => {
    const at = line.indexOf('redrepl ')
    if (at < 0 || line.trimStart().startsWith('#') || /redrepl-loop/.test(line.slice(at, at + 13))) return []
    return [line.slice(at + 'redrepl '.length).split(/\s*(?:\|\||;|&&)\s*/)[0].trim().split(/\s+/)]
  })
}

test('the Kubernetes example: no CronJob; redrepl beside RedDB in its pod, on the same ReadWriteOnce volume and process namespace', async () => {
  const {objects, set, pod, redrepl, env, script, config} = sidecar()
  assert.deepEqual(objects.filter((object) => object.kind === 'CronJob' || object.kind === 'Job'), [], 'a job\'s pod cannot mount a ReadWriteOnce volume RedDB holds')
  assert.equal(set.apiVersion, 'apps/v1')
  assert.equal(pod.shareProcessNamespace, true, 'the live-node guard must see RedDB\'s lock holder')
  const claim = set.spec.volumeClaimTemplates.find((template: any) => template.metadata.name === 'data')
  assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce'])
  const reddb = pod.containers.find((container: any) => container.name === 'reddb')
  const dataMount = (container: any) => container.volumeMounts.find((mount: any) => mount.name === 'data')
  assert.equal(dataMount(redrepl).mountPath, dataMount(reddb).mountPath, 'both see the data file at the same path')
  assert.ok(!dataMount(redrepl).readOnly, 'wal prune removes segments')
  for (const kind of ['requests', 'limits']) for (const resource of ['cpu', 'memory']) assert.ok(redrepl.resources[kind][resource], `${kind}.${resource}`)
  // The sidecar's config: its node section names the data file on the shared volume.
  const parsed = await parseConfig(config, 'redrepl.conf')
  const section = parsed.nodes.get(env.REDREPL_NODE)
  assert.ok(section, `[node.${env.REDREPL_NODE}] is in the sidecar's config`)
  const dataPath = section.find((setting) => setting.key === 'data-path')!.value as string
  assert.ok(dataPath.startsWith(`${dataMount(redrepl).mountPath}/`), dataPath)
  // The loop is valid sh and runs real commands with real flags.
  const syntax = await execa('sh', ['-n'], {input: script, reject: false})
  assert.equal(syntax.exitCode, 0, syntax.stderr)
  const lines = redreplLines(script)
  assert.deepEqual(lines.map((argv) => argv.slice(0, 2).join(' ')), ['wal prune', 'repo push'])
  for (const argv of lines) assertRealCommand(argv, 'redrepl-loop.sh')
})

test('the Kubernetes example\'s operator config reaches each pod\'s redrepl container through kubectl exec', async () => {
  const {set, redrepl, config} = sidecar()
  const inventory = await parseConfig(readFileSync(path.join(K8S, 'redrepl-operator.conf'), 'utf8'), 'redrepl-operator.conf')
  const nodes = clusterNodes(inventory, undefined)
  const sidecarDataPath = (await parseConfig(config, 'redrepl.conf')).nodes.get('main')!.find((setting) => setting.key === 'data-path')!.value
  assert.equal(nodes.length, set.spec.replicas)
  nodes.forEach((node, ordinal) => {
    const pod = `${set.metadata.name}-${ordinal}`
    assert.equal(node.name, pod)
    assert.deepEqual(node.transport, ['kubectl', 'exec', '-n', set.metadata.namespace, pod, '-c', redrepl.name, '--'])
    assert.equal(node.remote_shell, false, 'kubectl exec passes argv as is')
    assert.equal(node.data_path, sidecarDataPath)
  })
})

test('the Kubernetes example\'s loop runs wal prune and repo push for real, goes on after a failure, and ends at once on TERM', async () => {
  const {env, script, config} = sidecar()
  const dir = await scratch.dir('redrepl-k8s-loop-')
  const data = writeWalNode(path.join(dir, 'node'), {segmentBytes: MiB, segments: {1: 1, 2: 1, 3: 1}, slots: [activeSlot('r1', 3n * MiB, 3n * MiB)]})
  // The repository's place is taken by a file at first: the push fails until it is removed.
  const repo = path.join(dir, 'repo')
  writeFileSync(repo, 'not a directory\n')
  const conf = path.join(dir, 'redrepl.conf')
  writeFileSync(conf, config.replace(/^data-path = .*$/m, `data-path = ${JSON.stringify(data)}`).replace(/^repo = .*$/m, `repo = ${JSON.stringify(repo)}`), {mode: 0o600})
  // redrepl on the PATH is this build; it logs each run so the turns can be counted.
  const bin = path.join(dir, 'bin')
  const log = path.join(dir, 'runs.log')
  mkdirSync(bin)
  writeFileSync(path.join(bin, 'redrepl'), `#!/bin/sh\necho "$*" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repoRoot, 'bin', 'run.js'))} "$@"\n`)
  chmodSync(path.join(bin, 'redrepl'), 0o755)
  const loop = execa('sh', ['-c', script], {env: {...env, REDREPL_CONFIG: conf, PATH: `${bin}:${process.env.PATH}`, PRUNE_EVERY: '1', PUSH_EVERY: '3600'}, reject: false})
  const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((line) => line.split(' ').slice(0, 2).join(' ')) : [])
  const until = async (what: string, done: () => boolean) => {
    const deadline = Date.now() + 30_000
    while (!done()) {
      assert.ok(Date.now() < deadline, `${what}; runs: ${runs().join(', ')}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  try {
    await until('two failed pushes', () => runs().filter((run) => run === 'repo push').length >= 2)
    rmSync(repo)
    await until('a push that wrote the repository', () => existsSync(repo) && readdirSync(repo).length > 0)
    const pushes = runs().filter((run) => run === 'repo push').length
    await until('three prunes after the last push', () => runs().slice(runs().lastIndexOf('repo push')).filter((run) => run === 'wal prune').length >= 3)
    // Pushed once it worked, then not again within the hour; pruned every turn throughout.
    assert.equal(runs().filter((run) => run === 'repo push').length, pushes)
    assert.deepEqual(runs().slice(0, 4), ['wal prune', 'repo push', 'wal prune', 'repo push'])
  } catch (error) {
    loop.kill('SIGKILL')
    throw error
  }
  const started = Date.now()
  loop.kill('SIGTERM')
  const ended = await loop
  // A run under way finishes first (sh runs the trap after it): well within the bound.
  assert.ok(Date.now() - started < 5_000, 'TERM ends the wait at once')
  assert.equal(ended.exitCode, 0, ended.stderr)
  const failures = ended.stderr.split('\n').filter((line) => line.startsWith('redrepl-loop: '))
  // While the repository was unusable the push failed, and so did the prune (which keeps the WAL a backup needs), and the loop went on.
  assert.ok(failures.some((line) => line.startsWith('redrepl-loop: repo push exited ')), ended.stderr)
  assert.ok(failures.every((line) => /^redrepl-loop: (wal prune|repo push) exited [1-9]\d*$/.test(line)), ended.stderr)
})
