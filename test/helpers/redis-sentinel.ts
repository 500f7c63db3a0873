import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { freePort, ping, startRedis, type RedisServer } from './redis'

interface Teardown { teardown (fn: () => unknown): void }

export const SENTINEL_NAME = 'intercom'

export interface SentinelSetup {
  /** The primary at the start, and its replica. */
  primary: RedisServer
  replica: RedisServer
  sentinelPorts: number[]
  /** What a node needs to find the primary through the sentinels. */
  env: { REDIS_SENTINELS: string, REDIS_SENTINEL_NAME: string }
  /** The port of the primary the sentinels name now. */
  primaryPort (): Promise<number>
}

export interface SentinelOptions {
  sentinels?: number
  /** A primary silent this long is down to a sentinel. */
  downAfterMs?: number
  failoverTimeoutMs?: number
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > giveUp) throw new Error(`gave up waiting: ${what}`)
    await sleep(50)
  }
}

async function ask<T> (port: number, ...args: string[]): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 })
  try {
    await redis.connect()
    return await redis.call(args[0] as string, ...args.slice(1)) as T
  } finally {
    redis.disconnect()
  }
}

/**
 * A primary redis-server, one replica, and `sentinels` redis-sentinel processes
 * watching them on free ports, with short failure detection; all gone when the
 * test ends. Resolves once the replica is in sync and every sentinel knows the
 * replica and the other sentinels, so a failover can happen.
 */
export async function startSentinels (t: Teardown, options: SentinelOptions = {}): Promise<SentinelSetup> {
  const count = options.sentinels ?? 3
  const primary = await startRedis(t)
  const replica = await startRedis(t, ['--replicaof', '127.0.0.1', String(primary.port)])
  await until('the replica syncs', async () => (await ask<string>(replica.port, 'INFO', 'replication')).includes('master_link_status:up'))

  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-sentinel-'))
  const children: ChildProcess[] = []
  t.teardown(async () => {
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }))
    rmSync(dir, { recursive: true, force: true })
  })
  const sentinelPorts: number[] = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    // Sentinels rewrite their configuration file: one writable file each.
    const file = path.join(dir, `sentinel-${port}.conf`)
    writeFileSync(file, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary.port} ${Math.floor(count / 2) + 1}`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${SENTINEL_NAME} ${options.failoverTimeoutMs ?? 3000}`,
      `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
      ''
    ].join('\n'))
    const child = spawn('redis-sentinel', [file], { stdio: 'ignore' })
    children.push(child)
    await until(`sentinel on ${port} answers`, () => ping(port), 10_000)
    sentinelPorts.push(port)
  }
  for (const port of sentinelPorts) {
    await until(`sentinel ${port} knows the replica and the other sentinels`, async () =>
      (await ask<unknown[]>(port, 'SENTINEL', 'replicas', SENTINEL_NAME)).length === 1 &&
      (await ask<unknown[]>(port, 'SENTINEL', 'sentinels', SENTINEL_NAME)).length === count - 1)
  }
  return {
    primary,
    replica,
    sentinelPorts,
    env: { REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','), REDIS_SENTINEL_NAME: SENTINEL_NAME },
    primaryPort: async () => {
      for (const port of sentinelPorts) {
        const answer = await ask<[string, string] | null>(port, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME).catch(() => null)
        if (answer !== null) return Number(answer[1])
      }
      throw new Error('no sentinel answers')
    }
  }
}
