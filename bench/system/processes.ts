import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process'

/** Every process the bench started and has not yet seen exit. */
const live = new Set<ChildProcess>()

/**
 * The hard open-file limit may be below the wished one (containers): the
 * child then gets the hard limit, which the connection workload reads back.
 */
const RAISE_OPEN_FILES = 'ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"'

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  stdio?: StdioOptions
}

/** Starts a command with the open-file limit raised; the pid is the command's own (bash execs it). */
export function spawnTracked (command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn('bash', ['-c', RAISE_OPEN_FILES, 'bash', command, ...args], {
    env: options.env ?? process.env,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe']
  })
  live.add(child)
  child.once('exit', () => live.delete(child))
  return child
}

export function exited (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/** SIGTERM, then SIGKILL if the process is still there after the grace period. */
export async function stopProcess (child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited(child)
  clearTimeout(timer)
}

/** Last resort on errors and interrupts: synchronous, so it also works in an exit handler. */
export function killAll (): void {
  for (const child of live) child.kill('SIGKILL')
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
