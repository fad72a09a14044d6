import assert from 'node:assert/strict'
import test from 'node:test'

import {flagSources, recordConfigFlags, type ParsedTokens} from '../../src/ui/flag-source.js'
import {Flags, Parser} from '../../src/ui/oclif.js'

const declared = {
  'min-segments': Flags.string({default: '16'}),
  'keep-last': Flags.string({}),
  'keep-until-replicas-ack': Flags.boolean({default: true, allowNo: true}),
  repo: Flags.string({env: 'REDREPL_TEST_REPO'}),
  plan: Flags.string({}),
}

/** What a run's flags come to when `fromConfig` were put in front of argv by the preparse hook. */
async function sourcesOf(argv: string[], fromConfig: string[], env: NodeJS.ProcessEnv = {}) {
  const run = {}
  recordConfigFlags(run, fromConfig)
  const saved = process.env.REDREPL_TEST_REPO
  if (env.REDREPL_TEST_REPO !== undefined) process.env.REDREPL_TEST_REPO = env.REDREPL_TEST_REPO
  try {
    const parsed = await Parser.parse(argv, {flags: declared})
    return flagSources(run, parsed as unknown as ParsedTokens, declared, env)
  } finally {
    if (saved === undefined) delete process.env.REDREPL_TEST_REPO
    else process.env.REDREPL_TEST_REPO = saved
  }
}

test('a flag is typed, from the config file, from its environment variable, defaulted or absent', async () => {
  assert.deepEqual(await sourcesOf(['--keep-last', '2', '--plan', 'p'], []), {'min-segments': 'default', 'keep-last': 'typed', 'keep-until-replicas-ack': 'default', repo: 'absent', plan: 'typed'})
  // The hook put the file's settings in front: parsed alike, told apart by the record.
  assert.deepEqual(await sourcesOf(['--keep-last', '1', '--no-keep-until-replicas-ack', '--plan', 'p'], ['keep-last', 'keep-until-replicas-ack']), {
    'min-segments': 'default',
    'keep-last': 'config',
    'keep-until-replicas-ack': 'config',
    repo: 'absent',
    plan: 'typed',
  })
  assert.deepEqual((await sourcesOf([], [], {REDREPL_TEST_REPO: '/srv/repo'})).repo, 'env')
})

test('a flag typed with its default value, in the = form or negated is typed, not defaulted', async () => {
  const sources = await sourcesOf(['--min-segments=16', '--keep-until-replicas-ack'], [])
  assert.equal(sources['min-segments'], 'typed')
  assert.equal(sources['keep-until-replicas-ack'], 'typed')
  assert.equal((await sourcesOf(['--no-keep-until-replicas-ack'], []))['keep-until-replicas-ack'], 'typed')
})

test('what one run recorded from its config file says nothing of another run', async () => {
  const first = {}
  recordConfigFlags(first, ['keep-last'])
  const parsed = await Parser.parse(['--keep-last', '1'], {flags: declared})
  assert.equal(flagSources(first, parsed as unknown as ParsedTokens, declared, {})['keep-last'], 'config')
  assert.equal(flagSources({}, parsed as unknown as ParsedTokens, declared, {})['keep-last'], 'typed')
})
