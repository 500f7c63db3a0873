import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { createRedisDndStore } from '../../lib/dnd/redis-dnd-store'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'
import { dndStoreSuite } from './dnd-store-suite'

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })

  function connect (t: tap.Test): Redis {
    const redis = new Redis(server.url)
    t.teardown(() => redis.disconnect())
    return redis
  }

  dndStoreSuite(t, 'redis', async (t) => createRedisDndStore({ redis: connect(t), prefix: `test-${randomBytes(4).toString('hex')}:` }))

  t.test('redis: one key per resident in DND, expiring at its end', async (t) => {
    const redis = connect(t)
    const prefix = `test-${randomBytes(4).toString('hex')}:`
    const store = createRedisDndStore({ redis, prefix })
    const now = Date.now()
    await store.set('2', { enabled: true, until: now + 60_000 }, now)
    await store.set('3', { enabled: true, until: null }, now)
    t.same((await redis.keys(`${prefix}*`)).sort(), [`${prefix}dnd:2`, `${prefix}dnd:3`])
    t.equal(await redis.pexpiretime(`${prefix}dnd:2`), now + 60_000, 'expires at its end')
    t.equal(await redis.pttl(`${prefix}dnd:3`), -1, 'no end: no expiry')
    await store.set('3', { enabled: false, until: null }, now)
    t.same(await redis.keys(`${prefix}*`), [`${prefix}dnd:2`], 'off: no key')
  })
}
