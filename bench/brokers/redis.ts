import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { freePort, waitForListener } from '../system/ports'
import { spawnTracked, stopProcess } from '../system/processes'

const CANDIDATES = [process.env.REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server']

export interface RunningRedis {
  readonly label: string
  readonly pid: number
  readonly url: string
  stop (): Promise<void>
}

function findBinary (): string | undefined {
  return CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p))
}

/** Null when a redis-server can run here, else why not. */
export function redisMissing (): string | null {
  return findBinary() === undefined ? `redis-server not found (looked in ${CANDIDATES.filter(Boolean).join(', ')}; set REDIS_SERVER=path or apt install redis-server)` : null
}

/** A throw-away redis-server on a free loopback port, without persistence, so that disk writes do not enter the figures. */
export async function startRedis (): Promise<RunningRedis> {
  const binary = findBinary()
  if (binary === undefined) throw new Error('redis-server is not installed')
  const version = /v=(\S+)/.exec(spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '?'
  const port = await freePort()
  const child = spawnTracked(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'])
  let log = ''
  child.stdout?.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-2000) })
  child.stderr?.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-2000) })
  try {
    await waitForListener(port, 10_000, () => child.exitCode === null)
  } catch (err) {
    await stopProcess(child)
    throw new Error(`redis-server: ${(err as Error).message}: ${log}`)
  }
  return {
    label: `Redis ${version}`,
    pid: child.pid as number,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopProcess(child)
  }
}
