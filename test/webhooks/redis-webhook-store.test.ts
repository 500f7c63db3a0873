import { randomBytes } from 'node:crypto'
import t from 'tap'
import pino from 'pino'
import { closeRedis, createRedisConnection } from '../../lib/cluster/redis-connection'
import { createRedisWebhookStore } from '../../lib/webhooks/redis-webhook-store'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'
import { webhookStoreSuite } from './webhook-store-suite'

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })
  // Each store its own key prefix: the tests share one server without seeing each other.
  webhookStoreSuite(t, 'redis', async () => {
    const redis = createRedisConnection(server.url, 'test-webhooks', pino({ level: 'silent' }))
    return {
      store: createRedisWebhookStore({ redis, prefix: `test-${randomBytes(4).toString('hex')}:` }),
      close: () => closeRedis(redis)
    }
  })
}
