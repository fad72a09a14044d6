import assert from 'node:assert/strict'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {after, before, test} from 'node:test'

import {RedreplError} from '../../src/core/errors.js'
import {faultOf, isAbsent} from '../../src/core/repo/backend.js'
import {readRepoConfig} from '../../src/core/repo/encryption.js'
import {collect} from '../../src/core/repo/integrity.js'
import {directoryFault} from '../../src/core/repo/local.js'
import {openStore} from '../../src/core/repo/open.js'
import {s3Failure, s3Fault} from '../../src/core/repo/s3.js'
import {useHostileS3} from '../support/hostile-s3.js'
import {S3Server} from '../support/s3.js'

/** Each store classifies its own failures: by the SDK error's name, Code and status for S3, by errno for a directory; never by message text. */

test('S3: the classification comes from the error name, its Code and its HTTP status, never from its message', () => {
  const cases: Array<[object, ReturnType<typeof s3Fault>]> = [
    [{name: 'NoSuchKey', $metadata: {httpStatusCode: 404}}, 'not-found'],
    [{name: 'NotFound', $metadata: {httpStatusCode: 404}}, 'not-found'],
    [{name: 'Unknown', $metadata: {httpStatusCode: 404}}, 'not-found'],
    [{name: 'NoSuchBucket', $metadata: {httpStatusCode: 404}}, 'other'],
    [{name: 'AccessDenied', $metadata: {httpStatusCode: 403}}, 'permission'],
    [{name: 'InvalidAccessKeyId'}, 'permission'],
    [{name: 'CredentialsProviderError'}, 'permission'],
    [{name: 'Unknown', $metadata: {httpStatusCode: 403}}, 'permission'],
    [{name: 'SlowDown', $metadata: {httpStatusCode: 503}}, 'transient'],
    [{name: 'Unknown', Code: 'InternalError'}, 'transient'],
    [{name: 'Unknown', $metadata: {httpStatusCode: 500}}, 'transient'],
    [{name: 'Unknown', $metadata: {httpStatusCode: 429}}, 'transient'],
    [{name: 'TimeoutError'}, 'transient'],
    [{name: 'Error', code: 'ECONNRESET', message: 'socket hang up'}, 'transient'],
    [{name: 'Error', code: 'ECONNREFUSED'}, 'transient'],
    [{name: 'BadDigest', $metadata: {httpStatusCode: 400}}, 'corrupt'],
    [{name: 'InvalidArgument', $metadata: {httpStatusCode: 400}}, 'other'],
    // A message that reads like a known failure is not one.
    [{name: 'InvalidRequest', message: 'no such bucket', $metadata: {httpStatusCode: 400}}, 'other'],
    [{name: 'InvalidRequest', message: 'NoSuchKey ECONNRESET', $metadata: {httpStatusCode: 400}}, 'other'],
  ]
  for (const [error, fault] of cases) {
    assert.equal(s3Fault(error), fault, JSON.stringify(error))
    assert.equal(faultOf(s3Failure(error, 's3://b/k', 'download')), fault, `mapped: ${JSON.stringify(error)}`)
  }
})

test('S3: the messages and exit codes stay: a missing key and a missing bucket exit 6, refused credentials 4, an unreachable store 1', () => {
  const key = s3Failure({name: 'NoSuchKey', $metadata: {httpStatusCode: 404}}, 's3://b/k', 'download')
  assert.equal(key.message, 's3://b/k: no such object')
  assert.equal(key.exitCode, 6)
  const bucket = s3Failure({name: 'NoSuchBucket'}, 's3://b', 'list')
  assert.equal(bucket.message, 's3://b: no such bucket')
  assert.equal(bucket.exitCode, 6)
  assert.equal(isAbsent(bucket), false, 'a missing bucket is not an absent object')
  assert.equal(s3Failure({name: 'AccessDenied', $metadata: {httpStatusCode: 403}}, 's3://b/k', 'upload').exitCode, 4)
  const reset = s3Failure({name: 'Error', code: 'ECONNRESET', message: 'socket hang up'}, 's3://b/k', 'upload')
  assert.equal(reset.message, 's3://b/k: cannot reach the store for upload (socket hang up)')
  assert.equal(reset.exitCode, 1)
})

