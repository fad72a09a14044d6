import {createHash} from 'node:crypto'
import {readFileSync, readlinkSync} from 'node:fs'

/** The start time of a process (clock ticks since boot, /proc/PID/stat field 22), or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Whether `pid` is the same live process that had `startTime` (pid reuse does not fool it). */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (startTime === undefined) return true
  const actual = processStartTime(pid)
  return actual === undefined || actual === startTime
}

let tag: string | null | undefined

/**
 * Names this machine's kernel and pid namespace (a hash of the boot id and
 * the namespace's inode), so a file that records a writer's pid beside
 * this tag can be judged by that pid here and only here: another host, a
 * container with its own pids or a reboot gives another tag. Null where
 * /proc cannot tell.
 */
export function pidSpaceTag(): string | null {
  if (tag !== undefined) return tag
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    const space = readlinkSync('/proc/self/ns/pid')
    tag = createHash('sha256').update(`${boot}\n${space}`).digest('hex').slice(0, 16)
  } catch {
    tag = null
  }
  return tag
}
