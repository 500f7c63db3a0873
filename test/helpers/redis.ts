import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

interface Teardown { teardown (fn: () => unknown): void }

export interface RedisServer {
  url: string
  port: number
  /** Stops the server, keeping its data for `restart()`. */
  stop (): Promise<void>
  /** Starts it again on the same port with the same data. */
  restart (): Promise<void>
  /** Ends the process at once, as a crash would; keeps its data. */
  kill (): Promise<void>
}

/** CI services set `CI` to `true`, `1` or their own name: any value but empty, `false` or `0`. */
export function underCi (env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env.CI ?? '').trim().toLowerCase()
  return value !== '' && value !== 'false' && value !== '0'
}

/**
 * Whether a suite needing `command` (default redis-server) can run. Without it the
 * suite is skipped, except under CI, where a skipped suite would hide a broken
 * set-up: there it fails.
 */
export function requireRedis (t: tap.Test, command = 'redis-server'): boolean {
  if (spawnSync(command, ['--version']).status === 0) return true
  if (underCi()) t.fail(`${command} is not installed: CI must run the Redis suites`)
  else t.test('Redis suites', { skip: `${command} is not installed` }, () => {})
  return false
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

export function ping (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'))
    socket.once('data', data => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A real redis-server on a free port with an append-only file in a temporary
 * directory; gone when the test ends. `args` are added to its command line.
 */
export async function startRedis (t: Teardown, args: string[] = []): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-redis-'))
  let child: ChildProcess | null = null

  async function start (): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, ...args], { stdio: 'ignore' })
    child = proc
    let exited = false
    proc.once('exit', () => { exited = true })
    const giveUp = Date.now() + 10_000
    while (!(await ping(port))) {
      if (exited) throw new Error(`redis-server exited on start (port ${port})`)
      if (Date.now() > giveUp) throw new Error(`redis-server did not answer PING on port ${port}`)
      await sleep(20)
    }
  }

  async function stop (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = child
    child = null
    if (proc === null || proc.exitCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill(signal)
    await exited
  }

  t.teardown(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    restart: async () => {
      await stop()
      await start()
    }
  }
}
