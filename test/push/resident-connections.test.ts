import t from 'tap'
import { Redis } from 'ioredis'
import { createMemoryResidentConnections, createRedisResidentConnections, type ResidentConnections } from '../../lib/push/resident-connections'
import { requireRedis, startRedis } from '../helpers/redis'

async function openAndClose (t: tap.Test, registry: ResidentConnections): Promise<void> {
  t.equal(await registry.isOnline('2'), false)
  await registry.opened('2', 'c1')
  await registry.opened('2', 'c2')
  await registry.closed('2', 'c1')
  t.equal(await registry.isOnline('2'), true, 'online while one connection is open')
  await registry.closed('2', 'c2')
  t.equal(await registry.isOnline('2'), false, 'offline once the last one closed')
}

t.test('memory: a resident is online while one of its connections is open', async (t) => {
  await openAndClose(t, createMemoryResidentConnections())
})

if (requireRedis(t)) {
  t.test('redis: connections count across nodes; those of a node without a heartbeat do not, and are removed', async (t) => {
    const server = await startRedis(t)
    const redis = new Redis(server.url)
    t.teardown(() => redis.disconnect())
    const a = createRedisResidentConnections({ redis, nodeId: 'node-a' })
    const b = createRedisResidentConnections({ redis, nodeId: 'node-b' })
    await openAndClose(t, a)

    await redis.set('intercom:node:node-b', 'node-b', 'PX', 60_000)
    await b.opened('3', 'c9')
    t.equal(await a.isOnline('3'), true, 'node A sees the resident connected to live node B')
    await redis.del('intercom:node:node-b')
    t.equal(await a.isOnline('3'), false, 'node B died: its connection no longer counts')
    t.equal(await redis.scard('intercom:push:resident-conns:{3}'), 0, 'and its entry is gone')
  })
}
