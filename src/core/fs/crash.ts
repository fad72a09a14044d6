/**
 * Named crash points for testing durability: when REDREPL_CRASH_AT equals
 * the point's name, the process dies right there with SIGKILL, so no
 * cleanup of any kind runs — as if the machine had lost power at that step.
 */
export function crashPoint(name: string): void {
  if (process.env.REDREPL_CRASH_AT === name) process.kill(process.pid, 'SIGKILL')
}
