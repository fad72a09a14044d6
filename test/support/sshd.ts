import {execa, type ResultPromise} from 'execa'
import {access, mkdir, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

export const SSHD = '/usr/sbin/sshd'

/** Why sshd cannot be had here, or null when it can. */
export async function sshdMissing(): Promise<string | null> {
  for (const program of [SSHD, '/usr/bin/ssh', '/usr/bin/ssh-keygen']) {
    try {
      await access(program)
    } catch {
      return `${program} is not installed (Debian: apt-get install openssh-server)`
    }
  }
  return null
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as {port: number}).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface Sshd {
  /** The transport that reaches this server as the current user. */
  transport: string[]
  stop(): Promise<void>
}

/**
 * A real OpenSSH server on 127.0.0.1 at a free high port, run in the
 * foreground as the current user with keys generated in `dir`: a host key,
 * and a client key that is its only authorized key.
 */
export async function startSshd(dir: string): Promise<Sshd> {
  const hostKey = path.join(dir, 'host_ed25519')
  const clientKey = path.join(dir, 'client_ed25519')
  for (const key of [hostKey, clientKey]) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
  const authorized = path.join(dir, 'authorized_keys')
  await execa('cp', [`${clientKey}.pub`, authorized])
  const port = await freePort()
  const config = path.join(dir, 'sshd_config')
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  )
  // sshd run as root checks its privilege separation directory, which the distribution's service creates at boot.
  if (process.getuid?.() === 0) await mkdir('/run/sshd', {recursive: true, mode: 0o755})
  const server: ResultPromise = execa(SSHD, ['-D', '-e', '-f', config], {reject: false, stdin: 'ignore'})
  const user = os.userInfo().username
  const transport = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-i', clientKey, '-p', String(port), `${user}@127.0.0.1`]
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM')
    await server
  }
  // Ready once a command runs through it.
  for (let i = 0; ; i++) {
    const probe = await execa(transport[0], [...transport.slice(1), 'true'], {reject: false, stdin: 'ignore', timeout: 5000})
    if (probe.exitCode === 0) break
    if (i === 50 || server.exitCode !== null) {
      await stop()
      throw new Error(`sshd did not start: ${probe.stderr}; sshd said: ${String((await server).stderr).trim()}`)
    }
    await sleep(100)
  }
  return {transport, stop}
}
