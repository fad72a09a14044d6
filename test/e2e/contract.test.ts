import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {parseJson, type JsonObject} from '../../src/core/codec/json.js'
import {FINDINGS} from '../../src/core/findings.js'
import {majorOf, MODEL_COMMANDS, schemaIdOf} from '../../src/ui/contract.js'
import {runCli, useScratch} from '../support/cli.js'
import {assertContract, schemasDir, schemaUrl} from '../support/contract.js'
import {fixturePath, repoRoot} from '../support/fixtures.js'

const scratch = useScratch()
const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
const jsonCommands = Object.entries(manifest.commands)
  .filter(([id, command]) => 'json' in command.flags && !MODEL_COMMANDS.has(id))
  .map(([id]) => id)
const readSchema = (name: string) => JSON.parse(readFileSync(path.join(schemasDir, `${name}.json`), 'utf8')) as Record<string, any>

test('every command with --json has a schema of the current major, and every schema belongs to a command', () => {
  assert.ok(jsonCommands.length > 20, 'the manifest lists the commands')
  const files = readdirSync(schemasDir).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length))
  assert.deepEqual(files.filter((name) => name !== 'defs').sort(), jsonCommands.map((id) => id.replaceAll(':', '-')).sort())
  for (const id of jsonCommands) {
    const name = id.replaceAll(':', '-')
    const schema = readSchema(name)
    assert.equal(schema.$id, schemaUrl(name, majorOf(id)), `${name}.json: $id`)
    assert.equal(schemaIdOf(id), `redrepl.${name}/${majorOf(id)}`)
  }
})

test('the schemas close every object and type every integer as unsigned', () => {
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}/${i}`))
    if (node === null || typeof node !== 'object') return
    const schema = node as Record<string, unknown>
    if (schema.type === 'object' && schema.properties !== undefined) assert.equal(schema.additionalProperties, false, `${where}: additionalProperties`)
    if (schema.type === 'integer' && !where.endsWith('exit_code')) assert.equal(schema.minimum, 0, `${where}: minimum`)
    for (const [key, value] of Object.entries(schema)) walk(value, `${where}/${key}`)
  }
  for (const file of readdirSync(schemasDir)) walk(readSchema(file.slice(0, -'.json'.length)), file)
})

test('the finding codes the schemas allow are exactly the findings table', () => {
  assert.deepEqual([...readSchema('defs').$defs.finding.properties.code.enum].sort(), Object.keys(FINDINGS).sort())
})

test('a document that breaks the contract fails, naming the command, the field and the rule', async () => {
  const data = path.join(await scratch.layout('primary-basic'), 'data.rdb')
  const result = await runCli(['slots', 'show', '--data-path', data, '--json'])
  assert.equal(result.exitCode, 0, result.stderr)
  const good = parseJson(result.stdout) as JsonObject
  assertContract(good)
  const broken = (change: (document: any) => void) => {
    const document = parseJson(result.stdout) as any
    change(document)
    return () => assertContract(document)
  }
  assert.throws(broken((d) => (d.lag = 1n)), /redrepl\.slots-show\/1 .*slots show.*\n.*\(document\): must NOT have additional properties "lag" \[additionalProperties/)
  assert.throws(broken((d) => delete d.wal_head_lsn), /\(document\): must have required property 'wal_head_lsn' \[required/)
  assert.throws(broken((d) => (d.timeline = '1')), /\/timeline: must be integer/)
  assert.throws(broken((d) => (d.slots[0].restart_lsn = String(d.slots[0].restart_lsn))), /\/slots\/0\/restart_lsn: must be integer/)
  assert.throws(broken((d) => (d.timeline = -1n)), /\/timeline: must be >= 0/)
  assert.throws(broken((d) => d.findings.push({code: 'slot.made-up', severity: 'note', path: 'x', message: 'm', data: {}})), /\/findings\/\d+\/code: must be equal to one of the allowed values/)
  assert.throws(broken((d) => (d.schema = 'redrepl.slots-show/2')), /no schema .*v2\/slots-show\.json/)
  assert.throws(broken((d) => delete d.schema), /"schema" is/)
})

test('a u64 above 2^53 is checked exactly: 2^64 − 1 passes and stays exact, 2^64 fails', async () => {
  const result = await runCli(['wal', 'dump', fixturePath('valid', 'wal-segment', readdirSync(fixturePath('valid', 'wal-segment')).find((name) => name.endsWith('.redwal'))!), '--json', '--payload', 'none'])
  assert.equal(result.exitCode, 0, result.stderr)
  assert.match(result.stdout, /^\{\n {2}"schema": "redrepl\.wal-dump\/1",/)
  const top = result.stdout.replace(/"timeline": \d+/, `"timeline": ${2n ** 64n - 1n}`)
  const document = parseJson(top) as JsonObject
  assertContract(document)
  assert.equal(document.timeline, 2n ** 64n - 1n)
  assert.throws(() => assertContract(parseJson(result.stdout.replace(/"timeline": \d+/, `"timeline": ${2n ** 64n}`))), /\/timeline: 18446744073709551616 is above the u64 maximum/)
})
