import type { Logger } from 'pino'
import type { RedisAddress } from '../cluster/redis-address'
import { closeRedis, createRedisConnection } from '../cluster/redis-connection'
import { createMemoryWebhookStore } from './memory-webhook-store'
import { createRedisWebhookStore } from './redis-webhook-store'
import type { WebhookStore } from './webhook-store'

/** The node's webhook store: in memory, or in the cluster's Redis on a connection of its own. */
export function createWebhookBackend (redis: RedisAddress | null, logger: Logger): { store: WebhookStore, close (): Promise<void> } {
  if (redis === null) return { store: createMemoryWebhookStore(), close: async () => {} }
  const connection = createRedisConnection(redis, 'intercom-webhooks', logger)
  return { store: createRedisWebhookStore({ redis: connection }), close: () => closeRedis(connection) }
}
