import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { createMemorySignInThrottle, type SignInThrottle } from '../../lib/auth/sign-in-throttle'
import { createRedisSignInThrottle } from '../../lib/auth/redis-sign-in-throttle'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'

const WINDOW_MS = 60_000

interface ThrottleUnderTest {
  throttle: SignInThrottle
  /** Moves on past the window. */
  endWindow: () => Promise<void>
}

function throttleSuite (t: tap.Test, name: string, open: () => Promise<ThrottleUnderTest>): void {
  t.test(`${name}: a key is refused from its limit-th failure until its window ends`, async (t) => {
    const { throttle, endWindow } = await open()
    const rules = [{ key: 'name:device/1', limit: 3 }]
    t.equal(await throttle.fail(rules), 0)
    t.equal(await throttle.fail(rules), 0)
    t.equal(await throttle.waitFor(rules), 0, 'under the limit')
    const wait = await throttle.fail(rules)
    t.ok(wait > 0 && wait <= WINDOW_MS, `throttled for the rest of the window (${wait} ms)`)
    t.ok(await throttle.waitFor(rules) > 0, 'and still refused')
    t.equal(await throttle.waitFor([{ key: 'name:device/5', limit: 3 }]), 0, 'each key counts alone')
    await endWindow()
    t.equal(await throttle.waitFor(rules), 0, 'free again after the window')
  })

  t.test(`${name}: any key over its own limit throttles the attempt`, async (t) => {
    const { throttle } = await open()
    const address = { key: 'addr:10.0.0.1', limit: 2 }
    await throttle.fail([address, { key: 'name:a', limit: 10 }])
    await throttle.fail([address, { key: 'name:b', limit: 10 }])
    t.ok(await throttle.waitFor([address, { key: 'name:c', limit: 10 }]) > 0, 'the address is over, though the name is new')
  })

  t.test(`${name}: forgetting a key clears its failures`, async (t) => {
    const { throttle } = await open()
    const rules = [{ key: 'name:resident/2', limit: 1 }]
    t.ok(await throttle.fail(rules) > 0)
    await throttle.forget('name:resident/2')
    t.equal(await throttle.waitFor(rules), 0)
  })
}

let clock = 1_000_000
throttleSuite(t, 'memory', async () => ({
  throttle: createMemorySignInThrottle({ windowMs: WINDOW_MS, maxKeys: 1000, now: () => clock }),
  endWindow: async () => { clock += WINDOW_MS }
}))

t.test('memory: the map is bounded; the oldest keys go first', async (t) => {
  const throttle = createMemorySignInThrottle({ windowMs: WINDOW_MS, maxKeys: 3, now: () => clock })
  for (const key of ['a', 'b', 'c', 'd']) await throttle.fail([{ key, limit: 1 }])
  t.equal(await throttle.waitFor([{ key: 'a', limit: 1 }]), 0, 'the oldest was forgotten')
  for (const key of ['b', 'c', 'd']) t.ok(await throttle.waitFor([{ key, limit: 1 }]) > 0, `${key} is remembered`)
})

t.test('redis', async (t) => {
  if (!requireRedis(t)) return
  const server: RedisServer = await startRedis(t)
  throttleSuite(t, 'redis', async () => {
    const redis = new Redis(server.url)
    t.teardown(() => redis.quit())
    // A fresh prefix per test; a short window stands in for the end of a long one.
    const prefix = `test-${randomBytes(4).toString('hex')}:`
    return {
      throttle: createRedisSignInThrottle({ redis, windowMs: WINDOW_MS, prefix }),
      endWindow: async () => {
        const keys = await redis.keys(`${prefix}*`)
        for (const key of keys) await redis.pexpire(key, 1)
        while ((await redis.exists(...keys)) > 0) await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
  })
})