test('directory: the classification comes from the errno, raw or kept as an io.<errno> code', () => {
  const errno = (code: string) => Object.assign(new Error(code), {code})
  assert.equal(directoryFault(errno('ENOENT')), 'not-found')
  assert.equal(directoryFault(errno('EACCES')), 'permission')
  assert.equal(directoryFault(errno('EPERM')), 'permission')
  assert.equal(directoryFault(errno('EMFILE')), 'transient')
  assert.equal(directoryFault(errno('EIO')), 'other')
  assert.equal(directoryFault(errno('ENOSPC')), 'other')
  assert.equal(directoryFault(new RedreplError('failure', 'x: cannot read: permission denied', {code: 'io.EACCES'})), 'permission')
  assert.equal(directoryFault(new RedreplError('failure', 'x: no such file or directory')), 'other', 'the message is not read')
})

const dirs: string[] = []
let server: S3Server
before(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-s3rver-'))
  dirs.push(dir)
  server = new S3Server(dir, ['faults'])
  await server.start()
  Object.assign(process.env, {AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true'})
})
after(async () => {
  await server.kill()
  await Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true})))
})

const s3 = (bucket: string) => openStore({url: `s3://${bucket}/p`, s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true})

test('S3 on a live server: a missing object reads as absent; in a missing bucket nothing does, and the config object is not taken as absent', async () => {
  const present = await s3('faults')
  const missing = await s3('no-such-bucket')
  try {
    await assert.rejects(collect(present.get('n/missing'), 10n, 'm'), (error) => isAbsent(error) && (error as RedreplError).exitCode === 6)
    assert.equal(await readRepoConfig(present), null, 'a repository without a config object is unencrypted')
    await assert.rejects(collect(missing.get('n/missing'), 10n, 'm'), (error) => !isAbsent(error) && /: no such bucket$/.test((error as Error).message) && (error as RedreplError).exitCode === 6)
    await assert.rejects(missing.stat('n/missing'), (error) => !isAbsent(error) && /no such bucket$/.test((error as Error).message))
    await assert.rejects(readRepoConfig(missing), /no such bucket$/, 'a missing bucket is not an unencrypted repository')
  } finally {
    await present.close()
    await missing.close()
  }
})

test('S3 on a closed port: the failure is transient', async () => {
  const closed = await openStore({url: 's3://faults/p', s3Endpoint: 'http://127.0.0.1:9', s3Region: 'us-east-1', s3ForcePathStyle: true})
  try {
    await assert.rejects(closed.stat('n/x'), (error) => faultOf(error) === 'transient' && /cannot reach the store/.test((error as Error).message))
  } finally {
    await closed.close()
  }
})

test('directory: a missing object reads as absent, a missing repository directory too (nothing stored yet)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'redrepl-faults-'))
  dirs.push(dir)
  const store = await openStore({url: path.join(dir, 'repo')})
  await assert.rejects(collect(store.get('n/missing'), 10n, 'm'), (error) => isAbsent(error) && (error as RedreplError).exitCode === 6)
  assert.equal(await readRepoConfig(store), null)
})

const hostile = useHostileS3('answers')

test('S3 through the real SDK: a store that answers SlowDown, AccessDenied or an error whose message reads like another is classified by its Code and status', async () => {
  const server = await hostile()
  const answers: Record<string, [number, string, string]> = {
    'n/busy': [503, 'SlowDown', 'Please reduce your request rate.'],
    'n/denied': [403, 'AccessDenied', 'Access Denied'],
    'n/odd': [400, 'InvalidRequest', 'no such bucket'],
  }
  server.misbehave = (request, res) => {
    const answer = answers[request.key.replace(/^p\//, '')]
    if (request.method !== 'GET' || answer === undefined) return false
    res.writeHead(answer[0], {'content-type': 'application/xml'}).end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer[1]}</Code><Message>${answer[2]}</Message></Error>`)
    return true
  }
  const store = await openStore({url: 's3://answers/p', s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true})
  try {
    const faults: Record<string, string> = {}
    for (const key of Object.keys(answers)) await collect(store.get(key), 100n, key).catch((error) => (faults[key] = `${faultOf(error)} ${(error as RedreplError).exitCode}`))
    assert.deepEqual(faults, {'n/busy': 'transient 1', 'n/denied': 'permission 4', 'n/odd': 'other 1'})
  } finally {
    await store.close()
  }
})
