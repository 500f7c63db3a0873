import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createMemoryRateLimiter, enforceRateLimit, type RateLimiter } from '../../lib/limits/rate-limiter'
import { createRedisRateLimiter } from '../../lib/limits/redis-rate-limiter'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'

interface LimiterUnderTest {
  limiter: RateLimiter
  /** Moves on until the current window is over. */
  nextWindow: () => Promise<void>
}

const PER_SECOND = 3

async function takeMany (limiter: RateLimiter, key: string, n: number): Promise<boolean[]> {
  const results: boolean[] = []
  for (let i = 0; i < n; i++) results.push(await limiter.take(key))
  return results
}

function limiterSuite (t: tap.Test, name: string, open: () => Promise<LimiterUnderTest>): void {
  t.test(`${name}: an identity gets its allowance per window`, async t => {
    const { limiter, nextWindow } = await open()
    t.teardown(() => limiter.close())
    t.same(await takeMany(limiter, 'device/1', PER_SECOND + 2), [true, true, true, false, false])
    t.same(await takeMany(limiter, 'resident/2', 1), [true], 'each identity counts alone')
    await nextWindow()
    t.same(await takeMany(limiter, 'device/1', 1), [true], 'a new window, a new allowance')
  })

  t.test(`${name}: beyond the allowance a request is refused with 429`, async t => {
    const { limiter } = await open()
    t.teardown(() => limiter.close())
    await takeMany(limiter, 'device/1', PER_SECOND)
    await t.rejects(enforceRateLimit(limiter, 'device/1', PER_SECOND), { code: 'rate_limited', statusCode: 429 })
  })
}

let clock = Date.UTC(2024, 0, 2, 3, 4, 5)
limiterSuite(t, 'memory', async () => ({
  limiter: createMemoryRateLimiter({ perSecond: PER_SECOND, now: () => clock }),
  nextWindow: async () => { clock += 1_000 }
}))

const logger = pino({ level: 'silent' })

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })
  const prefix = (): string => `test-${randomBytes(4).toString('hex')}:`

  limiterSuite(t, 'redis', async () => ({
    limiter: createRedisRateLimiter({ url: server.url, logger, perSecond: PER_SECOND, prefix: prefix() }),
    // Redis keeps the time; the window is over once its counter key has expired
    nextWindow: () => sleep(1_100)
  }))

  t.test('redis: nodes share one allowance per identity', async t => {
    const p = prefix()
    const connections = [new Redis(server.url), new Redis(server.url)]
    t.teardown(() => { for (const c of connections) c.disconnect() })
    const limiters = connections.map(redis => createRedisRateLimiter({ redis, perSecond: PER_SECOND, prefix: p }))
    const results = await Promise.all(limiters.flatMap(limiter => [1, 2, 3].map(() => limiter.take('device/1'))))
    t.equal(results.filter(Boolean).length, PER_SECOND, 'six concurrent takes on two nodes, three allowed')
  })

  t.test('redis: an outage refuses with 503 rather than letting requests through', async t => {
    const limiter = createRedisRateLimiter({ url: server.url, logger, perSecond: PER_SECOND, prefix: prefix() })
    t.teardown(() => limiter.close())
    t.equal(await limiter.take('device/1'), true)
    await server.stop()
    await t.rejects(limiter.take('device/1'), { code: 'service_unavailable', statusCode: 503 })
    await server.restart()
    t.equal(await limiter.take('device/1'), true, 'works again once Redis is back')
  })
}
