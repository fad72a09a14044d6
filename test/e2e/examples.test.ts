import assert from 'node:assert/strict'
import {execa} from 'execa'
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {test} from 'node:test'
import {parseAllDocuments} from 'yaml'

import {repoRoot} from '../support/fixtures.js'

/**
 * The unattended-run examples in examples/ stay true: the systemd units pass
 * systemd-analyze without a warning, the Kubernetes manifests parse, and
 * every redrepl command line in them names a real command with real flags.
 */

const EXAMPLES = path.join(repoRoot, 'examples')
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

test('the Kubernetes manifests parse and their containers run real redrepl commands', () => {
  const file = path.join(EXAMPLES, 'kubernetes', 'redrepl-cronjobs.yaml')
  const documents = parseAllDocuments(readFileSync(file, 'utf8'))
  const objects = documents.map((document) => {
    assert.deepEqual(document.errors, [], file)
    return document.toJS() as any
  })
  const cronJobs = objects.filter((object) => object.kind === 'CronJob')
  assert.ok(cronJobs.length >= 2)
  for (const job of cronJobs) {
    assert.equal(job.apiVersion, 'batch/v1')
    assert.match(job.spec.schedule, /^(\S+ ){4}\S+$/)
    for (const container of job.spec.jobTemplate.spec.template.spec.containers) {
      assert.equal(container.command[0], 'redrepl')
      assertRealCommand(container.command.slice(1), `${job.metadata.name}/${container.name}`)
    }
  }
  const config = objects.find((object) => object.kind === 'ConfigMap')
  assert.match(config.data['redrepl.conf'], /\[node\.primary\]/)
})
