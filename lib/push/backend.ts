import type { Logger } from 'pino'
import type { RedisAddress } from '../cluster/redis-address'
import { closeRedis, createRedisConnection } from '../cluster/redis-connection'
import { createMemoryPushStore } from './memory-push-store'
import type { PushStore } from './push-store'
import { createRedisPushStore } from './redis-push-store'
import { createMemoryResidentConnections, createRedisResidentConnections, type ResidentConnections } from './resident-connections'
import { generateVapidKeys, type VapidKeys } from './webpush'

export interface PushBackend {
  store: PushStore
  connections: ResidentConnections
  /** The node's VAPID keys, or null when Web Push is not configured. */
  vapid: VapidKeys | null
  close (): Promise<void>
}

export interface PushBackendOptions {
  redis: RedisAddress | null
  nodeId: string
  vapid: { publicKey?: string, privateKey?: string, subject: string }
  /** Generate VAPID keys when none are configured (demo mode). */
  demo: boolean
  logger: Logger
}

/** Demo VAPID keys of a cluster: the first node makes them, every node uses them, so a browser subscription works with any node. */
const DEMO_VAPID_KEY = 'intercom:push:demo-vapid'

/** The push store, the resident connection registry and the VAPID keys, in memory or in the cluster's Redis. */
export async function createPushBackend (options: PushBackendOptions): Promise<PushBackend> {
  const { logger } = options
  const configured = options.vapid.publicKey !== undefined && options.vapid.privateKey !== undefined
    ? { publicKey: options.vapid.publicKey, privateKey: options.vapid.privateKey }
    : null

  if (options.redis === null) {
    const keys = configured ?? (options.demo ? generateVapidKeys() : null)
    warnDemo(logger, configured === null ? keys : null)
    return {
      store: createMemoryPushStore(),
      connections: createMemoryResidentConnections(),
      vapid: keys === null ? null : { ...keys, subject: options.vapid.subject },
      close: async () => {}
    }
  }
  const redis = createRedisConnection(options.redis, 'intercom-push', logger)
  let keys = configured
  if (keys === null && options.demo) {
    await redis.set(DEMO_VAPID_KEY, JSON.stringify(generateVapidKeys()), 'NX')
    keys = JSON.parse(await redis.get(DEMO_VAPID_KEY) ?? 'null') as { publicKey: string, privateKey: string } | null
  }
  warnDemo(logger, configured === null ? keys : null)
  return {
    store: createRedisPushStore({ redis }),
    connections: createRedisResidentConnections({ redis, nodeId: options.nodeId }),
    vapid: keys === null ? null : { ...keys, subject: options.vapid.subject },
    close: () => closeRedis(redis)
  }
}

function warnDemo (logger: Logger, generated: { publicKey: string } | null): void {
  if (generated === null) return
  logger.warn({ vapidPublicKey: generated.publicKey }, 'using generated DEMO VAPID keys for Web Push: set PUSH_VAPID_PUBLIC_KEY and PUSH_VAPID_PRIVATE_KEY, or browser subscriptions break when the keys change')
}
