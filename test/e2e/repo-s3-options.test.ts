import assert from 'node:assert/strict'
import {readdirSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {HeadObjectCommand} from '@aws-sdk/client-s3'

import {checkServerSide, openStore} from '../../src/core/repo/open.js'
import {runCli, useScratch} from '../support/cli.js'
import {useHostileS3} from '../support/hostile-s3.js'
import {jsonOf} from '../support/node.js'
import {s3Client} from '../support/repository.js'
import {useS3Server} from '../support/s3.js'

/**
 * S3 server-side encryption and storage class: sent on every object
 * written. s3rver keeps the storage class (and so shows it for a multipart
 * upload too) but drops SSE headers, so the headers themselves are read off
 * the wire by the hostile test server.
 */

const scratch = useScratch()
const hostile = useHostileS3('sse')
const s3rver = useS3Server(scratch, ['redrepl-classes'])

async function primary() {
  const dir = await scratch.layout('primary-basic')
  return path.join(dir, 'data.rdb')
}

test('repo push sends SSE-KMS, its key and the storage class on every PUT; the config file sets them too', async () => {
  const data = await primary()
  for (const [how, extra, env, expected] of [
    ['flags', ['--s3-sse', 'aws:kms', '--s3-kms-key-id', 'alias/redrepl', '--s3-storage-class', 'STANDARD_IA'], {}, {sse: 'aws:kms', kms: 'alias/redrepl', cls: 'STANDARD_IA'}],
    ['environment', [], {REDREPL_S3_SSE: 'AES256'}, {sse: 'AES256', kms: undefined, cls: undefined}],
    ['config file', ['--config', 'CONFIG'], {}, {sse: 'AES256', kms: undefined, cls: 'INTELLIGENT_TIERING'}],
  ] as const) {
    const server = await hostile()
    const puts: Array<Record<string, string | string[] | undefined>> = []
    server.misbehave = (request) => {
      if (request.method === 'PUT') puts.push(request.headers)
      return false
    }
    const config = path.join(await scratch.dir(), 'redrepl.conf')
    writeFileSync(config, '[defaults]\ns3-sse = "AES256"\ns3-storage-class = "INTELLIGENT_TIERING"\n[node.db1]\n')
    const args = extra.map((a) => (a === 'CONFIG' ? config : a))
    const run = await runCli(['repo', 'push', '--data-path', data, '--repo', 's3://sse/r', '--node', 'db1', ...args, '--json'], {env: {...server.env(), ...env}})
    assert.equal(run.exitCode, 0, `${how}: ${run.stderr}`)
    assert.ok(puts.length >= 9, `${how}: ${puts.length} PUTs`)
    for (const headers of puts) {
      assert.equal(headers['x-amz-server-side-encryption'], expected.sse, how)
      assert.equal(headers['x-amz-server-side-encryption-aws-kms-key-id'], expected.kms, how)
      assert.equal(headers['x-amz-storage-class'], expected.cls, how)
    }
  }
})

test('without the options no SSE or storage-class header is sent', async () => {
  const server = await hostile()
  const seen: string[] = []
  server.misbehave = (request) => {
    if (request.method === 'PUT') seen.push(...Object.keys(request.headers).filter((h) => h.startsWith('x-amz-server-side') || h === 'x-amz-storage-class'))
    return false
  }
  const run = await runCli(['repo', 'push', '--data-path', await primary(), '--repo', 's3://sse/plain', '--node', 'db1', '--json'], {env: server.env()})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.deepEqual(seen, [])
})

test('the storage class reaches a single PUT and a multipart upload alike (s3rver keeps it)', async () => {
  const server = s3rver.server
  const store = await openStore({url: 's3://redrepl-classes/p', s3Endpoint: server.endpoint, s3Region: 'us-east-1', s3ForcePathStyle: true, s3ServerSide: {storageClass: 'STANDARD_IA'}})
  const saved = {...process.env}
  Object.assign(process.env, server.env())
  try {
    const big = Buffer.alloc(20 << 20, 7)
    for (const [key, bytes] of [['small', Buffer.from('small')], ['big', big]] as const) {
      await store.put(key, async function* () {
        yield bytes
      }, {size: BigInt(bytes.length), checksum: 0})
    }
    const client = s3Client(server)
    for (const key of ['small', 'big']) assert.equal((await client.send(new HeadObjectCommand({Bucket: 'redrepl-classes', Key: `p/${key}`}))).StorageClass, 'STANDARD_IA', key)
    client.destroy()
  } finally {
    await store.close()
    process.env = saved
  }
})

test('unknown SSE or storage class, an archive class, a KMS key without SSE-KMS, or any of them for a directory: exit 2, nothing written', async () => {
  assert.throws(() => checkServerSide({sse: 'aes256'}), /--s3-sse aes256: must be one of AES256, aws:kms, aws:kms:dsse/)
  assert.throws(() => checkServerSide({sse: 'AES256', kmsKeyId: 'alias/x'}), /--s3-kms-key-id needs --s3-sse aws:kms/)
  assert.throws(() => checkServerSide({storageClass: 'GLACIER'}), /cannot be read without a restore/)
  assert.throws(() => checkServerSide({storageClass: 'standard'}), /must be one of STANDARD,/)
  assert.deepEqual(checkServerSide({sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', storageClass: 'GLACIER_IR'}), {sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', storageClass: 'GLACIER_IR'})
  const data = await primary()
  const repo = await scratch.dir('redrepl-repo-')
  for (const [args, message] of [
    [['--s3-storage-class', 'DEEP_ARCHIVE'], /DEEP_ARCHIVE: its objects cannot be read without a restore/],
    [['--s3-sse', 'AES256'], /apply to an s3:\/\/ repository only/],
  ] as const) {
    const run = await runCli(['repo', 'push', '--data-path', data, '--repo', args[0] === '--s3-sse' ? repo : 's3://sse/x', '--node', 'db1', ...args])
    assert.equal(run.exitCode, 2, run.stderr)
    assert.match(run.stderr, message)
  }
  assert.deepEqual(readdirSync(repo), [])
  const bad = await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--s3-sse', 'aes256'])
  assert.equal(bad.exitCode, 2, bad.stderr)
  assert.equal(jsonOf(await runCli(['repo', 'push', '--data-path', data, '--repo', repo, '--node', 'db1', '--json'])).wal_segments_pushed, 4n)
})

test('credentials from web identity (a Kubernetes service account): the token is exchanged with STS and the store is reached with what it returns', async () => {
  const server = await hostile()
  const tokenFile = path.join(await scratch.dir(), 'token')
  writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.service-account-token.sig')
  const sts: string[] = []
  const signedWith: string[] = []
  server.misbehave = (request, res) => {
    if (request.bucket === '' && request.method === 'POST') {
      // STS's answer to AssumeRoleWithWebIdentity, as the SDK reads it.
      sts.push(String(request.headers['content-type']))
      res.writeHead(200, {'content-type': 'text/xml'})
      res.end(`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEBIDENTITYTEST</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>session-token-from-sts</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/redrepl/pod</Arn><AssumedRoleId>AROA:pod</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`)
      return true
    }
    signedWith.push(`${request.headers.authorization ?? ''} token=${request.headers['x-amz-security-token'] ?? ''}`)
    return false
  }
  const {AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env} = server.env()
  const run = await runCli(['repo', 'list', '--repo', 's3://sse/r', '--node', 'db1', '--json'], {
    env: {...env, AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/redrepl', AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ENDPOINT_URL_STS: server.endpoint},
  })
  assert.equal(run.exitCode, 0, run.stderr)
  assert.equal(sts.length, 1, 'one token exchange')
  assert.ok(signedWith.length > 0)
  for (const header of signedWith) assert.match(header, /Credential=ASIAWEBIDENTITYTEST\/.* token=session-token-from-sts$/)
})

/** The access key id each request to the server was signed with, from its Authorization header. */
function signingKeys(server: Awaited<ReturnType<typeof hostile>>): string[] {
  const keys: string[] = []
  server.misbehave = (request) => {
    keys.push(/Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '(unsigned)')
    return false
  }
  return keys
}

test('credentials from the SDK\'s default chain: with none in redrepl\'s settings, the environment\'s keys sign every request; a profile named by AWS_PROFILE wins over them', async () => {
  const server = await hostile()
  const {AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...base} = server.env()
  const list = (env: Record<string, string>) => runCli(['repo', 'list', '--repo', 's3://sse/r', '--node', 'db1', '--json'], {env: {...base, ...env}})

  const fromEnv = signingKeys(server)
  const run = await list({AWS_ACCESS_KEY_ID: 'AKIAFROMENVIRONMENT', AWS_SECRET_ACCESS_KEY: 'secret-from-env'})
  assert.equal(run.exitCode, 0, run.stderr)
  assert.ok(fromEnv.length > 0, 'the store was reached')
  assert.deepEqual([...new Set(fromEnv)], ['AKIAFROMENVIRONMENT'])

  // The shared credentials file, the chain's next link, with a profile named by AWS_PROFILE: the SDK takes it over the environment's pair.
  const credentials = path.join(await scratch.dir(), 'credentials')
  writeFileSync(credentials, '[redrepl]\naws_access_key_id = AKIAFROMPROFILEFILE\naws_secret_access_key = secret-from-file\n', {mode: 0o600})
  const fromProfile = signingKeys(server)
  const both = await list({AWS_ACCESS_KEY_ID: 'AKIAFROMENVIRONMENT', AWS_SECRET_ACCESS_KEY: 'secret-from-env', AWS_PROFILE: 'redrepl', AWS_SHARED_CREDENTIALS_FILE: credentials})
  assert.equal(both.exitCode, 0, both.stderr)
  assert.deepEqual([...new Set(fromProfile)], ['AKIAFROMPROFILEFILE'])
  assert.equal(both.stderr, '', 'nothing but the JSON document: the SDK\'s warning about two sources is not printed')

  // No key anywhere: refused in one line naming the repository, nothing sent.
  const none = signingKeys(server)
  const bare = await list({})
  assert.equal(bare.exitCode, 4, bare.stderr)
  assert.equal(bare.stderr.trimEnd().split('\n').length, 1, bare.stderr)
  assert.match(bare.stderr, /s3:\/\/sse\/r.*no AWS credentials found/)
  assert.deepEqual(none, [])
})
