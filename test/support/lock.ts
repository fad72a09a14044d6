import {spawn, type ChildProcess} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const LOCK_MODULE = fileURLToPath(new URL('../../src/core/fs/lock.js', import.meta.url))

/**
 * Holds the layout lock at `lockPath` in a child process, as another
 * redrepl run would, until the child is stopped or killed. Resolves once
 * the lock is held.
 */
export async function holdLayoutLock(lockPath: string, command = 'holder'): Promise<ChildProcess> {
  const script = `import(${JSON.stringify(LOCK_MODULE)}).then(async ({acquireLayoutLock}) => {
    await acquireLayoutLock(${JSON.stringify(lockPath)}, {command: ${JSON.stringify(command)}, wait: 10000})
    process.stdout.write('held\\n')
    setInterval(() => {}, 60000)
  }, (error) => { console.error(error.message); process.exit(1) })`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'pipe']})
  await new Promise<void>((resolve, reject) => {
    let err = ''
    child.stderr!.on('data', (chunk) => (err += chunk))
    child.stdout!.once('data', () => resolve())
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}: ${err}`)))
  })
  return child
}
