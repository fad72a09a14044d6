import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import path from 'node:path'
import {after, before} from 'node:test'
import {fileURLToPath} from 'node:url'

/** An S3-compatible server (s3rver) on 127.0.0.1, in a child process the test can kill and start again on the same port and data. */
/** The environment a CLI run needs to reach a test store at `endpoint` with static credentials, and nothing from the host's AWS files. */
export function s3ClientEnv(endpoint: string, key: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: key,
    AWS_SECRET_ACCESS_KEY: key,
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    REDREPL_S3_ENDPOINT: endpoint,
    REDREPL_S3_FORCE_PATH_STYLE: 'true',
  }
}

export class S3Server {
  private child: ChildProcess | undefined
  port = 0

  constructor(
    readonly directory: string,
    readonly buckets: string[],
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** The environment a CLI run needs to reach this server (static credentials s3rver knows, no shared AWS files). */
  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {...s3ClientEnv(this.endpoint, 'S3RVER'), ...overrides}
  }

  /**
   * S3 commits a PUT whole or not at all; s3rver writes an object, then its
   * MD5, then its metadata as plain files. So the objects a kill cut short
   * are dropped before serving again, as S3 would never have had them.
   */
  async start(): Promise<void> {
    dropTornObjects(this.directory)
    const main = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3rver-main.js')
    const child = spawn(process.execPath, [main, this.directory, String(this.port), ...this.buckets], {stdio: ['ignore', 'pipe', 'inherit']})
    this.child = child
    this.port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout!.on('data', (data) => {
        out += String(data)
        if (out.includes('\n')) resolve(Number(out.trim()))
      })
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)))
    })
  }

  /** SIGKILL: connections drop mid-request, as when a store goes away. */
  async kill(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await gone
  }
}

const OBJECT_SUFFIX = '._S3rver_object'

/** Removes every stored object whose metadata, written last, is missing or cut short, with its side files. */
function dropTornObjects(dir: string): void {
  if (!existsSync(dir)) return
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) dropTornObjects(file)
    else if (entry.name.endsWith(OBJECT_SUFFIX)) {
      const metadata = `${file.slice(0, -OBJECT_SUFFIX.length)}._S3rver_metadata.json`
      if (!metadataComplete(metadata)) for (const torn of [file, `${file}.md5`, metadata]) rmSync(torn, {force: true})
    }
  }
}

function metadataComplete(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, 'utf8'))
    return true
  } catch {
    return false
  }
}

/** One S3 server for a whole test file: started before its first test with `buckets`, killed after the last. */
export function useS3Server(scratch: {dir(prefix?: string): Promise<string>}, buckets: string[]): {readonly server: S3Server} {
  let server: S3Server | undefined
  before(async () => {
    server = new S3Server(await scratch.dir('redrepl-s3rver-'), buckets)
    await server.start()
  })
  after(() => server?.kill())
  return {
    get server() {
      if (server === undefined) throw new Error('the S3 server starts before the first test')
      return server
    },
  }
}
